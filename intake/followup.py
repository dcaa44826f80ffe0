"""Follow-ups: which application a message continues, and the application they make together.

A message continues an application when it answers our acknowledgement or the
applicant's own message (In-Reply-To/References), or comes from the same person (same
address or same GitHub login) about the same posting within `window_days`. Folding
re-reads every message of the application and merges them, so the rules see the whole
application: the resume sent a day later fills the gap the first mail left.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from intake import models, store
from intake.classify import APPLICATION
from intake.eligibility import CODES, assess
from intake.extract import Extraction, document_flags
from intake.links import github_links


def merge(parts: list[Extraction], accepted: tuple[str, ...] = CODES) -> Extraction:
    """One application from its messages, oldest first. Later messages fill what earlier
    ones lacked; a readable resume beats an unreadable one; links accumulate."""
    documents = [d for p in parts for d in p.documents]
    resumes = [d for d in documents if d.role == "resume"]
    best = next((d for d in reversed(resumes) if not d.content.error), None) or (
        resumes[-1] if resumes else None
    )
    documents = [d for d in documents if d.role != "resume" or d is best]
    letters = [p.cover_letter for p in parts if p.cover_letter]
    pasted = next((p.pasted_resume for p in reversed(parts) if p.pasted_resume), None)
    resume_text = best.content.text if best else (pasted or "")
    eligibility = assess("\n\n".join(letters), resume_text, accepted)
    return replace(
        parts[0],
        kind=APPLICATION,
        documents=tuple(documents),
        github=tuple(github_links(urls=[u for p in parts for u in p.github])),
        cover_letter=max(letters, key=len) if letters else None,
        pasted_resume=None if best else pasted,
        period=next((p.period for p in reversed(parts) if p.period), None),
        area=next((p.area for p in reversed(parts) if p.area), None),
        eligibility=eligibility,
        flags=tuple(document_flags(tuple(documents))),
    )


def thread_target(session: Session, ids: list[str]) -> models.Application | None:
    """The application a reply belongs to, by the Message-IDs it answers."""
    if not ids:
        return None
    outbox = session.exec(
        select(models.Outbox).where(col(models.Outbox.message_id).in_(ids))
    ).first()
    if outbox and outbox.application_id:
        return session.get(models.Application, outbox.application_id)
    query = select(models.RawMessage).where(col(models.RawMessage.message_id).in_(ids))
    for raw in session.exec(query):
        if raw.application_id:
            return session.get(models.Application, raw.application_id)
        owned = session.exec(
            select(models.Application).where(models.Application.raw_message_id == raw.id)
        ).first()
        if owned:
            return owned
    return None


def recent_target(
    session: Session,
    extraction: Extraction,
    posting: str | None,
    window_days: int,
    before_raw_id: int,
    now: datetime,
) -> models.Application | None:
    """The latest application by the same person for the same posting within the window."""
    msg = extraction.message
    since = _aware(msg.date or now) - timedelta(days=window_days)
    earlier = store.by_person(session, msg.sender_email, extraction.github, before_raw_id)
    for app in reversed(earlier):
        if posting and app.posting not in (posting, None):
            continue
        if _aware(app.received_at or app.created_at) >= since:
            return app
    return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
