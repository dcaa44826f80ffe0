"""Faults with the real servers on loopback: the IMAP server stopped in the middle of a
poll and started again, the connection cut in the middle of a FETCH response and
between FETCH and the commit, SMTP refusing
then down, the SQLite database locked and the database (SQLite, PostgreSQL) read-only
while a poll writes. Nothing is mocked; the faults are injected through the pipeline's
own callables (`committed`, `stopping`, `after_commit`)."""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import func, select

from intake.daemon.pipeline import poll_all, poll_mailbox, poll_one
from intake.demo.servers import ImapAccount, PymapServer, append_messages, free_port
from intake.errors import MailboxError
from intake.mail.mailbox import connect
from intake.mail.watch import Watcher
from intake.replies import outbox
from intake.storage import store
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import Application, MailboxState, Outbox
from tests.conftest import in_ci
from tests.servers import DovecotServer, Proxy, dovecot_binary
from tests.test_pipeline import (
    PASSWORD_ENV,
    PROCESSOR,
    mailbox_config,
    message,
    server_uids,
    stored,
)
from tests.test_replies_e2e import application, aware, make_config, rows

TOTAL = 8  # batches of three: the fault comes after the first
Stop = Callable[[], None]
SECOND = timedelta(seconds=1)


@pytest.fixture
def engine(tmp_path):
    return make_engine(f"sqlite:///{tmp_path / 'intake.db'}")


def checkpoint(engine) -> int | None:
    with open_session(engine) as session:
        found = store.get_checkpoint(session, "careers")
    return found.last_uid if found else None


def count(engine, model) -> int:
    with open_session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def assert_stored_once(engine, last_uid: int) -> None:
    """Every message stored exactly once and processed; the checkpoint on the last UID."""
    rows = stored(engine)
    assert sorted(r.message_id for r in rows) == sorted(
        f"<app-{n}@example.org>" for n in range(TOTAL)
    )
    assert {r.status for r in rows} == {"processed"}
    assert count(engine, Application) == TOTAL
    assert checkpoint(engine) == last_uid


class InSecondBatch:
    """Runs `action` once, after the second batch was fetched and before its first message
    is stored. `stopping` goes to the poll, which asks it between batches and before each
    message; `done` is told of each committed batch (`progress` or `committed`)."""

    def __init__(self, action: Stop, at: int = 2) -> None:
        self.action, self.batches, self.asked, self.fired = action, 0, 0, False
        self.at = at  # 1: between the batches, before the second is fetched

    def done(self, _stats) -> None:
        self.batches += 1

    def stopping(self) -> bool:
        if self.batches == 1:
            self.asked += 1
            if self.asked == self.at:  # the first time is the check between the batches
                self.fired = True
                self.action()
        return False


# -- the IMAP server stopped in the middle of a poll, then started again ---------------------


@contextmanager
def restartable(kind: str) -> Iterator[tuple[ImapAccount, str, Stop, Stop]]:
    """A server of our own (the shared one must live on): (account, folder, stop, start).
    Dovecot keeps its mail across the restart (same UIDVALIDITY and UIDs); pymap keeps it
    in memory, so the new one on the same port gets the mail APPENDed again (new
    UIDVALIDITY, new UIDs: the poll rescans and recognises what it has)."""
    raws = [message(n) for n in range(TOTAL)]
    if kind == "dovecot":
        if dovecot_binary() is None:
            if in_ci():
                pytest.fail("CI=true but dovecot is not installed")
            pytest.skip("dovecot not installed (make test installs it)")
        with DovecotServer() as server:
            account = server.account("test")
            append_messages(account, "INBOX", raws)
            yield account, "INBOX", server.stop, server.start
        return
    servers = [PymapServer().__enter__()]
    account = servers[0].account

    def start() -> None:
        servers.append(PymapServer(account.username, account.password, account.port).__enter__())
        append_messages(account, "INBOX", raws)

    try:
        append_messages(account, "INBOX", raws)
        yield account, "INBOX", lambda: servers[-1].__exit__(), start
    finally:
        servers[-1].__exit__()


