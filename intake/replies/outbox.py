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
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from intake.config import Config, SmtpConfig
from intake.decisions.safety import ReplyPolicy
from intake.logs import event, redact
from intake.replies.messages import Envelope, build, context, render, reply_message_id
from intake.storage import models
from intake.storage.db import session as open_session

if TYPE_CHECKING:
    from intake.decisions.decision import Decision, Reply

log = logging.getLogger(__name__)


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


def queue(
    session: Session,
    settings: ReplySettings,
    raw: models.RawMessage,
    decision: Decision,
    application: models.Application | None,
    now: datetime,
) -> list[models.Outbox]:
    """A row for each reply the decision plans (or declines, with the reason), at most
    one per message and role: reprocessing or a crash never queues a second one."""
    rows = []
    for reply in decision.replies:
        done = select(models.Outbox).where(
            models.Outbox.trigger_id == raw.id, models.Outbox.role == reply.role
        )
        if session.exec(done).first() is None:
            rows.append(_row(settings, raw, decision, application, reply, now))
    for row in rows:
        session.add(row)
        session.flush()
        # ids, never the address or the reason (which names it): `intake outbox show`
        event(
            log,
            "reply_queued",
            outbox=row.id,
            message=row.trigger_id,
            application=row.application_id,
            role=row.role,
            template=row.template or None,
            status=row.status,
        )
    return rows


def _row(
    settings: ReplySettings,
    raw: models.RawMessage,
    decision: Decision,
    application: models.Application | None,
    reply: Reply,
    now: datetime,
) -> models.Outbox:
    app_id = application.id if application else None
    template = reply.template
    status = {"skipped": "skipped", "suppressed": "suppressed"}.get(
        reply.status, "dry_run" if settings.dry_run else "pending"
    )
    # the applicant's reply keeps the id it has always had: a crash across an upgrade
    # can only resend the same message
    trigger = raw.dedupe_key if reply.role == "applicant" else f"{raw.dedupe_key}|{reply.role}"
    message_id = reply_message_id(app_id or 0, template or "none", trigger, settings.domain)
    return models.Outbox(
        application_id=app_id,
        trigger_id=raw.id,
        role=reply.role,
        message_id=message_id,
        template=template or "",
        to_address=(reply.to.email or "").lower(),
        envelope_from=settings.reply_to.get(raw.mailbox) or parseaddr(settings.from_address)[1],
        raw=_compose(settings, raw, decision, reply, message_id, now) if template else b"",
        status=status,
        reason=reply.reason,
        created_at=now,
        next_attempt_at=now,
    )


def _compose(
    settings: ReplySettings,
    raw: models.RawMessage,
    decision: Decision,
    reply: Reply,
    message_id: str,
    now: datetime,
) -> bytes:
    """The reply: to the applicant (threaded on their message, or on the forwarded one),
    or the referrer's thanks (threaded on the forward)."""
    posting = decision.evaluation.route.posting
    extraction, part = decision.extraction, decision.part
    resume = extraction.resume if extraction else None
    referrer, applicant = decision.referrer, decision.applicant
    if reply.role == "referrer":
        values = context(
            posting,
            [],
            reply.to.name,
            None,
            settings.team,
            candidate_name=applicant.name if applicant else None,
            candidate_known=bool(applicant and applicant.email),
        )
        answered, subject = part.message, part.message.subject
    else:
        values = context(
            posting,
            [f.code for f in decision.evaluation.flags],
            reply.to.name,
            resume.filename if resume else None,
            settings.team,
            referrer_name=(referrer.name or referrer.email) if referrer else None,
        )
        attached = part.forward.attached if part.forward else None
        answered, subject = (attached or (None if part.forward else part.message)), part.subject
    text, html = render(settings.templates, posting.id if posting else None, reply.template, values)
    envelope = Envelope(
        from_address=settings.from_address,
        reply_to=settings.reply_to.get(raw.mailbox) or settings.from_address,
        to_name=reply.to.name,
        to_address=reply.to.email or "",
        subject=subject,
        in_reply_to=answered.message_id if answered else None,
        references=answered.references if answered else (),
        message_id=message_id,
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
    after_send: Callable[[], None] | None = None,
    ignore_backoff: bool = False,
) -> SendStats:
    """Send every pending reply whose time has come (with `ignore_backoff`, also those
    waiting for a retry), committing after each one; `now` is the real time it happens.

    `after_send` runs between the SMTP transaction and the commit (tests use it to
    simulate a crash there).
    """
    stats = SendStats()
    query = select(models.Outbox.id).where(models.Outbox.status == "pending")
    if not ignore_backoff:
        query = query.where(models.Outbox.next_attempt_at <= now)
    with open_session(engine) as session:
        due = list(session.exec(query.order_by(models.Outbox.id)))
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
        try:  # one recipient: refused, it raises; nothing is returned partly refused
            client.sendmail(row.envelope_from, [row.to_address], row.raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            _failure(row, code, reply, smtp, now, stats)
        except smtplib.SMTPResponseException as exc:
            _failure(row, exc.smtp_code, exc.smtp_error, smtp, now, stats)
        except (OSError, smtplib.SMTPException) as exc:
            _failure(row, 0, str(exc).encode(), smtp, now, stats)
        else:
            if after_send:
                after_send()
            row.status, row.sent_at, row.reason = "sent", now, None
            stats.sent += 1
            event(log, "reply_sent", outbox=row.id)
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
    if code // 100 == 5 or row.attempts >= smtp.max_attempts:
        row.status = "failed"
        stats.failed += 1
        event(
            log,
            "reply_failed",
            logging.WARNING,
            outbox=row.id,
            reason=redact(row.reason),
        )
    else:
        row.next_attempt_at = now + backoff(row.attempts, smtp)
        stats.retrying += 1
        event(
            log,
            "reply_retry",
            outbox=row.id,
            at=row.next_attempt_at.isoformat(),
            reason=redact(row.reason),
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
