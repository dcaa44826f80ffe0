"""Writes to the database: raw messages once, checkpoints, and what was extracted.

Every function takes an open Session and never commits: the caller owns the
transaction, so a batch and its replies land together or not at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlmodel import Session, col, select

from intake.decisions.checks import Evaluation, RuleFlag
from intake.decisions.classify import APPLICATION
from intake.decisions.decision import Decision, Person
from intake.extraction.documents import DocumentText
from intake.extraction.extract import ExtractedDocument, Extraction
from intake.extraction.links import logins
from intake.mail.parse import first_msgid
from intake.storage import models
from intake.storage.models import utcnow


@dataclass(frozen=True)
class Identity:
    """How a message is recognised when seen again (after a UIDVALIDITY change, say)."""

    message_id: str | None
    sha256: str
    dedupe_key: str


def identify(raw: bytes) -> Identity:
    """Message-ID plus a hash of the body; the raw sha256 when there is no Message-ID.

    The body hash keeps two different messages that reuse one Message-ID (broken
    clients, test corpora) apart, while a copy with extra trace headers still matches.
    """
    sha = hashlib.sha256(raw).hexdigest()
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
        message_id = first_msgid(headers.get("Message-ID"))
    except Exception:
        message_id = None
    if not message_id:
        return Identity(None, sha, f"sha256:{sha}")
    return Identity(message_id, sha, f"{message_id[:900]} {_body_hash(raw)}")


def _body_hash(raw: bytes) -> str:
    normalised = raw.replace(b"\r\n", b"\n")
    _, _, body = normalised.partition(b"\n\n")
    return hashlib.sha256(body.rstrip()).hexdigest()[:16]


def find_raw(session: Session, identity: Identity) -> models.RawMessage | None:
    query = select(models.RawMessage).where(models.RawMessage.dedupe_key == identity.dedupe_key)
    return session.exec(query).first()


def add_raw(
    session: Session,
    raw: bytes,
    identity: Identity,
    *,
    mailbox: str,
    folder: str,
    uidvalidity: int,
    uid: int,
) -> models.RawMessage:
    row = models.RawMessage(
        dedupe_key=identity.dedupe_key,
        message_id=identity.message_id,
        sha256=identity.sha256,
        mailbox=mailbox,
        folder=folder,
        uidvalidity=uidvalidity,
        uid=uid,
        size=len(raw),
        raw=raw,
    )
    session.add(row)
    session.flush()
    return row


def get_checkpoint(session: Session, mailbox: str) -> models.Checkpoint | None:
    return session.get(models.Checkpoint, mailbox)


def save_checkpoint(session: Session, mailbox: str, uidvalidity: int, last_uid: int) -> None:
    row = session.get(models.Checkpoint, mailbox) or models.Checkpoint(mailbox=mailbox)
    row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, last_uid, utcnow()
    session.add(row)


def record_poll(
    session: Session, mailbox: str, now: datetime, error: str | None, backlog: int
) -> None:
    state = session.get(models.MailboxState, mailbox) or models.MailboxState(mailbox=mailbox)
    state.last_poll_at, state.backlog = now, backlog
    if error:
        state.last_error, state.last_error_at = error, now
    else:
        state.last_success_at = now
    session.add(state)


def applicant_for(session: Session, person: Person) -> models.Applicant:
    """The person's row, by address; a person whose address is unknown gets a row of
    their own each time (nothing to recognise them by)."""
    email = (person.email or "").lower() or None
    applicant = None
    if email:
        query = select(models.Applicant).where(models.Applicant.email == email)
        applicant = session.exec(query).first()
    if applicant is None:
        applicant = models.Applicant(
            email=email, name=person.name, name_key=models.name_key(person.name)
        )
        session.add(applicant)
        session.flush()
    elif person.name and not applicant.name:
        applicant.name, applicant.name_key = person.name, models.name_key(person.name)
    return applicant


def application_fields(extraction: Extraction, evaluation: Evaluation) -> dict:
    """The values an application row keeps: what was extracted and what the rules decided."""
    first, period, eligibility = extraction.parts[0], extraction.period, extraction.eligibility
    received = first.date or first.message.date
    posting = evaluation.route.posting
    return {
        "subject": first.subject,
        "received_at": received.astimezone(UTC) if received else None,
        "cover_letter": extraction.cover_letter,
        "github": list(extraction.github),
        "period_text": period.text if period else None,
        "period_start": period.start if period else None,
        "period_end": period.end if period else None,
        "area": extraction.area,
        # judged by the posting's rule only: "not_judged" where it has none
        "eligibility": eligibility.judged(posting.eligibility.accepted if posting else ()),
        "eligibility_basis": list(eligibility.basis),
        "eligibility_evidence": eligibility.to_json()["evidence"],
        "needs_sponsorship": eligibility.needs_sponsorship,
        "posting": evaluation.posting,
        "status": evaluation.status or "received",
    }


def write(
    session: Session, raw: models.RawMessage, decision: Decision
) -> models.Application | None:
    """Store what was decided about one message (or, when reprocessing, replace it): the
    message's kind and decision, its documents, and the application it makes or joins.
    Documents and flags are rewritten each time, so re-running rules converges."""
    msg = decision.part.message
    # Never written before (a new message, or one that failed): nothing to clear or replace.
    written = raw.decision is not None
    raw.kind, raw.sender, raw.subject = decision.kind, msg.sender_email, msg.subject
    raw.decision = decision.to_json()
    raw.application_id = decision.target
    if written:
        _clear(session, raw.id)
    own = _owned(session, raw.id) if written else None
    if decision.kind == APPLICATION and decision.extraction is not None:
        app = own or models.Application(applicant_id=0, raw_message_id=raw.id, mailbox=raw.mailbox)
        _people(session, app, decision)
    else:
        if own is not None:  # it was an application of its own before reprocessing
            _drop(session, own)
        app = session.get(models.Application, decision.target) if decision.target else None
    if app is not None:
        new = app.id is None  # made now: it has no flags to replace
        update(session, app, decision.extraction, decision.evaluation)
        _replace_flags(session, app, decision.flags, clear=not new)
    add_documents(session, raw.id, app.id if app else None, decision.documents)
    if app is not None and decision.part.pasted_resume and decision.extraction.resume is None:
        _add_pasted_resume(session, raw.id, app.id, decision.part.pasted_resume)
    raw.status, raw.error = "processed", None
    return app


def _add_pasted_resume(session: Session, raw_id: int, app_id: int, text: str) -> None:
    """A resume pasted into the body is the application's resume: a document with no
    file name, so the digest and the export show it like an attached one."""
    data = text.encode("utf-8")
    session.add(
        models.Document(
            raw_message_id=raw_id,
            application_id=app_id,
            filename=None,
            content_type="text/plain",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            role="resume",
            text=text,
        )
    )


def _people(session: Session, app: models.Application, decision: Decision) -> None:
    """The applicant (the candidate), and who referred them."""
    app.applicant_id = applicant_for(session, decision.applicant).id
    referrer = decision.referrer
    app.referrer_id = applicant_for(session, referrer).id if referrer else None
    app.duplicate_of = decision.duplicate_of


def _replace_flags(
    session: Session, app: models.Application, flags: list[RuleFlag], *, clear: bool
) -> None:
    """An application's flags are those of its latest decision, on its first message."""
    if clear:
        for row in session.exec(select(models.Flag).where(models.Flag.application_id == app.id)):
            session.delete(row)
        session.flush()
    add_flags(session, app.raw_message_id, app.id, flags)