@pytest.mark.parametrize("kind", ["dovecot", "pymap"])
def test_imap_server_stopped_mid_poll_then_restarted(kind, engine, monkeypatch, caplog):
    """The server stops after the first batch is committed, when the second was fetched
    ahead and the third is still to FETCH: the poll returns the error (recorded for
    `intake status`, no traceback), the first two batches are stored whole and
    checkpointed, nothing of the third is; after the restart the next poll stores the
    rest, each message once, checkpoint on the last UID."""
    with restartable(kind) as (account, folder, stop, start):
        monkeypatch.setenv(PASSWORD_ENV, account.password)
        box = mailbox_config(account, folder)
        stopped = []

        def committed(stats) -> None:  # after the first batch: the server goes away
            if not stopped:
                stopped.append(stats.stored)
                stop()

        with caplog.at_level(logging.INFO):
            stats = poll_one(box, engine, PROCESSOR, committed=committed)
        assert stopped == [3]
        assert stats.error and "FETCH failed" in stats.error  # reported, nothing raised
        assert not [r for r in caplog.records if r.exc_info]  # and no traceback logged
        with open_session(engine) as session:
            assert session.get(MailboxState, "careers").last_error == stats.error
        rows = stored(engine)
        assert [r.status for r in rows] == ["processed"] * 6  # two batches, whole
        assert count(engine, Application) == 6
        assert checkpoint(engine) == rows[-1].uid

        start()
        again = poll_one(box, engine, PROCESSOR)
        assert again.error is None
        assert again.stored == TOTAL - 6
        assert again.uidvalidity_reset == (kind == "pymap")
        assert_stored_once(engine, max(server_uids(account, folder)))
        assert poll_one(box, engine, PROCESSOR).stored == 0


# -- the connection cut in the middle of a FETCH response --------------------------------------


class CutMidFetch(Proxy):
    """On the client's `nth` body FETCH, passes `keep` bytes of the server's answer, then
    closes both sides (the network, or the server, going away with a message half-sent)."""

    def __init__(self, port: int, nth: int = 2, keep: int = 200) -> None:
        self.nth, self.left, self.fetches = nth, keep, 0
        super().__init__(port)

    def asked(self, data: bytes) -> bytes:
        self.fetches += data.count(b"BODY.PEEK[]")
        return data

    def answered(self, data: bytes) -> bytes:
        if self.fetches < self.nth:
            return data
        kept, self.left = data[: self.left], self.left - len(data[: self.left])
        if not self.left:
            self.cut.set()
        return kept


def test_connection_cut_in_the_middle_of_a_fetch_response(
    imap_server, imap_folder, engine, monkeypatch, caplog
):
    """The second batch's FETCH answer stops half-way (a message half-sent): the poll
    reports it, no traceback; the first batch (fetched before) is stored whole, nothing of
    the second is. Marking the first \\Seen needs the broken connection, so its checkpoint
    waits: the next poll, with the connection whole again, marks it, stores the rest once."""
    account = imap_server.account
    monkeypatch.setenv(PASSWORD_ENV, account.password)
    append_messages(account, imap_folder, [message(n) for n in range(TOTAL)])
    uids = list(server_uids(account, imap_folder))
    proxy = CutMidFetch(account.port)
    cut = mailbox_config(replace(account, port=proxy.port), imap_folder, after_store="mark_seen")
    with caplog.at_level(logging.INFO):
        stats = poll_one(cut, engine, PROCESSOR)
    proxy.close()
    assert proxy.cut.is_set() and proxy.fetches == 2
    assert stats.error and "FETCH failed" in stats.error
    assert not [r for r in caplog.records if r.exc_info]
    assert len(stored(engine)) == 3 and checkpoint(engine) is None
    assert list(server_uids(account, imap_folder).values()) == [False] * TOTAL

    again = poll_one(
        mailbox_config(account, imap_folder, after_store="mark_seen"), engine, PROCESSOR
    )
    assert (again.error, again.fetched, again.duplicates, again.stored) == (
        None,
        TOTAL,
        3,
        TOTAL - 3,
    )
    assert_stored_once(engine, uids[-1])
    assert list(server_uids(account, imap_folder).values()) == [True] * TOTAL


class CutAt(Proxy):
    """Breaks the connection as the client sends `command` (it never reaches the server)."""

    def __init__(self, port: int, command: bytes) -> None:
        self.command = command
        super().__init__(port)

    def asked(self, data: bytes) -> bytes:
        if self.command not in data.upper():
            return data
        self.cut.set()
        self.sever()
        return b""


