"""`intake run`: the long-running daemon (APScheduler 3.x).

One polling job per mailbox (never two at once, missed runs coalesced), the digest on
its cron schedule and, when `[retention]` asks for it, the purge daily, in APScheduler;
the outbox sender in a thread of its own that sends at once whenever a poll commits mail
(and every `send_seconds` for retries): requests that come while it sends make one more
round right after, so none is skipped or kept waiting for the next interval. Every job
runs through one wrapper (failures are `job_failed` events; SIGTERM waits for the
running ones). SIGTERM/SIGINT set a stop flag: the poll in
progress finishes the message in hand, commits and checkpoints; then the jobs are
drained and the process exits 0. One daemon per database: a second one refuses to start.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobEvent
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.engine import Engine

from intake.config import Config, MailboxConfig
from intake.daemon.pipeline import poll_one, processor_for
from intake.daemon.pipeline import purge as apply_retention
from intake.daemon.processing import reading_workers
from intake.errors import IntakeError
from intake.extraction import worker
from intake.logs import event
from intake.mail.watch import Watcher
from intake.replies import outbox
from intake.reports import digest
from intake.storage.db import make_engine

log = logging.getLogger(__name__)
WAKE_RETRY = timedelta(seconds=0.05)  # a poll ending as it was woken: ask again after this
LOCK_KEY = 0x1A7A6E  # PostgreSQL advisory lock id for "one intake daemon per database"


class Daemon:
    def __init__(self, cfg: Config, *, wait: bool = False) -> None:
        cfg.require_secrets(cfg.mailboxes_named(None), smtp=True)  # at start, all at once
        self.cfg, self.wait = cfg, wait
        self.stop = threading.Event()
        self.engine = make_engine(cfg.database_url)
        self.processor = processor_for(cfg)
        # a worker per reading thread, importing the parsers while we connect
        worker.prestart(reading_workers(cfg.documents.workers), cfg.limits.memory_mb)
        self.scheduler = BackgroundScheduler(
            timezone=ZoneInfo(cfg.digest.timezone),
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.watchers: list[Watcher] = []
        # Poll jobs running now, and those asked for while running (they go round once
        # more): APScheduler skips a run while one is going, so such a wake was lost.
        self.wakes = threading.Lock()
        self.polling: set[str] = set()
        self.again: set[str] = set()
        self.running = threading.Condition()
        self.jobs_running = 0
        self.send_requested = threading.Event()
        self.sender = threading.Thread(target=self._sender, name="outbox", daemon=True)

    def run(self) -> None:
        """Until SIGTERM or SIGINT."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop.set())
        with single_instance(self.engine, self.stop if self.wait else None):
            self._schedule()
            self.scheduler.start()
            if self._sends:
                self.sender.start()
            for watcher in self.watchers:
                watcher.start()
            event(
                log,
                "started",
                pid=os.getpid(),
                mailboxes=len(self.cfg.mailboxes),
                jobs=" ".join(job.id for job in self.scheduler.get_jobs()),
            )
            self.stop.wait()
            event(log, "stopping", reason="signal")
            self.send_requested.set()  # wakes the sender, which sees the stop and ends
            self._drain()
            for watcher in self.watchers:
                watcher.join(timeout=10)
            event(log, "stopped")

    def _drain(self) -> None:
        """Stop starting jobs, let the running ones finish, then shut down. (Shutting
        APScheduler 3 down while a job calls into it can deadlock on its locks.)"""
        self.scheduler.pause()
        if self.sender.is_alive():
            self.sender.join()
        with self.running:
            self.running.wait_for(lambda: self.jobs_running == 0)
        self.scheduler.shutdown(wait=True)

    def _job(self, func, *args) -> None:
        """Every job runs through here, so the daemon knows when none is running."""
        with self.running:
            self.jobs_running += 1
        try:
            if not self.stop.is_set():
                func(*args)
        except Exception as exc:  # a bug or the database down: log it, the next run retries
            log.error(
                "job %s failed",
                func.__name__,
                exc_info=True,
                extra={"event": "job_failed", "fields": {"job": func.__name__, "error": repr(exc)}},
            )
        finally:
            with self.running:
                self.jobs_running -= 1
                self.running.notify_all()

    def _schedule(self) -> None:
        self.scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
        now = datetime.now(UTC)
        for box in self.cfg.mailboxes:
            self.scheduler.add_job(
                self._job,
                IntervalTrigger(seconds=box.poll_seconds),
                args=[self.poll, box],
                id=f"poll:{box.name}",
                next_run_time=now,
            )
            if box.idle:
                self.watchers.append(
                    Watcher(box, lambda b=box: self.wake(f"poll:{b.name}"), self.stop)
                )
        if self.cfg.digest.schedule:
            trigger = CronTrigger.from_crontab(
                self.cfg.digest.schedule, timezone=ZoneInfo(self.cfg.digest.timezone)
            )
            self.scheduler.add_job(self._job, trigger, args=[self.digest], id="digest")
        if self.cfg.retention.deletes:
            self.scheduler.add_job(
                self._job,
                IntervalTrigger(days=1),
                args=[self.purge],
                id="purge",
                next_run_time=now,
            )

    def wake(self, job_id: str) -> None:
        """Run a job as soon as possible; a poll asked for while it runs goes round once
        more when it ends."""
        if not self.stop.is_set():
            self._ask(job_id, datetime.now(UTC))

    def _ask(self, job_id: str, when: datetime) -> None:
        """A poll running now goes round once more; any other job runs at `when`."""
        with self.wakes:
            if job_id in self.polling:
                self.again.add(job_id)
                return
        with contextlib.suppress(JobLookupError):
            self.scheduler.modify_job(job_id, next_run_time=when)

    def _skipped(self, skipped: JobEvent) -> None:
        """APScheduler skipped a run because the job was still running. A poll that has
        not yet looked at `again` for the last time will; one past it (ending, still
        counted by APScheduler) is asked again in a moment."""
        if skipped.job_id.startswith("poll:") and not self.stop.is_set():
            self._ask(skipped.job_id, datetime.now(UTC) + WAKE_RETRY)

    def poll(self, box: MailboxConfig) -> None:
        job_id = f"poll:{box.name}"
        with self.wakes:
            self.polling.add(job_id)
        try:
            while self._poll_round(box, job_id):
                pass
        finally:
            with self.wakes:
                self.polling.discard(job_id)

    def _poll_round(self, box: MailboxConfig, job_id: str) -> bool:
        """One poll; True if another must follow at once: asked for meanwhile (IDLE), or
        max_per_poll left a backlog. The decision and leaving `polling` are one step, so
        a wake is either seen here or finds the poll gone."""
        stats = poll_one(
            box, self.engine, self.processor, stopping=self.stop.is_set, committed=self._stored
        )
        with self.wakes:
            asked = job_id in self.again or bool(stats.backlog and not stats.error)
            self.again.discard(job_id)
            again = asked and not self.stop.is_set()
            if not again:
                self.polling.discard(job_id)
        return again

    def _stored(self, stats) -> None:
        """A batch is committed: its acknowledgements go now, not at the next interval."""
        if stats.stored:
            self.send_requested.set()

    @property
    def _sends(self) -> bool:
        return bool(self.cfg.smtp and not self.cfg.smtp.dry_run)

    def _sender(self) -> None:
        """Send when asked, or every send_seconds (retries); coalesced, never skipped."""
        while not self.stop.is_set():
            self.send_requested.wait(timeout=self.cfg.daemon.send_seconds)
            self.send_requested.clear()
            if not self.stop.is_set():
                self._job(self.send)

    def send(self) -> None:
        outbox.send_due(self.engine, self.cfg.smtp, datetime.now(UTC))

    def purge(self) -> None:
        """Retention, daily (and at start): idempotent, so a missed or repeated run is harmless."""
        apply_retention(self.engine, self.cfg, datetime.now(UTC))

    def digest(self) -> None:
        digest.run(self.cfg, self.engine, self.processor.postings, datetime.now(UTC))


