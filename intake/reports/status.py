"""`intake status`: what an operator checks first, read from the database alone.

`gather` is the `--json` document (its keys are a stable interface for monitoring:
`SCHEMA` changes when they do); `as_text` is for people; `as_prometheus` is the text
exposition format for a Prometheus scrape (node_exporter's textfile collector, or a cron
job writing it where a web server serves it).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, func, select

from intake.config import Config
from intake.storage import models

SCHEMA = 1


def gather(session: Session, cfg: Config, now: datetime | None = None) -> dict:
    """Per mailbox the checkpoint and last poll; outbox, quarantine, digest, applications."""
    now = now or datetime.now(UTC)
    return {
        "schema": SCHEMA,
        "generated_at": _iso(now),
        "mailboxes": [_mailbox(session, box.name, now) for box in cfg.mailboxes],
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


def _mailbox(session: Session, name: str, now: datetime) -> dict:
    checkpoint = session.get(models.Checkpoint, name)
    state = session.get(models.MailboxState, name)
    last_poll = _aware(state.last_poll_at) if state else None
    return {
        "mailbox": name,
        "state": _state(state),
        "uidvalidity": checkpoint.uidvalidity if checkpoint else None,
        "last_uid": checkpoint.last_uid if checkpoint else None,
        "last_poll": _iso(last_poll),
        "last_poll_age_seconds": round((now - last_poll).total_seconds()) if last_poll else None,
        "last_success": _iso(state.last_success_at) if state else None,
        "last_error": state.last_error if state else None,
        "last_error_at": _iso(state.last_error_at) if state else None,
        # only a poll that got through knows what is left
        "backlog": state.backlog if state and state.last_success_at else None,
    }


def _state(state: models.MailboxState | None) -> str:
    """never_polled, never_connected (every poll failed), failing (the last poll failed
    after earlier ones got through) or ok."""
    if state is None:
        return "never_polled"
    if state.last_success_at is None:
        return "never_connected"
    failing = state.last_error_at and _aware(state.last_error_at) > _aware(state.last_success_at)
    return "failing" if failing else "ok"


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


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return _aware(moment).isoformat(timespec="seconds") if moment else None


def as_text(status: dict) -> str:
    lines = []
    for box in status["mailboxes"]:
        lines.append(f"mailbox {box['mailbox']}: {_mailbox_line(box)}")
        if box["last_error"] and box["state"] != "never_connected":
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


def _mailbox_line(box: dict) -> str:
    if box["state"] == "never_polled":
        return "never polled"
    if box["state"] == "never_connected":
        return f"never connected ({box['last_poll']}): {box['last_error']}"
    where = f"UIDVALIDITY {box['uidvalidity']}, last UID {box['last_uid']}"
    failing = "; the last poll FAILED" if box["state"] == "failing" else ""
    return (
        f"{where}; polled {box['last_success']}{failing}; "
        f"backlog {box['backlog'] if box['backlog'] is not None else '-'}"
    )


def as_prometheus(status: dict) -> str:
    """The status as Prometheus metrics (text exposition format)."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry()

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(f"intake_{name}", doc, labels, registry=registry)

    up = gauge("mailbox_up", "1 when the last poll got through", ("mailbox",))
    backlog = gauge("mailbox_backlog", "messages left to fetch after the last poll", ("mailbox",))
    age = gauge("mailbox_last_poll_age_seconds", "seconds since the last poll", ("mailbox",))
    for box in status["mailboxes"]:
        up.labels(box["mailbox"]).set(1 if box["state"] == "ok" else 0)
        if box["backlog"] is not None:
            backlog.labels(box["mailbox"]).set(box["backlog"])
        if box["last_poll_age_seconds"] is not None:
            age.labels(box["mailbox"]).set(box["last_poll_age_seconds"])
    outbox = gauge("outbox", "outbox rows by status (failed: to retry by hand)", ("status",))
    for key, count in status["outbox"].items():
        outbox.labels(key).set(count)
    applications = gauge("applications", "applications by status", ("status",))
    for key, count in status["applications"].items():
        applications.labels(key).set(count)
    gauge("quarantined", "messages quarantined with a reason").set(status["quarantined"]["count"])
    return generate_latest(registry).decode()


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {key}" for key, n in sorted(counts.items()))


def print_stats(stats: list) -> None:
    """The poll counts per mailbox as a table on the terminal."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="intake poll")
    columns = ("mailbox", "fetched", "stored", "duplicates", "failed", "applications", "backlog")
    if any(row.forgotten for row in stats):  # mail of forgotten people, not stored
        columns = (*columns[:-1], "forgotten", columns[-1])

    for column in columns:
        table.add_column(column, justify="left" if column == "mailbox" else "right")
    for row in stats:
        table.add_row(*(str(getattr(row, column)) for column in columns))
    Console().print(table)
