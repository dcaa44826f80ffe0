"""`intake status`: what an operator checks first, read from the database alone."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, func, select

from intake.config import Config
from intake.storage import models


def gather(session: Session, cfg: Config) -> dict:
    """Per mailbox the checkpoint and last poll; outbox, quarantine, digest, applications."""
    return {
        "mailboxes": [_mailbox(session, box.name) for box in cfg.mailboxes],
        "outbox": _counts(session, models.Outbox.status),
        "applications": _counts(session, models.Application.status),
        "quarantined": {
            "count": session.exec(
                select(func.count())
                .select_from(models.RawMessage)
                .where(models.RawMessage.status == "failed")
            ).one(),
            "latest": [
                {"mailbox": r.mailbox, "uid": r.uid, "message_id": r.message_id, "error": r.error}
                for r in session.exec(
                    select(models.RawMessage)
                    .where(models.RawMessage.status == "failed")
                    .order_by(col(models.RawMessage.id).desc())
                    .limit(5)
                )
            ],
        },
        "digest": _last_digest(session),
    }


def _mailbox(session: Session, name: str) -> dict:
    checkpoint = session.get(models.Checkpoint, name)
    state = session.get(models.MailboxState, name)
    return {
        "mailbox": name,
        "uidvalidity": checkpoint.uidvalidity if checkpoint else None,
        "last_uid": checkpoint.last_uid if checkpoint else None,
        "last_poll": _iso(state.last_poll_at) if state else None,
        "last_success": _iso(state.last_success_at) if state else None,
        "last_error": state.last_error if state else None,
        "last_error_at": _iso(state.last_error_at) if state else None,
        "backlog": state.backlog if state else None,
    }


def _counts(session: Session, column) -> dict[str, int]:
    return dict(session.exec(select(column, func.count()).group_by(column)).all())


def _last_digest(session: Session) -> dict | None:
    run = session.exec(select(models.DigestRun).order_by(col(models.DigestRun.id).desc())).first()
    if run is None:
        return None
    return {
        "at": _iso(run.created_at),
        "applications": run.applications,
        "path": run.path,
        "recipients": run.recipients,
        "error": run.error,
    }


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat(timespec="seconds")


def as_text(status: dict) -> str:
    lines = []
    for box in status["mailboxes"]:
        where = (
            f"UIDVALIDITY {box['uidvalidity']}, last UID {box['last_uid']}"
            if box["uidvalidity"] is not None
            else "never polled"
        )
        lines.append(
            f"mailbox {box['mailbox']}: {where}; last poll {box['last_poll'] or '-'}; "
            f"backlog {box['backlog'] if box['backlog'] is not None else '-'}"
        )
        if box["last_error"]:
            lines.append(f"  last error ({box['last_error_at']}): {box['last_error']}")
    lines.append("outbox: " + (_pairs(status["outbox"]) or "empty"))
    lines.append("applications: " + (_pairs(status["applications"]) or "none"))
    quarantine = status["quarantined"]
    lines.append(f"quarantined: {quarantine['count']}")
    lines += [
        f"  {q['mailbox']} uid {q['uid']} {q['message_id'] or ''}: {q['error']}"
        for q in quarantine["latest"]
    ]
    last = status["digest"]
    lines.append(
        "digest: never"
        if last is None
        else f"digest: last {last['at']}, {last['applications']} applications, {last['path']}"
        + (f", error: {last['error']}" if last["error"] else "")
    )
    return "\n".join(lines)


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {key}" for key, n in sorted(counts.items()))


def print_stats(stats: list) -> None:
    """The poll counts per mailbox as a table on the terminal."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="intake poll")
    columns = ("mailbox", "fetched", "stored", "duplicates", "failed", "applications")

    for column in columns:
        table.add_column(column, justify="left" if column == "mailbox" else "right")
    for row in stats:
        table.add_row(*(str(getattr(row, column)) for column in columns))
    Console().print(table)