WAIT_SECONDS = 5.0


@contextlib.contextmanager
def single_instance(engine: Engine, stop: threading.Event | None = None) -> Iterator[None]:
    """One daemon per database. Without `stop`, a second one is refused; with it, the
    second waits (a standby) until the lock is free or `stop` is set. The kernel or
    PostgreSQL releases the lock when its holder dies, so a crash never leaves it stuck."""
    release = _try_lock(engine)
    if release is None and stop is not None:
        event(log, "waiting_for_lock", database=engine.url.database)
        while release is None and not stop.wait(WAIT_SECONDS):
            release = _try_lock(engine)
    if release is None:
        if stop is not None and stop.is_set():
            raise IntakeError("stopped while waiting for the other daemon to finish")
        raise IntakeError(
            f"another intake daemon{_holder(engine)} is running against {engine.url.database}"
            " (`intake run --wait` waits for it to stop)"
        )
    try:
        yield
    finally:
        release()


def _holder(engine: Engine) -> str:
    """ " (pid N)" from a SQLite lock file, when it says."""
    try:
        pid = Path(f"{engine.url.database}.lock").read_text().strip()
    except (OSError, TypeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def _try_lock(engine: Engine):
    """Take the lock without waiting: a function that lets go of it, or None if held."""
    if engine.dialect.name != "sqlite":
        connection = engine.connect()
        held = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})
        if held.scalar():

            def release() -> None:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                connection.close()

            return release
        connection.close()
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return lambda: None
    fd = os.open(f"{database}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return lambda: os.close(fd)