@pytest.mark.parametrize(
    ("command", "step"),
    [
        (b"EXAMINE", "cannot select folder"),
        (b"UID SEARCH", "UID SEARCH failed"),
        (b"RFC822.SIZE", "FETCH failed"),
    ],
    ids=["select", "search", "sizes"],
)
def test_a_cut_names_the_step_it_broke(
    imap_server, imap_folder, engine, monkeypatch, command, step
):
    """Whichever command the network breaks on, the poll's error (what `intake status`
    shows) names the mailbox and the step, nothing is stored and the next poll works."""
    account = imap_server.account
    monkeypatch.setenv(PASSWORD_ENV, account.password)
    append_messages(account, imap_folder, [message(n) for n in range(2)])
    proxy = CutAt(account.port, command)
    stats = poll_one(
        mailbox_config(replace(account, port=proxy.port), imap_folder), engine, PROCESSOR
    )
    proxy.close()
    assert proxy.cut.is_set()
    assert stats.error.startswith("mailbox careers (") and f"): {step}: " in stats.error
    assert stored(engine) == []
    assert poll_one(mailbox_config(account, imap_folder), engine, PROCESSOR).stored == 2


# -- the IDLE connection broken ----------------------------------------------------------------


def test_a_broken_idle_connection_polls_at_once_and_idles_again_within_seconds(
    imap_server, imap_folder, monkeypatch
):
    """What the server was saying when IDLE broke may be news: the mailbox is polled at
    once, and IDLE resumes after about a second (not the 30 s it once waited, during which
    new mail waited for poll_seconds)."""
    account = imap_server.account
    monkeypatch.setenv(PASSWORD_ENV, account.password)
    proxy = Proxy(account.port)
    box = mailbox_config(replace(account, port=proxy.port), imap_folder, idle=True)
    wakes: list[float] = []
    stop = threading.Event()
    watcher = Watcher(box, lambda: wakes.append(time.monotonic()), stop)
    watcher.start()
    try:
        assert until(lambda: len(wakes) == 1)  # IDLE began (and asked for its first poll)
        severed = time.monotonic()
        proxy.sever()
        assert until(lambda: len(wakes) >= 3), "IDLE did not resume"
        assert wakes[1] - severed < 0.5  # the poll, at once
        assert wakes[2] - severed < 3  # IDLE again, on a new connection
    finally:
        stop.set()
        watcher.join(5)
        proxy.close()


def until(condition: Callable[[], bool], seconds: float = 8) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


# -- the connection cut between FETCH and the commit ------------------------------------------


def test_connection_cut_between_fetch_and_commit(imap_server, imap_folder, engine, monkeypatch):
    """The cut comes after the second batch was fetched, before it is stored: the batch in
    hand is committed, marking it \\Seen fails, so the checkpoint stays on the first batch;
    the next poll fetches the second batch again, finds it stored, and goes on."""
    account = imap_server.account
    monkeypatch.setenv(PASSWORD_ENV, account.password)
    append_messages(account, imap_folder, [message(n) for n in range(TOTAL)])
    box = mailbox_config(account, imap_folder, after_store="mark_seen")
    with connect(box) as mailbox:
        cut = InSecondBatch(lambda: mailbox.client.socket().shutdown(socket.SHUT_RDWR))
        with pytest.raises(MailboxError, match="after_store=mark_seen failed"):
            poll_mailbox(box, mailbox, engine, PROCESSOR, stopping=cut.stopping, progress=cut.done)
    assert cut.fired and cut.batches == 1
    rows = stored(engine)
    assert len(rows) == 6 and {r.status for r in rows} == {"processed"}
    seen = server_uids(account, imap_folder)
    assert [seen[r.uid] for r in rows] == [True] * 3 + [False] * 3  # not marked: not finished
    assert checkpoint(engine) == rows[2].uid

    stats = poll_one(box, engine, PROCESSOR)
    assert (stats.error, stats.fetched, stats.stored, stats.duplicates) == (None, 5, 2, 3)
    seen = server_uids(account, imap_folder)
    assert_stored_once(engine, max(seen))
    assert all(seen.values())


# -- SMTP refusing, then down, then up -------------------------------------------------------


