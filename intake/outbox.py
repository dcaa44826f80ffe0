"""The outbox: replies are queued in the transaction that stores what they answer, then sent.

Queueing happens inside the caller's session (never commits), so a stored application
and its acknowledgement land together or not at all. Sending is a separate step that
commits after each message: a crash between the SMTP transaction and that commit sends
the same bytes, with the same Message-ID, again on restart, never a different reply.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from intake import models
from intake.config import Config, SmtpConfig
from intake.db import session as open_session
from intake.logs import event
from intake.parse import ParsedMessage
from intake.replies import Envelope, ReplyPolicy, build, context, decide, render, reply_message_id
from intake.rules import Posting

log = logging.getLogger(__name__)
COUNTED = ("pending", "sent", "dry_run")  # statuses that count towards the rate limit


@dataclass(frozen=True)
class ReplySettings:
    """Everything replying needs from the config, resolved once."""

    templates: Path
    from_address: str
    reply_to: dict[str, str] = field(default_factory=dict)  # mailbox name -> its address
    policy: ReplyPolicy = field(default_factory=ReplyPolicy)
    team: str = "The recruiting team"
    dry_run: bool = False

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset({*self.reply_to.values(), parseaddr(self.from_address)[1]})

    @property
    def domain(self) -> str:
        return parseaddr(self.from_address)[1].rpartition("@")[2] or "intake.invalid"

    @classmethod
    def from_config(cls, cfg: Config) -> ReplySettings | None:
        """None when replies are off or there is no [smtp] table to send them with."""
        if not cfg.replies.enabled or cfg.smtp is None:
            return None
        return cls(
            templates=cfg.templates_dir,
            from_address=cfg.smtp.from_address,
            reply_to={b.name: b.reply_address for b in cfg.mailboxes if b.reply_address},
            policy=ReplyPolicy(cfg.replies.max_per_sender, cfg.replies.window_hours),
            team=cfg.replies.team,
            dry_run=cfg.smtp.dry_run,
        )


@dataclass(frozen=True)
class Trigger:
    """The message a reply answers, and what was decided about its application."""

    raw: models.RawMessage
    message: ParsedMessage
    application_id: int
    posting: Posting | None
    template: str | None
    codes: list[str]
    resume_filename: str | None


def queue(
    session: Session, settings: ReplySettings, trigger: Trigger, now: datetime
) -> models.Outbox | None:
    """Queue (or record as suppressed) the reply a message is due; at most one per message."""
    raw, msg = trigger.raw, trigger.message
    if session.exec(select(models.Outbox).where(models.Outbox.trigger_id == raw.id)).first():
        return None  # already answered: reprocessing or a crash never queues a second reply
    to = (msg.sender_email or "").lower()
    decision = decide(
        raw.kind or "",
        trigger.template,
        to,
        settings.own_addresses,
        session.get(models.BouncedAddress, to) is not None,
        _recent(session, to, now - timedelta(hours=settings.policy.window_hours)),
        settings.policy,
    )
    if decision.template is None:
        return None
    row = models.Outbox(
        application_id=trigger.application_id,
        trigger_id=raw.id,
        message_id=reply_message_id(
            trigger.application_id, decision.template, raw.dedupe_key, settings.domain
        ),
        template=decision.template,
        to_address=to,
        envelope_from=settings.reply_to.get(raw.mailbox) or parseaddr(settings.from_address)[1],
        raw=_compose(settings, trigger, decision.template, now),
        status="suppressed"
        if decision.suppressed
        else "dry_run"
        if settings.dry_run
        else "pending",
        reason=decision.suppressed,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    session.flush()
    event(
        log,
        "reply_queued",
        message_id=row.message_id,
        to=to,
        template=row.template,
        status=row.status,
        reason=row.reason,
    )
    return row


def _recent(session: Session, to: str, since: datetime) -> int:
    query = (
        select(func.count())
        .select_from(models.Outbox)
        .where(
            models.Outbox.to_address == to,
            col(models.Outbox.status).in_(COUNTED),
            models.Outbox.created_at >= since,
        )
    )
    return session.exec(query).one()


def _compose(settings: ReplySettings, trigger: Trigger, template: str, now: datetime) -> bytes:
    msg = trigger.message
    values = context(
        trigger.posting, trigger.codes, msg.sender_name, trigger.resume_filename, settings.team
    )
    text, html = render(
        settings.templates, trigger.posting.id if trigger.posting else None, template, values
    )
    envelope = Envelope(
        from_address=settings.from_address,
        reply_to=settings.reply_to.get(trigger.raw.mailbox) or settings.from_address,
        to_name=msg.sender_name,
        to_address=msg.sender_email or "",
        subject=msg.subject,
        in_reply_to=msg.message_id,
        references=msg.references,
        message_id=reply_message_id(
            trigger.application_id, template, trigger.raw.dedupe_key, settings.domain
        ),
        date=now,
    )
    return build(envelope, text, html)


@dataclass
class SendStats:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def backoff(attempts: int, smtp: SmtpConfig) -> timedelta:
    """1, 2, 4... times retry_seconds after the n-th failed attempt, capped."""
    return timedelta(seconds=min(smtp.retry_seconds * 2 ** (attempts - 1), smtp.max_retry_seconds))


def connect(smtp: SmtpConfig) -> smtplib.SMTP:
    """An authenticated SMTP connection as configured (implicit TLS, STARTTLS or plain)."""
    tls = ssl.create_default_context()
    if not smtp.verify_certificates:
        tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    port, timeout = smtp.effective_port, smtp.timeout_seconds
    if smtp.tls == "implicit":
        client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, port, timeout=timeout, context=tls)
    else:
        client = smtplib.SMTP(smtp.host, port, timeout=timeout)
        if smtp.tls == "starttls":
            client.starttls(context=tls)
    if smtp.username:
        client.login(smtp.username, smtp.password() or "")
    return client


def send_due(
    engine: Engine,
    smtp: SmtpConfig,
    now: datetime,
    *,
    dial: Callable[[SmtpConfig], smtplib.SMTP] = connect,
    after_send: Callable[[models.Outbox], None] | None = None,
) -> SendStats:
    """Send every pending reply whose time has come, committing after each one.

    `after_send` runs between the SMTP transaction and the commit (tests use it to
    simulate a crash there).
    """
    stats = SendStats()
    with open_session(engine) as session:
        due = list(
            session.exec(
                select(models.Outbox.id)
                .where(models.Outbox.status == "pending", models.Outbox.next_attempt_at <= now)
                .order_by(models.Outbox.id)
            )
        )
    if not due:
        return stats
    try:
        client = dial(smtp)
    except (OSError, smtplib.SMTPException) as exc:
        _defer_all(engine, due, smtp, now, f"cannot connect to {smtp.host}: {exc}", stats)
        return stats
    try:
        for row_id in due:
            _send_one(engine, client, row_id, smtp, now, stats, after_send)
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return stats


def _send_one(engine, client, row_id, smtp, now, stats, after_send) -> None:
    with open_session(engine) as session:
        row = session.get(models.Outbox, row_id)
        row.attempts += 1
        try:
            refused = client.sendmail(row.envelope_from, [row.to_address], row.raw)
            if refused:
                code, reply = refused[row.to_address]
                raise smtplib.SMTPRecipientsRefused({row.to_address: (code, reply)})
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            _failure(row, code, reply, smtp, now, stats)
        except smtplib.SMTPResponseException as exc:
            _failure(row, exc.smtp_code, exc.smtp_error, smtp, now, stats)
        except (OSError, smtplib.SMTPException) as exc:
            _failure(row, 0, str(exc).encode(), smtp, now, stats)
        else:
            if after_send:
                after_send(row)
            row.status, row.sent_at, row.reason = "sent", now, None
            stats.sent += 1
            event(log, "reply_sent", message_id=row.message_id, to=row.to_address)
        session.add(row)
        session.commit()


def _failure(
    row: models.Outbox,
    code: int,
    reply: bytes | str,
    smtp: SmtpConfig,
    now: datetime,
    stats: SendStats,
) -> None:
    """5xx is permanent; anything else is retried with backoff until max_attempts."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    row.reason = f"{code} {text}".strip() if code else text
    if 500 <= code < 600 or row.attempts >= smtp.max_attempts:
        row.status = "failed"
        stats.failed += 1
        event(
            log,
            "reply_failed",
            logging.WARNING,
            message_id=row.message_id,
            to=row.to_address,
            reason=row.reason,
        )
    else:
        row.next_attempt_at = now + backoff(row.attempts, smtp)
        stats.retrying += 1
        event(
            log,
            "reply_retry",
            message_id=row.message_id,
            to=row.to_address,
            at=row.next_attempt_at.isoformat(),
            reason=row.reason,
        )


def _defer_all(engine, due, smtp, now, reason, stats) -> None:
    with open_session(engine) as session:
        for row_id in due:
            row = session.get(models.Outbox, row_id)
            row.attempts += 1
            _failure(row, 0, reason, smtp, now, stats)
            session.add(row)
        session.commit()


def retry(session: Session, ids: list[int] | None, now: datetime) -> int:
    """Put failed replies (these ids, or all failed) back in the queue; returns how many."""
    query = select(models.Outbox).where(models.Outbox.status == "failed")
    if ids:
        query = query.where(col(models.Outbox.id).in_(ids))
    rows = list(session.exec(query))
    for row in rows:
        row.status, row.attempts, row.next_attempt_at, row.reason = "pending", 0, now, None
        session.add(row)
    return len(rows)
