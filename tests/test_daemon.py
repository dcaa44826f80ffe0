"""`intake run` as a real subprocess against the real IMAP server and the SMTP sink."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlmodel import select

from intake import config as intake_config
from intake.daemon import scheduler
from intake.daemon.pipeline import poll_one
from intake.daemon.scheduler import Daemon
from intake.decisions.rules import DEFAULT_DIR
from intake.demo.servers import append_messages
from intake.replies.messages import DEFAULT_TEMPLATES
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import Application, Checkpoint, RawMessage
from tests.test_replies_e2e import application

PASSWORD_ENV = "INTAKE_TEST_IMAP_PASSWORD"
pytestmark = pytest.mark.xdist_group("daemons")  # never beside the chaos campaign


class Running:
    """An `intake run` process whose JSON log lines are read as they come."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "intake",
                "--config",
                str(config),
                "--log-format",
                "json",
                "run",
            ],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        self.events: list[dict] = []
        self._lines: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            try:
                self._lines.put(json.loads(line))  # every line must be JSON
            except ValueError:
                self._lines.put({"event": "not-json", "line": line})

    def wait_for(self, name: str, timeout: float = 20.0, **fields) -> dict:
        deadline = time.monotonic() + timeout
        for seen in self.events:
            if seen["event"] == name and fields.items() <= seen.items():
                return seen
        while time.monotonic() < deadline:
            try:
                seen = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.events.append(seen)
            if seen["event"] == name and fields.items() <= seen.items():
                return seen
        raise AssertionError(f"no {name} {fields} within {timeout}s; saw {self.events}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            time.sleep(2)
            while not self._lines.empty():
                self.events.append(self._lines.get())
            raise AssertionError(f"no exit 30 s after SIGTERM; saw {self.events[-40:]}") from None
        self.wait_for("stopped", timeout=5)
        return code


@pytest.fixture
def daemon_config(tmp_path, imap_server, imap_folder, smtp):
    def write(idle: bool) -> Path:
        account = imap_server.account
        path = tmp_path / "config.toml"
        path.write_text(
            f'[database]\nurl = "sqlite:///{tmp_path / "intake.db"}"\n'
            f'[rules]\ndir = "{DEFAULT_DIR}"\n'
            f'[replies]\ntemplates = "{DEFAULT_TEMPLATES}"\n'
            f"[daemon]\nsend_seconds = 3600\n"
            f'[digest]\nschedule = "0 8 * * *"\n'
            f'[mailboxes.careers]\nhost = "{account.host}"\nport = {account.port}\n'
            f'tls = "none"\nusername = "{account.username}"\npassword_env = "{PASSWORD_ENV}"\n'
            f'folder = "{imap_folder}"\naddress = "careers@numenta.com"\n'
            f"idle = {str(idle).lower()}\npoll_seconds = {3600 if idle else 1}\n"
            f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\ntls = "none"\n'
            f'from_address = "Numenta Careers <careers@numenta.com>"\n'
        )
        return path

    env = {**os.environ, PASSWORD_ENV: imap_server.account.password}
    return write, env


def stored(config: Path) -> list[RawMessage]:
    engine = make_engine(f"sqlite:///{config.parent / 'intake.db'}")
    with open_session(engine) as session:
        return list(session.exec(select(RawMessage).order_by(RawMessage.uid)))


def test_idle_daemon_acknowledges_within_seconds_and_stops_cleanly(
    daemon_config, imap_server, imap_folder, smtp
):
    write, env = daemon_config
    config = write(idle=True)
    daemon = Running(config, env)
    try:
        daemon.wait_for("idle_started")
        daemon.wait_for("poll", mailbox="careers")  # the first poll found nothing
        append_messages(
            imap_server.account, imap_folder, [application("Ana One", "ana@example.org", n=1)]
        )
        # by IDLE: poll_seconds is an hour (how fast: bench/bench_idle.py)
        assert smtp.wait_for(1, timeout=15), "no acknowledgement"
        logged = daemon.wait_for("message", mailbox="careers", outcome="complete")
        assert logged["uid"] and logged["application"] and "message_id" not in logged
        second = subprocess.run(
            [sys.executable, "-m", "intake", "--config", str(config), "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2
        assert "another intake daemon (pid" in second.stderr
    finally:
        code = daemon.stop()
    assert code == 0
    rows = stored(config)
    assert [(r.status, r.kind) for r in rows] == [("processed", "application")]
    engine = make_engine(f"sqlite:///{config.parent / 'intake.db'}")
    with open_session(engine) as session:
        assert session.get(Checkpoint, "careers").last_uid == rows[-1].uid
        assert session.exec(select(Application)).one().status == "complete"


def test_polling_daemon_stores_mail_appended_while_it_runs(
    daemon_config, imap_server, imap_folder, smtp
):
    write, env = daemon_config
    config = write(idle=False)
    daemon = Running(config, env)
    try:
        daemon.wait_for("started")
        raws = [
            application(f"Person {n}", f"p{n}@example.org", n=n, login=f"p{n}") for n in range(3)
        ]
        append_messages(imap_server.account, imap_folder, raws)
        smtp.wait_for(3, timeout=20)
    finally:
        assert daemon.stop() == 0
    assert len(smtp.messages) == 3
    assert [r.status for r in stored(config)] == ["processed"] * 3


def test_sigterm_in_the_middle_of_a_batch_leaves_nothing_half_done(
    daemon_config, imap_server, imap_folder, smtp, monkeypatch
):
    """SIGTERM while the poll holds a batch of 40: the message in hand is finished, the
    three done are committed and checkpointed, nothing else is stored; the process would
    exit 0. The signal is sent from inside the poll, before its fourth message, and the
    poll waits until the handler has run, so it lands there on any machine."""
    write, env = daemon_config
    config = write(idle=False)
    raws = [application(f"Person {n}", f"p{n}@example.org", n=n, login=f"p{n}") for n in range(40)]
    append_messages(imap_server.account, imap_folder, raws)
    monkeypatch.setenv(PASSWORD_ENV, imap_server.account.password)
    monkeypatch.setattr(scheduler, "poll_one", signalled_before(4))
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        Daemon(intake_config.load(config)).run()  # returns once the stop is handled
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    rows = stored(config)
    assert len(rows) == 3 and {r.status for r in rows} == {"processed"}
    engine = make_engine(f"sqlite:///{config.parent / 'intake.db'}")
    with open_session(engine) as session:
        assert session.get(Checkpoint, "careers").last_uid == rows[-1].uid
    daemon = Running(config, env)  # a restart takes up exactly where the first one stopped
    daemon.wait_for("poll", mailbox="careers", backlog=0, timeout=60)
    assert daemon.stop() == 0
    rows = stored(config)
    assert len(rows) == 40 and len({r.uid for r in rows}) == 40


def test_a_failing_job_is_logged_as_an_event_and_the_daemon_goes_on(tmp_path, monkeypatch, caplog):

    monkeypatch.setenv(PASSWORD_ENV, "x")
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "intake.db"}"\n[rules]\ndir = "{DEFAULT_DIR}"\n'
        f'[mailboxes.careers]\nhost = "127.0.0.1"\nusername = "u"\n'
        f'password_env = "{PASSWORD_ENV}"\n'
    )
    daemon = Daemon(intake_config.load(path))

    def broken() -> None:
        raise RuntimeError("database is locked")

    daemon._job(broken)
    [failed] = [r for r in caplog.records if getattr(r, "event", None) == "job_failed"]
    assert failed.fields == {"job": "broken", "error": "RuntimeError('database is locked')"}
    assert daemon.jobs_running == 0


def signalled_before(message: int):
    """poll_one that sends this process SIGTERM when it is about to take `message` (the
    poll asks `stopping` before each), then waits for the daemon's handler to set its
    stop flag: the stop lands exactly there."""

    def poll(box, engine, processor, *, stopping, committed):
        asked = 0

        def stopping_here() -> bool:
            nonlocal asked
            asked += 1
            if asked == message:
                os.kill(os.getpid(), signal.SIGTERM)
                deadline = time.monotonic() + 10
                while not stopping() and time.monotonic() < deadline:
                    time.sleep(0.01)
            return stopping()

        return poll_one(box, engine, processor, stopping=stopping_here, committed=committed)

    return poll


def test_news_while_the_mailbox_is_being_polled_makes_it_poll_again_at_once(
    daemon_config, imap_server, monkeypatch
):
    """IDLE news that comes while the mailbox's poll runs (APScheduler skips a run while
    one is going: the wake was lost, and the mail waited for poll_seconds, an hour here)
    makes the poll go round once more as soon as it ends."""
    write, _ = daemon_config
    monkeypatch.setenv(PASSWORD_ENV, imap_server.account.password)
    daemon = Daemon(intake_config.load(write(idle=True)))
    inside, release, rounds = threading.Event(), threading.Event(), []

    def held(*args, **kwargs):
        rounds.append(time.monotonic())
        if len(rounds) == 1:  # the first poll, at start: held until the news has come
            inside.set()
            release.wait(10)
        return poll_one(*args, **kwargs)

    monkeypatch.setattr(scheduler, "poll_one", held)
    daemon._schedule()
    daemon.scheduler.start()
    try:
        assert inside.wait(10)
        daemon.wake("poll:careers")  # what the watcher does on EXISTS
        time.sleep(0.2)  # APScheduler has looked at the job, found it running, skipped it
        release.set()
        deadline = time.monotonic() + 5
        while len(rounds) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(rounds) == 2, "the news during the poll was lost"
    finally:
        release.set()
        daemon.stop.set()
        daemon._drain()


def idle_mailboxes(tmp: Path, account, smtp_port: int, folders: dict[str, str]) -> Path:
    """A config of IDLE mailboxes (name -> folder, made now) whose acknowledgements can
    only come by IDLE: poll_seconds and send_seconds are an hour."""
    boxes = "".join(
        f'[mailboxes.{name}]\nhost = "{account.host}"\nport = {account.port}\ntls = "none"\n'
        f'username = "{account.username}"\npassword_env = "{PASSWORD_ENV}"\n'
        f'folder = "{folder}"\naddress = "{name}@numenta.com"\nidle = true\npoll_seconds = 3600\n'
        for name, folder in folders.items()
    )
    config = tmp / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp / "intake.db"}"\n[rules]\ndir = "{DEFAULT_DIR}"\n'
        f'[replies]\ntemplates = "{DEFAULT_TEMPLATES}"\nmax_per_sender = 1000\n'
        f'[daemon]\nsend_seconds = 3600\n[digest]\nschedule = ""\n{boxes}'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\ntls = "none"\n'
        f'from_address = "Numenta Careers <careers@numenta.com>"\n'
    )
    for folder in folders.values():  # the folders exist before the watchers select them
        append_messages(account, folder, [])
    return config


