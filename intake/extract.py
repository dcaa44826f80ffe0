"""From a parsed message to what a recruiter asks for, each value with where it came from.

Pure apart from running document parsers in an isolated child process; no database,
no network, no clock. `Extraction.to_json()` is the `intake parse --json` contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from intake.area import find_area
from intake.classify import classify
from intake.documents import DocumentText, read_document
from intake.eligibility import CODES, Eligibility, assess
from intake.links import github_links
from intake.parse import Attachment, ParsedMessage, html_links
from intake.period import Period, find_period
from intake.quoting import is_forward, new_text

_RESUME_NAME = re.compile(r"(resume|résumé|\bcv\b|cv[_\-. ]|curriculum|vitae|lebenslauf)", re.I)
_COVER_NAME = re.compile(r"(cover|letter|motivation|anschreiben)", re.IGNORECASE)
_SECTION = re.compile(
    r"^\s*(education|(?:work |professional |research )?experience|(?:technical )?skills|projects"
    r"|publications|(?:relevant )?coursework|awards|honors)\s*:?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
# Everything from the first of these on is an earlier message quoted in an HTML reply.
_HTML_QUOTE = re.compile(
    r"<blockquote|<div[^>]+(?:gmail_quote|divRplyFwdMsg|appendonsend|moz-cite-prefix)",
    re.IGNORECASE,
)
MAX_ATTACHMENT = 25 * 2**20
# Each document may take up to `timeout` seconds: cap how many one message can cost.
MAX_DOCUMENTS = 10
_SKIPPED = DocumentText("other", error=f"not read: only the first {MAX_DOCUMENTS} attachments are")


@dataclass(frozen=True)
class ExtractedDocument:
    filename: str | None
    content_type: str
    size: int
    sha256: str
    role: str  # resume | cover_letter | other
    content: DocumentText


@dataclass(frozen=True)
class Flag:
    code: str
    message: str


@dataclass(frozen=True)
class Extraction:
    message: ParsedMessage
    kind: str
    documents: tuple[ExtractedDocument, ...]
    github: tuple[str, ...]
    cover_letter: str | None
    pasted_resume: str | None
    period: Period | None
    area: str | None
    eligibility: Eligibility
    flags: tuple[Flag, ...]

    @property
    def resume(self) -> ExtractedDocument | None:
        return next((d for d in self.documents if d.role == "resume"), None)

    def resume_json(self) -> dict | None:
        if resume := self.resume:
            return {
                "filename": resume.filename,
                "content_type": resume.content_type,
                "text": resume.content.text,
            }
        if self.pasted_resume:
            return {"filename": None, "content_type": "text/plain", "text": self.pasted_resume}
        return None

    def to_json(self, mailbox: str | None = None, posting: str | None = None) -> dict:
        msg = self.message
        return {
            "kind": self.kind,
            "mailbox": mailbox,
            "posting": posting,
            "message_id": msg.message_id,
            "sender": {"name": msg.sender_name, "email": msg.sender_email},
            "subject": msg.subject,
            "date": msg.date.isoformat() if msg.date else None,
            "in_reply_to": msg.in_reply_to,
            "references": list(msg.references),
            "github": list(self.github),
            "internship_period": self.period.to_json() if self.period else None,
            "internship_area": self.area,
            "eligibility": self.eligibility.to_json(),
            "needs_sponsorship": self.eligibility.needs_sponsorship,
            "resume": self.resume_json(),
            "cover_letter": self.cover_letter,
            "attachments": [
                {
                    "filename": d.filename,
                    "content_type": d.content_type,
                    "size": d.size,
                    "format": d.content.format,
                    "role": d.role,
                    "error": d.content.error,
                }
                for d in self.documents
            ],
            "flags": [{"code": f.code, "message": f.message} for f in self.flags],
        }


def extract(
    msg: ParsedMessage, *, timeout: float = 20.0, accepted: tuple[str, ...] = CODES
) -> Extraction:
    """Run every extractor over one message."""
    documents = read_documents(msg.attachments, timeout)
    body = new_text(msg.text, msg.subject)
    letter, pasted = split_pasted_resume(body)
    cover = letter or next(
        (d.content.text.strip() for d in documents if d.role == "cover_letter"), ""
    )
    resume = next((d for d in documents if d.role == "resume"), None)
    resume_text = resume.content.text if resume else (pasted or "")
    area = find_area(msg.subject, cover)
    return Extraction(
        message=msg,
        kind=classify(msg, body),
        documents=documents,
        github=tuple(
            github_links(
                texts=[body, *(d.content.text for d in documents if d.role != "other")],
                urls=[*_new_html_links(msg), *(u for d in documents for u in d.content.links)],
            )
        ),
        cover_letter=cover or None,
        pasted_resume=pasted if resume is None else None,
        period=find_period(cover, msg.date) or find_period(msg.subject, msg.date),
        area=area[0] if area else None,
        eligibility=assess(cover, resume_text, accepted),
        flags=tuple(document_flags(documents)),
    )


def read_documents(
    attachments: tuple[Attachment, ...], timeout: float
) -> tuple[ExtractedDocument, ...]:
    contents = [
        _read(a, timeout) if i < MAX_DOCUMENTS else _SKIPPED for i, a in enumerate(attachments)
    ]
    roles = assign_roles(attachments, contents)
    return tuple(
        ExtractedDocument(a.filename, a.content_type, len(a.data), a.sha256, role, content)
        for a, content, role in zip(attachments, contents, roles, strict=True)
    )


def _new_html_links(msg: ParsedMessage) -> list[str]:
    """hrefs of the HTML body, minus those inside a quoted earlier message."""
    if not msg.html or is_forward(msg.subject, msg.text):
        return list(msg.html_links)
    quote = _HTML_QUOTE.search(msg.html)
    return html_links(msg.html[: quote.start()]) if quote else list(msg.html_links)


def split_pasted_resume(body: str) -> tuple[str, str | None]:
    """(cover letter, resume) when a resume is pasted below the letter, else (body, None).

    A pasted resume is recognised by two or more section headings on lines of their own.
    """
    headings = list(_SECTION.finditer(body))
    if len(headings) < 2:
        return body, None
    start = headings[0].start()
    return body[:start].strip(), body[start:].strip()


def _read(attachment: Attachment, timeout: float) -> DocumentText:
    if len(attachment.data) > MAX_ATTACHMENT:
        return DocumentText("other", error=f"attachment larger than {MAX_ATTACHMENT >> 20} MiB")
    return read_document(
        attachment.data, attachment.filename, attachment.content_type, timeout=timeout
    )


def assign_roles(attachments: tuple[Attachment, ...], contents: list[DocumentText]) -> list[str]:
    """Which attachment is the resume, which the cover letter; the rest are `other`.

    The file name decides first ("cv.pdf", "cover_letter.docx"); failing that, the first
    document-like attachment (PDF/DOCX) is taken to be the resume.
    """
    roles = ["other"] * len(attachments)
    candidates = [
        i for i, c in enumerate(contents) if c.format in ("pdf", "docx") or _named(attachments[i])
    ]
    for i in candidates:
        name = attachments[i].filename or ""
        if _COVER_NAME.search(name) and not _RESUME_NAME.search(name):
            roles[i] = "cover_letter"
    resume = next(
        (i for i in candidates if _RESUME_NAME.search(attachments[i].filename or "")), None
    )
    if resume is None:
        resume = next((i for i in candidates if roles[i] == "other"), None)
    if resume is not None:
        roles[resume] = "resume"
    return roles


def _named(attachment: Attachment) -> bool:
    name = attachment.filename or ""
    return bool(_RESUME_NAME.search(name) or _COVER_NAME.search(name))


def document_flags(documents: tuple[ExtractedDocument, ...]) -> list[Flag]:
    return [
        Flag("resume_unreadable", f"{d.filename or 'resume'}: {d.content.error}")
        for d in documents
        if d.role == "resume" and d.content.error
    ]
