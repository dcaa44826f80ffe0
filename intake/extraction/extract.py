"""From parsed messages to what a recruiter asks for, each value with where it came from.

Two steps: `read` takes one message to a `Part` (the candidate's own words, their
documents and their roles, the period and area they ask for; a forward's note is set
aside), and `assemble` makes the application from one or more parts (a follow-up adds a
part), in this one place: the resume, cover letter, links, period, area and eligibility.

Reading is where hostile mail costs time and memory, so the daemon never reads a message
in its own process: `read_isolated` runs parsing, HTML conversion and every document in
the worker process under one work budget (`Limits`), and gets back a `Part` whose text is
capped (the cut flagged) and which carries no attachment bytes. `assemble` and the rules
then only ever see bounded text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from intake.errors import ExtractionError
from intake.extraction import roles
from intake.extraction.area import find_area
from intake.extraction.documents import DocumentText, Ocr, read_document, sniff
from intake.extraction.eligibility import CODES, Eligibility, assess
from intake.extraction.forwards import Forward, detect
from intake.extraction.links import github_links
from intake.extraction.period import Period, find_period
from intake.extraction.quoting import new_text
from intake.extraction.text import SECTION_HEADING
from intake.extraction.worker import Deadline, run_isolated
from intake.limits import DEFAULT_LIMITS, Limits
from intake.mail.parse import Attachment, ParsedMessage, html_links, parse_message

# Everything from the first of these on is an earlier message quoted in an HTML reply.
_HTML_QUOTE = re.compile(
    r"<blockquote|<div[^>]+(?:gmail_quote|divRplyFwdMsg|appendonsend|moz-cite-prefix)",
    re.IGNORECASE,
)
# Where the forwarded message starts in a forward's HTML.
_HTML_FORWARD = re.compile(
    r"forwarded message|begin forwarded message|divRplyFwdMsg|moz-forward-container"
    r"|border-top:\s*solid\s*#[0-9a-f]{6}|weitergeleitete nachricht|message transf[ée]r[ée]"
    r"|mensaje reenviado|gmail_quote",
    re.IGNORECASE,
)
# Documents others wrote about the candidate: their links and statements are not the candidate's.
_ABOUT_THE_CANDIDATE = (roles.TRANSCRIPT, roles.RECOMMENDATION, roles.CERTIFICATE)
# Documents already read (stored text), by sha256 and filename.
Known = Mapping[tuple[str, str | None], DocumentText]
# Formats worth reading; the cap on documents counts these, not inline images.
READABLE = ("pdf", "docx", "html", "text")


@dataclass(frozen=True)
class ExtractedDocument:
    filename: str | None
    content_type: str
    size: int
    sha256: str
    role: str  # resume | cover_letter | transcript | recommendation | certificate | other
    content: DocumentText

    @property
    def key(self) -> tuple[str, str | None]:
        return self.sha256, self.filename


@dataclass(frozen=True)
class Flag:
    code: str
    message: str


@dataclass(frozen=True)
class Part:
    """One message as the candidate wrote it: for a forward, the forwarded message."""

    message: ParsedMessage
    body: str  # the candidate's new text (quotes dropped; a forward's note set aside)
    letter: str  # the body without a pasted resume
    pasted_resume: str | None
    documents: tuple[ExtractedDocument, ...]
    urls: tuple[str, ...]  # link targets in the candidate's part (HTML hrefs)
    forward: Forward | None
    period: Period | None
    area: str | None
    truncated: tuple[str, ...] = ()  # what text was cut at the limits, and where
    # The application this message makes on its own, assembled where it was read (the
    # worker, in parallel): judging it needs it several times (see `alone`).
    assembled: Extraction | None = field(default=None, compare=False, repr=False)

    @property
    def subject(self) -> str:
        return _subject(self.message, self.forward)

    @property
    def date(self) -> datetime | None:
        return _date(self.message, self.forward)

    @property
    def cover(self) -> str:
        return cover_text(self.letter, self.documents)


def _subject(msg: ParsedMessage, forward: Forward | None) -> str:
    return (forward.subject if forward else None) or msg.subject


def _date(msg: ParsedMessage, forward: Forward | None) -> datetime | None:
    """When the candidate wrote it: a forward's own Date when it has one."""
    when = forward.date if forward else None
    if when is not None:
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return msg.date


