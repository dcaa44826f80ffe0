"""Several workers on several machines, sharing one PostgreSQL through procrastinate.

With `[workers] engine = "procrastinate"`, `intake run` is one worker of the fleet; any
number may run, anywhere. The work is procrastinate jobs in the same database:

- `intake.poll(mailbox)` fetches what is new and stores the raw messages, batch by batch
  (commit, then checkpoint, as the daemon does), without reading them; after each commit it
  defers one `intake.process` job per stored message. Jobs of one mailbox share the lock
  `mailbox:<name>`, so exactly one worker polls a mailbox at a time (its lease).
- `intake.process(raw_id)` reads the message in an isolated worker, decides and writes in
  one transaction with the row locked (`FOR UPDATE`), queueing its reply in the outbox.
  Jobs of one sender share a lock (`sender:` and a hash of the From address), and
  procrastinate runs the jobs of a lock in the order they were deferred: a follow-up is
  processed after the application it continues. A message processed already is left
  alone, so a job run twice is harmless.
- `intake.send()` sends the outbox (lock `outbox`: one sender at a time).
- `intake.tick()` runs every few seconds on one worker: it defers each mailbox's poll when
  its interval has come (a queueing lock keeps one waiting at most), sends what is due,
  gives the jobs of a worker silent for `[workers] lease_seconds` back to the others (a
  killed worker loses its mailboxes then), and defers processing for any message stored
  by a worker that died between its commit and its deferring.

Unique constraints make a double store (the dedupe key) or a second reply (one outbox row
per message and role) impossible even if a lease were held twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import make_url
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from intake.config import Config
from intake.errors import ConfigError
from intake.logs import event
from intake.replies import outbox
from intake.storage import models
from intake.storage.db import make_engine
from intake.storage.db import session as open_session

log = logging.getLogger(__name__)
TICK_CRON = "* * * * * */5"  # croniter's sixth field: seconds


def conninfo(url: str) -> str:
    """The libpq address of a PostgreSQL database URL (SQLAlchemy's `+psycopg` dropped)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(
            f"database.url: workers share a PostgreSQL database ([workers] needs one; got "
            f"{parsed.get_backend_name()}); SQLite runs the in-process daemon, `intake run`"
        )
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class Fleet:
    """The procrastinate app of one config, with intake's tasks registered on it."""

    def __init__(self, cfg: Config, clock=lambda: datetime.now(UTC)) -> None:
        import procrastinate

        from intake.daemon.pipeline import processor_for

        self.cfg, self.clock = cfg, clock
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=conninfo(cfg.database_url))
        )
        self.engine: Engine = make_engine(cfg.database_url)
        self.processor = processor_for(cfg)
        self._register()

    def _register(self) -> None:
        app = self.app
        app.task(name="intake.poll", pass_context=False)(self.poll)
        app.task(name="intake.process", pass_context=False)(self.process)
        app.task(name="intake.send", pass_context=False)(self.send)
        tick = app.task(name="intake.tick", pass_context=True)(self.tick)
        app.periodic(cron=TICK_CRON, periodic_id="tick")(tick)

    # --- the tasks -------------------------------------------------------------------

    def poll(self, mailbox: str) -> dict:
        """Store what is new in one mailbox; defer the reading of each stored message."""
        from intake.daemon.pipeline import poll_one

        box = self.cfg.mailbox(mailbox)
        stored: list[tuple[int, str | None]] = []
        deferring = Deferring(self.processor, stored)
        stats = poll_one(
            box, self.engine, deferring, committed=lambda _stats: self._defer_stored(stored)
        )
        self._defer_stored(stored)
        return {"mailbox": mailbox, "stored": stats.stored, "error": stats.error}

    def process(self, raw_id: int) -> str:
        """Read, decide and write one stored message (once: the row is locked and must
        still be `stored`); then send if a reply was queued."""
        with open_session(self.engine) as session:
            row = session.exec(
                select(models.RawMessage).where(models.RawMessage.id == raw_id).with_for_update()
            ).first()
            if row is None or row.status != "stored":
                return "already processed"
            self.processor(session, row)
            session.commit()
            queued = session.exec(
                select(models.Outbox.id).where(
                    models.Outbox.trigger_id == raw_id, models.Outbox.status == "pending"
                )
            ).first()
        if queued is not None:
            self._defer("intake.send", lock="outbox", queueing_lock="send")
        return row.status

    def send(self) -> dict:
        if not self.cfg.smtp or self.cfg.smtp.dry_run:
            return {"sent": 0}
        stats = outbox.send_due(self.engine, self.cfg.smtp, self.clock())
        return {"sent": stats.sent}

    async def tick(self, context, timestamp: int) -> None:
        """Polls that are due, the outbox, and what dead workers left."""
        await self._recover(context)
        now = self.clock()
        for box in self.cfg.mailboxes:
            if _due(self.engine, box.name, box.poll_seconds, now):
                await self._defer_async(
                    "intake.poll",
                    lock=f"mailbox:{box.name}",
                    queueing_lock=f"poll:{box.name}",
                    mailbox=box.name,
                )
        await self._defer_async("intake.send", lock="outbox", queueing_lock="send")
        lost = now - timedelta(seconds=self.lease_seconds)
        for raw_id, sender in _left_stored(self.engine, lost):
            await self._defer_async("intake.process", **_processing(raw_id, sender))

    @property
    def lease_seconds(self) -> float:
        return self.cfg.workers.lease_seconds

    async def _recover(self, context) -> None:
        """Jobs of workers silent for lease_seconds go back to the queue (their locks with
        them: a dead worker's mailboxes are polled by another)."""
        manager = self.app.job_manager
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=self.lease_seconds):
            await manager.retry_job(job)
            event(log, "job_recovered", logging.WARNING, job=job.id, task=job.task_name)

    # --- deferring ---------------------------------------------------------------------

    def _defer_stored(self, stored: list[tuple[int, str | None]]) -> None:
        while stored:
            self._defer_process(*stored.pop(0))

    def _defer_process(self, raw_id: int, sender: str | None) -> None:
        self._defer("intake.process", **_processing(raw_id, sender))

    def _defer(self, task: str, *, lock: str | None, queueing_lock: str, **args) -> None:
        """Defer a job, unless one with the queueing lock waits already (it will do the
        same work)."""
        from procrastinate.exceptions import AlreadyEnqueued

        with contextlib.suppress(AlreadyEnqueued):
            self.app.configure_task(task, lock=lock, queueing_lock=queueing_lock).defer(**args)

    async def _defer_async(self, task: str, *, lock: str | None, queueing_lock: str, **args):
        from procrastinate.exceptions import AlreadyEnqueued

        deferrer = self.app.configure_task(task, lock=lock, queueing_lock=queueing_lock)
        with contextlib.suppress(AlreadyEnqueued):
            await deferrer.defer_async(**args)

    def run(self, concurrency: int) -> None:
        """One worker, until SIGTERM/SIGINT (the job in hand is finished first)."""
        apply_schema(self.engine)
        self.app.run_worker(
            concurrency=concurrency,
            update_heartbeat_interval=max(1.0, self.lease_seconds / 4),
            stalled_worker_timeout=self.lease_seconds,
            delete_jobs="successful",
        )


