"""From a parsed message to what a recruiter asks for: documents, resume, GitHub links.

Pure apart from running document parsers in an isolated child process; no database,
no network, no clock. `Extraction.to_json()` is the `intake parse --json` contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from intake.classify import classify
from intake.documents import DocumentText, read_document
from intake.links import github_links
from intake.parse import Attachment, ParsedMessage

_RESUME_NAME = re.compile(r"(resume|résumé|cv|curriculum|vitae|lebenslauf)", re.IGNORECASE)
_COVER_NAME = re.compile(r"(cover|letter|motivation|anschreiben)", re.IGNORECASE)
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
    flags: tuple[Flag, ...]

    @property
    def resume(self) -> ExtractedDocument | None:
        return next((d for d in self.documents if d.role == "resume"), None)

    def to_json(self) -> dict:
        msg = self.message
        resume = self.resume
        return {
            "kind": self.kind,
            "message_id": msg.message_id,
            "sender": {"name": msg.sender_name, "email": msg.sender_email},
            "subject": msg.subject,
            "date": msg.date.isoformat() if msg.date else None,
            "in_reply_to": msg.in_reply_to,
            "github": list(self.github),
            "resume": resume
            and {
                "filename": resume.filename,
                "content_type": resume.content_type,
                "text": resume.content.text,
            },
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


def extract(msg: ParsedMessage, *, timeout: float = 20.0) -> Extraction:
    """Run every extractor over one message."""
    contents = [
        _read(a, timeout) if i < MAX_DOCUMENTS else _SKIPPED for i, a in enumerate(msg.attachments)
    ]
    roles = assign_roles(msg.attachments, contents)
    documents = tuple(
        ExtractedDocument(a.filename, a.content_type, len(a.data), a.sha256, role, content)
        for a, content, role in zip(msg.attachments, contents, roles, strict=True)
    )
    links = github_links(
        texts=[msg.text, *(d.content.text for d in documents if d.role != "other")],
        urls=[*msg.html_links, *(u for d in documents for u in d.content.links)],
    )
    cover = msg.text.strip() or next(
        (d.content.text.strip() for d in documents if d.role == "cover_letter"), ""
    )
    return Extraction(
        message=msg,
        kind=classify(msg),
        documents=documents,
        github=tuple(links),
        cover_letter=cover or None,
        flags=tuple(_document_flags(documents)),
    )


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


def _document_flags(documents: tuple[ExtractedDocument, ...]) -> list[Flag]:
    return [
        Flag("resume_unreadable", f"{d.filename or 'resume'}: {d.content.error}")
        for d in documents
        if d.role == "resume" and d.content.error
    ]