def cover_text(letter: str, documents: Sequence[ExtractedDocument]) -> str:
    """The letter written in the body, unless an attached cover letter says more ("Please
    find my cover letter attached" is not the letter)."""
    attached = (d.content.text.strip() for d in documents if d.role == roles.COVER_LETTER)
    return max([letter, *attached], key=lambda text: len(text.split()))


@dataclass(frozen=True)
class Extraction:
    """The application as a whole: one or more parts, assembled by `assemble`."""

    parts: tuple[Part, ...]
    documents: tuple[ExtractedDocument, ...]
    github: tuple[str, ...]
    cover_letter: str | None
    pasted_resume: str | None
    period: Period | None
    area: str | None
    eligibility: Eligibility
    flags: tuple[Flag, ...]

    @property
    def message(self) -> ParsedMessage:
        return self.parts[0].message

    @property
    def resume(self) -> ExtractedDocument | None:
        return choose_resume(self.documents)

    @property
    def resume_state(self) -> str | None:
        """text, no_text (a scan), unreadable (encrypted, corrupt), or None (no resume)."""
        if resume := self.resume:
            return resume.content.state
        return "text" if self.pasted_resume else None

    def resume_json(self) -> dict | None:
        if resume := self.resume:
            return {
                "filename": resume.filename,
                "content_type": resume.content_type,
                "text": resume.content.text,
                "state": resume.content.state,
                "ocr": resume.content.ocr,
            }
        if self.pasted_resume:
            return {
                "filename": None,
                "content_type": "text/plain",
                "text": self.pasted_resume,
                "state": "text",
                "ocr": False,
            }
        return None

    def to_json(self) -> dict:
        """The extracted half of the `intake parse --json` contract (decision.contract
        adds kind, applicant, posting, status, flags and replies)."""
        msg = self.message
        return {
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
                    "state": d.content.state,
                    "error": d.content.error,
                }
                for d in self.documents
            ],
        }


def read(
    msg: ParsedMessage,
    *,
    limits: Limits = DEFAULT_LIMITS,
    ocr: Ocr | None = None,
    known: Known | None = None,
    deadline: Deadline | None = None,
) -> Part:
    """One message to the candidate's part: their words, documents, period and area.
    `known`: documents already read (stored text, by sha256 and filename), not read again."""
    deadline = deadline or Deadline(limits.message_seconds)
    cut = Cuts(limits)
    forward = detect(msg)
    if forward is None:
        body, attachments = new_text(msg.text, msg.subject), msg.attachments
    else:
        body = new_text(forward.text, forward.subject or "")
        inner = forward.attached.attachments if forward.attached else ()
        attachments = (*msg.attachments, *inner)
    body = cut.body(body)
    documents = read_documents(attachments, limits, deadline, cut, ocr, known)
    letter, pasted = split_pasted_resume(body)
    cover = cover_text(letter, documents)
    subject, when = _subject(msg, forward), _date(msg, forward)
    area = find_area(subject, cover)
    return Part(
        message=msg,
        body=body,
        letter=letter,
        pasted_resume=pasted,
        documents=documents,
        urls=tuple(_hrefs(msg, forward)),
        forward=forward,
        period=find_period(cover, when) or find_period(subject, when),
        area=area[0] if area else None,
        truncated=tuple(cut.notes),
    )


def read_message(
    raw: bytes,
    limits: Limits,
    ocr: Ocr | None = None,
    known: Known | None = None,
) -> Part:
    """Parse and read one raw message within its work budget (runs in the worker); the
    Part comes back without attachment bytes and with its text capped."""
    deadline = Deadline(limits.message_seconds)
    with deadline.limit(limits.message_seconds):
        msg = parse_message(raw)
    part = read(msg, limits=limits, ocr=ocr, known=known, deadline=deadline)
    message = _without_bytes(part.message, limits.message_chars)
    forward = part.forward
    if forward is not None and forward.attached is not None:
        forward = replace(forward, attached=_without_bytes(forward.attached, limits.message_chars))
    part = replace(part, message=message, forward=forward)
    return replace(part, assembled=assemble([part]))


def alone(part: Part) -> Extraction:
    """The application one message makes on its own (assembled when it was read)."""
    return part.assembled or assemble([part])


def read_isolated(
    raw: bytes,
    limits: Limits = DEFAULT_LIMITS,
    ocr: Ocr | None = None,
    known: Known | None = None,
) -> Part:
    """`read_message` in the worker process: a message that exceeds its budget, memory or
    crashes the parsers raises ExtractionError (the caller quarantines it)."""
    return run_isolated(
        read_message,
        raw,
        limits,
        ocr,
        dict(known or {}),
        timeout=limits.message_seconds + 5,
        memory_mb=limits.memory_mb,
    )