def update(
    session: Session, app: models.Application, extraction: Extraction, evaluation: Evaluation
) -> None:
    before = logins(app.github) if app.id else set()
    for key, value in application_fields(extraction, evaluation).items():
        setattr(app, key, value)
    app.updated_at = utcnow()
    session.add(app)
    session.flush()
    _index_logins(session, app.id, before, logins(app.github))


def _index_logins(session: Session, app_id: int, before: set[str], now: set[str]) -> None:
    """Keep an application's rows in `githublogin` in step with its links."""
    for login in sorted(now - before):
        session.add(models.GithubLogin(application_id=app_id, login=login))
    for login in sorted(before - now):
        if (row := session.get(models.GithubLogin, (app_id, login))) is not None:
            session.delete(row)


def _drop(session: Session, app: models.Application) -> None:
    """Delete an application that reprocessing unmade; what pointed at it no longer does."""
    for model, column in (
        (models.Outbox, models.Outbox.application_id),
        (models.Document, models.Document.application_id),
        (models.Flag, models.Flag.application_id),
        (models.RawMessage, models.RawMessage.application_id),
        (models.Application, models.Application.duplicate_of),
    ):
        for row in session.exec(select(model).where(column == app.id)):
            setattr(row, column.key, None)
            session.add(row)
    session.flush()
    session.delete(app)
    session.flush()