def test_two_mailboxes_receiving_at_once_are_both_acknowledged_by_idle(
    tmp_path, imap_server, imap_folder, smtp
):
    """Mail APPENDed to two IDLE mailboxes at the same moment: the send after one poll is
    never skipped because the other's is running, and neither waits for send_seconds."""
    account = imap_server.account
    folders = {"careers": f"{imap_folder}-a", "interns": f"{imap_folder}-b"}
    config = idle_mailboxes(tmp_path, account, smtp.port, folders)
    env = {**os.environ, PASSWORD_ENV: account.password}
    daemon = Running(config, env)
    try:
        for name in folders:
            daemon.wait_for("idle_started", mailbox=name)
            daemon.wait_for("poll", mailbox=name)
        mails = {
            "careers": application("Ana One", "ana@example.org", n=1),
            "interns": application("Ben Two", "ben@example.org", n=2),
        }
        threads = [
            threading.Thread(target=append_messages, args=(account, folders[name], [raw]))
            for name, raw in mails.items()
        ]
        for thread in threads:
            thread.start()
        # by IDLE, and neither send waiting for the other poll: poll_seconds and
        # send_seconds are an hour (how fast: bench/bench_idle.py, not a racing assert)
        assert len(smtp.wait_for(2, timeout=20)) == 2, "not both acknowledged"
        assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [
            "ana@example.org",
            "ben@example.org",
        ]
    finally:
        assert daemon.stop() == 0
    assert not [e for e in daemon.events if e["event"] == "job_failed"]
