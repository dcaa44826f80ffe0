"""What one stored message becomes: an application, a follow-up folded into one, a noted
bounce, or just a classified message; plus the reply it is due, queued in the same
transaction.

Everything runs inside a savepoint: a message that fails anywhere is quarantined with
the reason, and the batch goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlmodel import Session, col, or_, select

from intake import bounces, models, outbox, store
from intake.checks import Evaluation, Route, evaluate, route
from intake.classify import APPLICATION, BOUNCE, FOLLOW_UP
from intake.errors import IntakeError
from intake.extract import Extraction, extract
from intake.followup import merge, recent_target, thread_target
from intake.logs import event
from intake.parse import parse_message
from intake.rules import Posting, for_mailbox

log = logging.getLogger(__name__)
NOTHING = Evaluation(Route(None), None, (), ())


@dataclass(frozen=True)
class Processor:
    """What processing needs besides the message: rules, clock, and how to reply."""

    postings: dict[str, Posting]
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    timeout: float = 20.0
    replies: outbox.ReplySettings | None = None
    follow_up_days: int = 60

    def __call__(self, session: Session, raw: models.RawMessage) -> None:
        process(session, raw, self)


def process(session: Session, raw: models.RawMessage, proc: Processor) -> None:
    """Parse, extract, fold or record, and queue the reply, in a savepoint; failures
    become data. Deadlines are judged against the message's Date (so reprocessing old
    mail gives the same answer), falling back to the clock when it has none."""
    where = {"mailbox": raw.mailbox, "uid": raw.uid, "message_id": raw.message_id}
    try:
        with session.begin_nested():
            extraction = extract(parse_message(raw.raw), timeout=proc.timeout)
            _handle(session, raw, extraction, proc, proc.clock())
    except Exception as exc:  # quarantine: the raw message stays, with the reason
        raw.status, raw.kind = "failed", None
        raw.error = f"{type(exc).__name__}: {exc}"[:2000]
        event(log, "quarantined", logging.WARNING, **where, reason=raw.error)
        return
    app = raw.application_id or store.application_id(session, raw)
    event(
        log, "message", **where, kind=raw.kind, outcome=store.outcome(session, raw), application=app
    )


def _handle(
    session: Session, raw: models.RawMessage, extraction: Extraction, proc: Processor, now: datetime
) -> None:
    msg = extraction.message
    if extraction.kind == BOUNCE:
        bounces.note(session, raw.raw)
    if extraction.kind not in (APPLICATION, FOLLOW_UP):
        store.record(session, raw, extraction, NOTHING)
        return
    if not msg.sender_email:
        raise IntakeError("no sender address")
    candidates = for_mailbox(proc.postings, raw.mailbox)
    target = thread_target(session, [*msg.references, *filter(None, [msg.in_reply_to])])
    if target is None:
        routed = route(extraction, candidates).posting
        target = recent_target(
            session, extraction, routed.id if routed else None, proc.follow_up_days, raw.id, now
        )
    if target is not None:
        _fold(session, raw, extraction, target, proc, now)
    elif extraction.kind == APPLICATION or extraction.resume is not None:
        _apply(session, raw, replace(extraction, kind=APPLICATION), candidates, proc, now)
    else:  # "any news on my application?" about nothing we have: a person reads it
        store.record(session, raw, extraction, NOTHING)


def _apply(
    session: Session,
    raw: models.RawMessage,
    extraction: Extraction,
    candidates: list[Posting],
    proc: Processor,
    now: datetime,
) -> None:
    msg = extraction.message
    prior = store.history(session, msg.sender_email, extraction.github, raw.id)
    evaluation = evaluate(extraction, candidates, (msg.date or now).date(), prior)
    app = store.record(session, raw, extraction, evaluation)
    app.duplicate_of = next(
        (p.application_id for p in prior if evaluation.posting and p.posting == evaluation.posting),
        None,
    )
    _reply(session, raw, extraction, app, evaluation, evaluation.reply, proc, now)


def _fold(
    session: Session,
    raw: models.RawMessage,
    extraction: Extraction,
    app: models.Application,
    proc: Processor,
    now: datetime,
) -> None:
    """Add a follow-up to its application, re-run the rules on the whole, and reply."""
    posting = proc.postings.get(app.posting or "")
    candidates = [posting] if posting else for_mailbox(proc.postings, raw.mailbox)
    parts = _parts(session, app, raw, extraction, proc.timeout)
    merged = merge(parts)
    first = merged.message
    prior = store.history(session, first.sender_email, merged.github, app.raw_message_id)
    evaluation = evaluate(merged, candidates, (first.date or now).date(), prior)
    store.fold(session, raw, extraction, app, merged, evaluation)
    template = (
        evaluation.route.posting.replies.get("follow_up") if evaluation.route.posting else None
    )
    _reply(session, raw, merged, app, evaluation, template, proc, now, replying_to=extraction)


def _parts(
    session: Session,
    app: models.Application,
    raw: models.RawMessage,
    extraction: Extraction,
    timeout: float,
) -> list[Extraction]:
    """Every message of the application, oldest first, re-read from the stored bytes."""
    rows = session.exec(
        select(models.RawMessage)
        .where(
            or_(
                models.RawMessage.id == app.raw_message_id,
                models.RawMessage.application_id == app.id,
            ),
            col(models.RawMessage.id) != raw.id,
        )
        .order_by(models.RawMessage.id)
    )
    parts = {r.id: extract(parse_message(r.raw), timeout=timeout) for r in rows}
    parts[raw.id] = extraction
    return [parts[key] for key in sorted(parts)]


def _reply(
    session: Session,
    raw: models.RawMessage,
    whole: Extraction,
    app: models.Application,
    evaluation: Evaluation,
    template: str | None,
    proc: Processor,
    now: datetime,
    replying_to: Extraction | None = None,
) -> None:
    if proc.replies is None:
        return
    resume = whole.resume
    trigger = outbox.Trigger(
        raw=raw,
        message=(replying_to or whole).message,
        application_id=app.id,
        posting=evaluation.route.posting,
        template=template,
        codes=[f.code for f in evaluation.flags],
        resume_filename=resume.filename if resume else None,
    )
    outbox.queue(session, proc.replies, trigger, now)