class Deferring:
    """A processor that stores without reading: the message is read by `intake.process`,
    on whichever worker takes it. Collects the stored rows for deferring."""

    def __init__(self, processor, stored: list[tuple[int, str | None]]) -> None:
        self.limits, self.clock = processor.limits, processor.clock
        self.stored = stored

    def read_ahead(self, raws):
        return {}

    def __call__(self, session, raw: models.RawMessage, ahead=None) -> None:
        session.flush()  # its id, for the job
        self.stored.append((raw.id, sender_of(raw.raw)))


def sender_of(raw: bytes) -> str | None:
    """The From address, from the headers alone (the message is read later, elsewhere):
    what orders a person's messages."""
    from email.parser import BytesHeaderParser
    from email.utils import parseaddr

    try:
        found = BytesHeaderParser().parsebytes(raw).get("From", "")
        return parseaddr(str(found))[1].lower() or None
    except Exception:  # hostile headers: the message is ordered on its own
        return None


def apply_schema(engine: Engine) -> None:
    """procrastinate's tables, made once in intake's database (workers starting together
    take turns: an advisory lock for the transaction)."""
    from procrastinate.schema import SchemaManager

    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('intake: procrastinate'))")
        if conn.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar() is None:
            conn.connection.dbapi_connection.execute(SchemaManager.get_schema())


def _processing(raw_id: int, sender: str | None) -> dict:
    """A message's processing job: after the earlier messages of its sender, once. The
    lock names the sender by a hash: job rows are not where an address should stay."""
    person = hashlib.sha256(sender.lower().encode()).hexdigest()[:20] if sender else raw_id
    return {
        "lock": f"sender:{person}",
        "queueing_lock": f"process:{raw_id}",
        "raw_id": raw_id,
    }


def _due(engine: Engine, mailbox: str, every: float, now: datetime) -> bool:
    with open_session(engine) as session:
        state = session.get(models.MailboxState, mailbox)
    if state is None or state.last_poll_at is None:
        return True
    last = state.last_poll_at
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    return now - last >= timedelta(seconds=every)


def _left_stored(engine: Engine, before: datetime) -> list[tuple[int, str | None]]:
    """Messages stored before `before` and still not processed: their deferring was lost
    with a worker (between its commit and its defer)."""
    with open_session(engine) as session:
        return [
            (raw_id, sender_of(raw))
            for raw_id, raw in session.exec(
                select(models.RawMessage.id, models.RawMessage.raw)
                .where(
                    models.RawMessage.status == "stored",
                    col(models.RawMessage.fetched_at) < before,
                )
                .order_by(models.RawMessage.id)
            )
        ]
