"""Recruiters' decisions: recorded with who and when, and a rejection's templated reply
queued through the outbox with the loop safety of every other reply (never to a robot,
ourselves, an address that bounced or one written to too often; never when the
application's own message got no reply because it was spam, bulk or a list). At most
one rejection reply per application: its outbox row is unique per message and role."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parseaddr

from jinja2 import TemplateNotFound
from sqlmodel import Session, col, func, select

from intake.decisions.rules import Posting
from intake.decisions.safety import why_not
from intake.replies.messages import Envelope, build, context, render, reply_message_id
from intake.replies.outbox import ReplySettings
from intake.storage import models

ACTIONS = {"shortlisted": "Shortlisted", "on_hold": "On hold", "rejected": "Rejected"}
ROLE = "rejection"
TEMPLATE = "rejected"


def decide(
    session: Session,
    application: models.Application,
    action: str,
    note: str,
    recruiter: str,
    now: datetime,
    reply: tuple[ReplySettings | None, Posting | None] | None = None,
) -> models.Review:
    """Record a decision; with `reply` (for a rejection), queue the rejection reply."""
    if action not in ACTIONS:
        raise ValueError(f"unknown decision {action!r}")
    review = models.Review(
        application_id=application.id,
        action=action,
        note=note.strip() or None,
        recruiter=recruiter,
        created_at=now,
    )
    if action == "rejected" and reply is not None:
        review.outbox_id = queue_rejection(session, application, now, *reply).id
    application.updated_at = now  # the next digest and `export --since` show the decision
    session.add_all([review, application])
    session.flush()
    return review


def queue_rejection(
    session: Session,
    application: models.Application,
    now: datetime,
    settings: ReplySettings | None,
    posting: Posting | None,
) -> models.Outbox:
    """The application's rejection reply (the one already queued, if any)."""
    raw = session.get(models.RawMessage, application.raw_message_id)
    done = session.exec(
        select(models.Outbox).where(models.Outbox.trigger_id == raw.id, models.Outbox.role == ROLE)
    ).first()
    if done is not None:
        return done
    person = session.get(models.Applicant, application.applicant_id)
    to = (person.email or "").lower()
    reason = _why_not(session, raw, to, settings, now)
    domain = settings.domain if settings else "intake.invalid"
    message_id = reply_message_id(application.id, TEMPLATE, f"{raw.dedupe_key}|{ROLE}", domain)
    body, reason = _compose(application, raw, person, posting, settings, message_id, now, reason)
    row = models.Outbox(
        application_id=application.id,
        trigger_id=raw.id,
        role=ROLE,
        message_id=message_id,
        template=TEMPLATE,
        to_address=to,
        envelope_from=_envelope_from(settings, raw.mailbox),
        raw=body,
        status="suppressed" if reason else ("dry_run" if settings.dry_run else "pending"),
        reason=reason,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _why_not(
    session: Session,
    raw: models.RawMessage,
    to: str,
    settings: ReplySettings | None,
    now: datetime,
) -> str | None:
    if settings is None:
        return "replies are off ([replies] enabled = false, or no [smtp] table)"
    answer = session.exec(
        select(models.Outbox).where(
            models.Outbox.trigger_id == raw.id, models.Outbox.role == "applicant"
        )
    ).first()
    if answer is not None and answer.status == "skipped":
        return f"the application's message gets no reply: {answer.reason}"
    bouncing = session.get(models.BouncedAddress, to) is not None
    recent = session.exec(
        select(func.count())
        .select_from(models.Outbox)
        .where(
            models.Outbox.to_address == to,
            col(models.Outbox.status).in_(models.COUNTED),
            models.Outbox.created_at >= now - timedelta(hours=settings.policy.window_hours),
        )
    ).one()
    return why_not(to, settings.own_addresses, bouncing, recent, settings.policy)


def _compose(application, raw, person, posting, settings, message_id, now, reason):
    """(the message's bytes, the reason it cannot go): nothing is composed without
    settings, and a missing template suppresses the reply instead of failing the page."""
    if settings is None:
        return b"", reason
    values = context(posting, [], person.name, None, settings.team)
    try:
        text, html = render(settings.templates, application.posting, TEMPLATE, values)
    except TemplateNotFound:
        return b"", f"no template {TEMPLATE}.txt.j2 in {settings.templates}/default"
    envelope = Envelope(
        from_address=settings.from_address,
        reply_to=settings.reply_to.get(raw.mailbox) or settings.from_address,
        to_name=person.name,
        to_address=person.email or "",
        subject=raw.subject or application.subject or "",
        in_reply_to=raw.message_id,
        references=(),
        message_id=message_id,
        date=now,
    )
    return build(envelope, text, html), reason


def _envelope_from(settings: ReplySettings | None, mailbox: str) -> str:
    if settings is None:
        return ""
    return settings.reply_to.get(mailbox) or parseaddr(settings.from_address)[1]


def latest(session: Session, ids: list[int]) -> dict[int, models.Review]:
    """Each application's current decision (its latest review)."""
    newest = (
        select(models.Review.application_id, func.max(models.Review.id).label("last"))
        .where(col(models.Review.application_id).in_(ids))
        .group_by(models.Review.application_id)
        .subquery()
    )
    rows = session.exec(select(models.Review).join(newest, newest.c.last == models.Review.id))
    return {review.application_id: review for review in rows}