def test_smtp_temporary_then_permanent_refusal_then_down_then_up(
    imap_server, imap_folder, smtp, tmp_path, monkeypatch
):
    """One outbox through every answer in turn (test_replies_e2e has each on its own):
    a 4xx keeps the row pending until its backoff; the 5xx at the retry fails it with the
    server's words, and it is never sent again; with the server down a new row stays
    pending, its delay doubling; once up it goes out once, the very bytes queued."""
    account = imap_server.account
    monkeypatch.setenv(PASSWORD_ENV, account.password)
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    engine = make_engine(url)
    cfg = make_config(tmp_path, url, imap_server, imap_folder, smtp.port)
    retry = timedelta(seconds=cfg.smtp.retry_seconds)

    smtp.refuse("busy@example.org", "451 4.3.0 try again later")
    append_messages(account, imap_folder, [application("Busy Bee", "busy@example.org", n=1)])
    poll_all(cfg)  # stores, queues and sends what is due
    [busy] = rows(cfg, Outbox)
    assert (busy.status, busy.attempts, busy.reason) == ("pending", 1, "451 4.3.0 try again later")
    assert retry <= aware(busy.next_attempt_at) - aware(busy.created_at) < retry * 2
    assert outbox.send_due(engine, cfg.smtp, aware(busy.next_attempt_at) - SECOND).retrying == 0

    smtp.refuse("busy@example.org", "550 5.7.1 not accepted")
    due = aware(busy.next_attempt_at)
    assert outbox.send_due(engine, cfg.smtp, due).failed == 1
    [busy] = rows(cfg, Outbox)
    assert (busy.status, busy.attempts, busy.reason) == ("failed", 2, "550 5.7.1 not accepted")
    smtp.clear()  # it would be accepted now: a failed row still waits for `outbox retry`
    assert outbox.send_due(engine, cfg.smtp, due + timedelta(days=1)).sent == 0

    down = make_config(tmp_path, url, imap_server, imap_folder, free_port())
    append_messages(account, imap_folder, [application("Ana One", "ana@example.org", n=2)])
    poll_all(down)
    _, ana = rows(cfg, Outbox)
    assert (ana.status, ana.attempts) == ("pending", 1) and "cannot connect" in ana.reason
    first_due = aware(ana.next_attempt_at)
    assert outbox.send_due(engine, down.smtp, first_due).retrying == 1
    _, ana = rows(cfg, Outbox)
    assert (ana.status, ana.attempts) == ("pending", 2)
    assert aware(ana.next_attempt_at) - first_due == retry * 2

    assert outbox.send_due(engine, cfg.smtp, aware(ana.next_attempt_at)).sent == 1
    assert outbox.send_due(engine, cfg.smtp, first_due + timedelta(days=1)).sent == 0
    [received] = smtp.messages
    busy, sent = rows(cfg, Outbox)
    assert (busy.status, sent.status, sent.attempts) == ("failed", "sent", 3)
    assert received.rcpt_tos == ["ana@example.org"]
    assert message_from_bytes(received.data)["Message-ID"] == ana.message_id
    assert received.data == ana.raw  # the bytes queued while the server was down


# -- the database locked while a poll writes --------------------------------------------------