def new_words(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[str, datetime | None]:
    """The new text (quotes dropped, capped) and Date of a stored message, read in the
    worker within the budget: what the digest and exports show of mail that is not an
    application, quarantined mail included. ("", None) when it cannot be read."""
    try:
        return run_isolated(
            _new_words,
            raw,
            limits.message_chars,
            timeout=limits.message_seconds,
            memory_mb=limits.memory_mb,
        )
    except ExtractionError:
        return "", None


def _new_words(raw: bytes, chars: int) -> tuple[str, datetime | None]:
    msg = parse_message(raw)
    return new_text(msg.text[:chars], msg.subject), msg.date


def _without_bytes(msg: ParsedMessage, chars: int) -> ParsedMessage:
    """What the rest of the pipeline reads of a message: no attachments (their text is in
    the Part's documents) and at most `chars` of body text and HTML."""
    return replace(
        msg,
        text=msg.text[:chars],
        html=msg.html[:chars],
        attachments=(),
        attached=tuple(_without_bytes(inner, chars) for inner in msg.attached),
    )


class Cuts:
    """Text kept within the limits, each cut noted: a document keeps `document_chars`,
    the body and all documents together `message_chars`."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.left = limits.message_chars
        self.notes: list[str] = []

    def body(self, text: str) -> str:
        return self._keep("the message body", text, self.left)

    def document(self, name: str | None, content: DocumentText) -> DocumentText:
        kept = self._keep(name or "an attachment", content.text, self.limits.document_chars)
        return content if kept is content.text else replace(content, text=kept)

    def _keep(self, what: str, text: str, most: int) -> str:
        most = min(most, self.left)
        if len(text) > most:
            self.notes.append(f"{what}: text cut at {most:,} of {len(text):,} characters")
            text = text[:most]
        self.left -= len(text)
        return text


def assemble(parts: Sequence[Part], accepted: tuple[str, ...] = CODES) -> Extraction:
    """The application its parts make, oldest first: a readable resume beats an unreadable
    one and a later one an earlier one; later periods and areas win; links accumulate;
    the longest letter is the cover letter; eligibility is judged on all the letters
    (the resume only adds what they do not talk about)."""
    documents = _with_a_resume([d for p in parts for d in p.documents])
    best = choose_resume(documents)
    letters = [p.cover for p in parts if p.cover]
    pasted = (
        None if best else next((p.pasted_resume for p in reversed(parts) if p.pasted_resume), None)
    )
    resume_text = best.content.text if best else (pasted or "")
    theirs = [d for d in documents if d.role not in _ABOUT_THE_CANDIDATE]
    return Extraction(
        parts=tuple(parts),
        documents=tuple(documents),
        github=tuple(
            github_links(
                texts=[
                    *(p.body for p in parts),
                    *(d.content.text for d in theirs if d.role != "other"),
                ],
                urls=[
                    *(u for p in parts for u in p.urls),
                    *(u for d in theirs for u in d.content.links),
                ],
            )
        ),
        cover_letter=max(letters, key=len) if letters else None,
        pasted_resume=pasted,
        period=next((p.period for p in reversed(parts) if p.period), None)
        or objective_period(resume_text, parts[0].date),
        area=next((p.area for p in reversed(parts) if p.area), None),
        eligibility=assess("\n\n".join(letters), resume_text, accepted, parts[0].date),
        flags=(*resume_flags(best), *_cut_flags(parts)),
    )


_OBJECTIVE = re.compile(
    r"^\s*(?:career |professional )?objective\b\s*[:\-–—]?\s*(.*(?:\n.+)?)",
    re.IGNORECASE | re.MULTILINE,
)


def objective_period(resume: str, when: datetime | None) -> Period | None:
    """The period a resume's Objective asks for ("Objective: a research internship in
    Spring/Summer 2018"), when no letter names one; never its dated experience."""
    objective = _OBJECTIVE.search(resume)
    return find_period(objective.group(1), when) if objective else None


def choose_resume(documents: Sequence[ExtractedDocument]) -> ExtractedDocument | None:
    """The resume among the documents (see roles.pick): a later or readable one wins."""
    resumes = [d for d in documents if d.role == roles.RESUME]
    chosen = roles.pick([(d.filename, d.content.state != "unreadable") for d in resumes])
    return None if chosen is None else resumes[chosen]


def _with_a_resume(documents: list[ExtractedDocument]) -> list[ExtractedDocument]:
    """When no document looks like a resume, the first PDF or DOCX nothing else claims is
    taken for it (a scan named "scan.pdf" has no text to judge)."""
    if any(d.role == roles.RESUME for d in documents):
        return documents
    unclaimed = (
        i
        for i, d in enumerate(documents)
        if d.role == roles.OTHER and d.content.format in ("pdf", "docx")
    )
    first = next(unclaimed, None)
    if first is not None:
        documents[first] = replace(documents[first], role=roles.RESUME)
    return documents


def extract(msg: ParsedMessage, *, limits: Limits = DEFAULT_LIMITS) -> Extraction:
    """One message read and assembled on its own."""
    return assemble([read(msg, limits=limits)])


def read_documents(
    attachments: tuple[Attachment, ...],
    limits: Limits,
    deadline: Deadline,
    cut: Cuts,
    ocr: Ocr | None = None,
    known: Known | None = None,
) -> tuple[ExtractedDocument, ...]:
    """Each attachment's text: stored text when `known`, else read within the limits (the
    first `limits.documents` readable ones; inline images and the like do not count)."""
    known = known or {}
    readable = 0
    contents = []
    for attachment in attachments:
        found = known.get((attachment.sha256, attachment.filename))
        if found is None:
            fmt = sniff(attachment.data, attachment.filename, attachment.content_type)
            readable += fmt in READABLE
            found = _read(attachment, fmt, readable, limits, deadline, ocr)
        contents.append(cut.document(attachment.filename, found))
    assigned = roles.assign(
        [
            roles.Candidate(a.filename, c.format, c.text)
            for a, c in zip(attachments, contents, strict=True)
        ]
    )
    return tuple(
        ExtractedDocument(a.filename, a.content_type, len(a.data), a.sha256, role, content)
        for a, content, role in zip(attachments, contents, assigned, strict=True)
    )


def _hrefs(msg: ParsedMessage, forward: Forward | None) -> list[str]:
    """Link targets the candidate wrote: in the new part of an HTML reply, in the
    forwarded part of a forward (not the forwarder's signature above it)."""
    if forward is not None:
        if forward.attached is not None:
            return list(forward.attached.html_links)
        start = _HTML_FORWARD.search(msg.html)
        return html_links(msg.html[start.start() :]) if start else []
    quote = _HTML_QUOTE.search(msg.html) if msg.html else None
    return html_links(msg.html[: quote.start()]) if quote else list(msg.html_links)


def split_pasted_resume(body: str) -> tuple[str, str | None]:
    """(cover letter, resume) when a resume is pasted below the letter, else (body, None).

    A pasted resume is recognised by two or more section headings on lines of their own.
    """
    headings = list(SECTION_HEADING.finditer(body))
    if len(headings) < 2:
        return body, None
    start = headings[0].start()
    return body[:start].strip(), body[start:].strip()


def _read(
    attachment: Attachment,
    fmt: str,
    nth: int,
    limits: Limits,
    deadline: Deadline,
    ocr: Ocr | None,
) -> DocumentText:
    if fmt in READABLE and nth > limits.documents:
        return DocumentText(fmt, error=f"not read: only the first {limits.documents} documents are")
    if len(attachment.data) > limits.attachment_mb * 2**20:
        return DocumentText(fmt, error=f"not read: larger than {limits.attachment_mb} MiB")
    return read_document(
        attachment.data,
        attachment.filename,
        attachment.content_type,
        seconds=limits.document_seconds,
        ocr=ocr,
        deadline=deadline,
    )


def _cut_flags(parts: Sequence[Part]) -> list[Flag]:
    """Text cut at the limits is never cut silently: a recruiter sees where."""
    notes = [note for part in parts for note in part.truncated]
    return [Flag("text_truncated", "; ".join(notes))] if notes else []


def resume_flags(resume: ExtractedDocument | None) -> list[Flag]:
    """What a recruiter must know of the resume: unreadable (ask the applicant for another
    copy), or a scan without a text layer (received; a person reads it)."""
    if resume is None:
        return []
    name = resume.filename or "resume"
    state = resume.content.state
    if state == "unreadable":
        return [Flag("resume_unreadable", f"{name}: {resume.content.error}")]
    if state == "no_text":
        pages = resume.content.pages
        counted = f"{pages} page{'s' if pages != 1 else ''}" if pages else "the file"
        return [Flag("resume_no_text", f"{name}: {counted} without a text layer (a scan?)")]
    return []
