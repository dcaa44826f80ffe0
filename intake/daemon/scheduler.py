"""`intake run`: the long-running daemon (APScheduler 3.x).

One polling job per mailbox (never two at once, missed runs coalesced), the outbox
sender, and the digest on its cron schedule. SIGTERM/SIGINT set a stop flag: the poll in
progress finishes the message in hand, commits and checkpoints; then the scheduler
shuts down waiting for its jobs, and the process exits 0. One daemon per database: a
second one refuses to start.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.engine import Engine

from intake.config import Config, MailboxConfig
from intake.daemon.pipeline import poll_one, processor_for
from intake.errors import IntakeError
from intake.logs import event
from intake.mail.watch import Watcher
from intake.replies import outbox
from intake.reports import digest
from intake.storage.db import make_engine

log = logging.getLogger(__name__)
LOCK_KEY = 0x1A7A6E  # PostgreSQL advisory lock id for "one intake daemon per database"


class Daemon:
    def __init__(self, cfg: Config, *, wait: bool = False) -> None:
        for box in cfg.mailboxes:
            box.password()  # fail at start, not at the first poll
        if not cfg.mailboxes:
            raise IntakeError(f"{cfg.base_dir}: no [mailboxes.NAME] table in the config")
        self.cfg, self.wait = cfg, wait
        self.stop = threading.Event()
        self.engine = make_engine(cfg.database_url)
        self.processor = processor_for(cfg)
        self.scheduler = BackgroundScheduler(
            timezone=ZoneInfo(cfg.digest.timezone),
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.watchers: list[Watcher] = []
        self.running = threading.Condition()
        self.jobs_running = 0

    def run(self) -> None:
        """Until SIGTERM or SIGINT."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop.set())
        with single_instance(self.engine, self.stop if self.wait else None):
            self._schedule()
            self.scheduler.start()
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
            self._drain()
            for watcher in self.watchers:
                watcher.join(timeout=10)
            event(log, "stopped")

    def _drain(self) -> None:
        """Stop starting jobs, let the running ones finish, then shut down. (Shutting
        APScheduler 3 down while a job calls into it can deadlock on its locks.)"""
        self.scheduler.pause()
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
        now = datetime.now(UTC)
        for box in self.cfg.mailboxes:
            self.scheduler.add_job(
                self.poll,
                IntervalTrigger(seconds=box.poll_seconds),
                args=[box],
                id=f"poll:{box.name}",
                next_run_time=now,
            )
            if box.idle:
                self.watchers.append(
                    Watcher(box, lambda b=box: self.wake(f"poll:{b.name}"), self.stop)
                )
        smtp = self.cfg.smtp
        if smtp and not smtp.dry_run:
            self.scheduler.add_job(
                self.send,
                IntervalTrigger(seconds=self.cfg.daemon.send_seconds),
                id="outbox",
                next_run_time=now,
            )
        if self.cfg.digest.schedule:
            trigger = CronTrigger.from_crontab(
                self.cfg.digest.schedule, timezone=ZoneInfo(self.cfg.digest.timezone)
            )
            self.scheduler.add_job(self._job, trigger, args=[self.digest], id="digest")

    def wake(self, job_id: str) -> None:
        """Run a job as soon as possible (again after the current run, if one is going)."""
        if self.stop.is_set():
            return
        with contextlib.suppress(JobLookupError):  # e.g. no outbox job in dry-run mode
            self.scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))

    def poll(self, box: MailboxConfig) -> None:
        stats = poll_one(box, self.engine, self.processor, stopping=self.stop.is_set)
        if stats.stored:
            self.wake("outbox")  # acknowledge now, not at the next send interval
        if stats.backlog:
            self.wake(f"poll:{box.name}")  # max_per_poll left some: go on soon

    def send(self) -> None:
        outbox.send_due(self.engine, self.cfg.smtp, datetime.now(UTC))

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