@contextmanager
def locked(path) -> Iterator[None]:
    """Another process's write transaction on the SQLite file (BEGIN EXCLUSIVE)."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        other.rollback()
        other.close()


def impatient(path):
    """The real engine on a real file, waiting 0.3 s for a lock instead of the 30 s the
    daemon waits (busy_timeout), so the lock wins quickly."""
    engine = make_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout=300"))
    engine.dispose()
    return engine


def test_database_locked_before_a_batch_commit(
    imap_server, imap_folder, tmp_path, monkeypatch, caplog
):
    """Another writer holds the database when the second batch, fetched, is to be stored: the poll
    reports the error (and returns), the second batch is neither stored nor moved, the
    checkpoint stays on the first; once the lock is gone the next poll stores the rest."""
    account = imap_server.account
    monkeypatch.setenv(PASSWORD_ENV, account.password)
    target = f"{imap_folder}-done"
    append_messages(account, target, [])
    append_messages(account, imap_folder, [message(n) for n in range(TOTAL)])
    uids = list(server_uids(account, imap_folder))
    box = mailbox_config(account, imap_folder, after_store="move", move_to=target)
    path = tmp_path / "intake.db"
    engine = impatient(path)
    lock = locked(path)
    before = InSecondBatch(lock.__enter__)
    with caplog.at_level(logging.INFO):
        stats = poll_one(box, engine, PROCESSOR, stopping=before.stopping, committed=before.done)
    lock.__exit__(None, None, None)
    assert before.fired and before.batches == 1
    assert stats.error == "database: database is locked"
    assert "poll_not_recorded" in [r.getMessage() for r in caplog.records]  # still locked
    assert not [r for r in caplog.records if r.exc_info or r.getMessage() == "quarantined"]
    assert len(stored(engine)) == 3 and checkpoint(engine) == uids[2]
    assert list(server_uids(account, imap_folder)) == uids[3:]  # not moved: not stored

    again = poll_one(box, engine, PROCESSOR)
    assert (again.error, again.fetched, again.stored) == (None, TOTAL - 3, TOTAL - 3)
    assert_stored_once(engine, uids[-1])
    assert server_uids(account, imap_folder) == {}
    assert len(server_uids(account, target)) == TOTAL


def test_database_locked_between_commit_and_checkpoint(
    imap_server, imap_folder, tmp_path, monkeypatch
):
    """The batch is committed, then the database is locked: the checkpoint cannot be
    written and stays where it was; the next poll fetches that batch again, recognises
    every message, and stores the rest once."""
    account = imap_server.account
    monkeypatch.setenv(PASSWORD_ENV, account.password)
    append_messages(account, imap_folder, [message(n) for n in range(TOTAL)])
    uids = list(server_uids(account, imap_folder))
    box = mailbox_config(account, imap_folder)
    path = tmp_path / "intake.db"
    engine = impatient(path)
    lock = locked(path)
    commits: list[list[int]] = []

    def after_commit(batch: list[int]) -> None:
        commits.append(batch)
        if len(commits) == 2:
            lock.__enter__()

    with connect(box) as mailbox, pytest.raises(OperationalError, match="database is locked"):
        poll_mailbox(box, mailbox, engine, PROCESSOR, after_commit=after_commit)
    lock.__exit__(None, None, None)
    assert commits == [uids[:3], uids[3:6]]
    assert len(stored(engine)) == 6 and checkpoint(engine) == uids[2]

    again = poll_one(box, engine, PROCESSOR)
    assert (again.error, again.fetched, again.stored, again.duplicates) == (None, 5, 2, 3)
    assert_stored_once(engine, uids[-1])


class ReadOnly:
    """The database refusing every write from the next connection on, as a read-only one
    does: PostgreSQL's default_transaction_read_only on the database, SQLite's query_only
    (root in CI writes to a file chmod made read-only); `lift` makes it writable again."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def _sqlite(self, conn, _record) -> None:
        conn.execute("PRAGMA query_only = ON")

    def _postgres(self, value: str) -> None:
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("SET default_transaction_read_only = off")
            name = self.engine.url.database
            conn.exec_driver_sql(
                f"ALTER DATABASE {name} SET default_transaction_read_only = {value}"
            )

    def impose(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self._postgres("on")
        else:
            event.listen(self.engine, "connect", self._sqlite)
        self.engine.dispose()

    def lift(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self._postgres("off")
        else:
            event.remove(self.engine, "connect", self._sqlite)
        self.engine.dispose()


def test_database_read_only_at_a_batch_commit(
    imap_server, imap_folder, database_url, monkeypatch, caplog
):
    """The database turns read-only between two batches: the poll reports it and returns
    (no traceback), nothing of the second batch is stored, marked or checkpointed; once
    it is writable again the next poll stores the rest once. On both backends."""
    account = imap_server.account
    monkeypatch.setenv(PASSWORD_ENV, account.password)
    append_messages(account, imap_folder, [message(n) for n in range(TOTAL)])
    uids = list(server_uids(account, imap_folder))
    box = mailbox_config(account, imap_folder, after_store="mark_seen")
    engine = make_engine(database_url)
    read_only = ReadOnly(engine)
    between = InSecondBatch(read_only.impose, at=1)
    with caplog.at_level(logging.INFO):
        stats = poll_one(box, engine, PROCESSOR, stopping=between.stopping, committed=between.done)
    read_only.lift()
    assert between.fired and between.batches == 1
    assert stats.error and stats.error.startswith("database: ") and "read" in stats.error
    assert not [r for r in caplog.records if r.exc_info or r.getMessage() == "quarantined"]
    assert len(stored(engine)) == 3 and checkpoint(engine) == uids[2]
    assert list(server_uids(account, imap_folder).values()) == [True] * 3 + [False] * 5

    again = poll_one(box, engine, PROCESSOR)
    assert (again.error, again.fetched, again.stored) == (None, TOTAL - 3, TOTAL - 3)
    assert_stored_once(engine, uids[-1])