def add_documents(
    session: Session, raw_id: int, app_id: int | None, documents: list[ExtractedDocument]
) -> None:
    for doc in documents:
        session.add(
            models.Document(
                raw_message_id=raw_id,
                application_id=app_id,
                filename=doc.filename,
                content_type=doc.content_type,
                size=doc.size,
                sha256=doc.sha256,
                role=doc.role,
                text=doc.content.text if doc.content.state == "text" else None,
                error=doc.content.error,
                ocr=doc.content.ocr,
                format=doc.content.format,
                links=list(doc.content.links),
                pages=doc.content.pages,
            )
        )


def stored_documents(session: Session, raw_id: int) -> dict[tuple[str, str | None], DocumentText]:
    """What reading a stored message's attachments found, by (sha256, filename): a
    follow-up merges this instead of reading them again."""
    rows = session.exec(
        select(models.Document).where(
            models.Document.raw_message_id == raw_id, col(models.Document.format).is_not(None)
        )
    )
    return {
        (d.sha256, d.filename): DocumentText(
            d.format or "other", d.text or "", tuple(d.links or ()), d.error, d.pages, d.ocr
        )
        for d in rows
    }


def add_flags(session: Session, raw_id: int, app_id: int | None, flags: list[RuleFlag]) -> None:
    for flag in flags:
        session.add(
            models.Flag(
                raw_message_id=raw_id,
                application_id=app_id,
                code=flag.code,
                message=flag.message,
                evidence=flag.evidence,
            )
        )


def outcome(session: Session, raw: models.RawMessage) -> str:
    """One word for what a processed message became: its application's status, or its kind."""
    return described(raw, _owned(session, raw.id))


def described(raw: models.RawMessage, owned: models.Application | None) -> str:
    """`outcome`, knowing the application the message made (`owned`), if any."""
    return owned.status if owned else (raw.kind or raw.status)


def _owned(session: Session, raw_id: int) -> models.Application | None:
    return session.exec(
        select(models.Application).where(models.Application.raw_message_id == raw_id)
    ).first()


def _clear(session: Session, raw_id: int) -> None:
    for model in (models.Document, models.Flag):
        for row in session.exec(select(model).where(model.raw_message_id == raw_id)):
            session.delete(row)
    session.flush()


def summary(session: Session) -> list[dict]:
    """What was stored, one dict per message, oldest first (for the demo and the CLI)."""
    rows = []
    for raw in session.exec(select(models.RawMessage).order_by(models.RawMessage.id)):
        app = session.exec(
            select(models.Application).where(models.Application.raw_message_id == raw.id)
        ).first()
        docs = session.exec(
            select(models.Document).where(models.Document.raw_message_id == raw.id)
        ).all()
        flags = session.exec(select(models.Flag).where(models.Flag.raw_message_id == raw.id)).all()
        rows.append(
            {
                "mailbox": raw.mailbox,
                "uid": raw.uid,
                "kind": raw.kind,
                "status": raw.status,
                "error": raw.error,
                "sender": raw.sender,
                "subject": raw.subject,
                "application_id": app.id if app else None,
                "folded_into": raw.application_id,
                "posting": app.posting if app else None,
                "app_status": app.status if app else None,
                "documents": [(d.filename, d.role, len(d.text or ""), d.error) for d in docs],
                "github": app.github if app else [],
                "period": app
                and app.period_start
                and f"{app.period_start}..{app.period_end or '?'}",
                "area": app.area if app else None,
                "eligibility": app
                and f"{app.eligibility} {' '.join(app.eligibility_basis)}".strip(),
                "flags": sorted({f.code for f in flags}),
            }
        )
    return rows
