"""Workers on PostgreSQL through procrastinate (acceptance of issue 17): three `intake run`
workers share four mailboxes of 150 messages each on a real IMAP server; one is killed
with SIGKILL midway and another started later. Every message is stored once and
processed, every mailbox's checkpoint is at its last UID, and every reply that was due
reached the SMTP sink, with the Message-ID its outbox row keeps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlmodel import func, select

from bench.generate import applications
from intake.daemon.fleet import conninfo
from intake.decisions.rules import DEFAULT_DIR
from intake.demo.servers import append_messages, logged_in
from intake.errors import ConfigError
from intake.replies.messages import DEFAULT_TEMPLATES
from intake.storage import models
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from tests.conftest import lane
from tests.servers import DovecotServer, dovecot_binary

INTAKE = str(Path(sys.executable).with_name("intake"))
PASSWORD_ENV = "INTAKE_TEST_FLEET_PASSWORD"
BOXES = 4
PER_BOX = 150


@pytest.fixture(scope="module")
def dovecot():
    lane("dovecot", dovecot_binary() is not None)
    with DovecotServer() as server:
        yield server


def fleet_config(tmp_path: Path, url: str, account, smtp_port: int) -> Path:
    boxes = "".join(
        f'[mailboxes.box{n}]\nhost = "{account.host}"\nport = {account.port}\ntls = "none"\n'
        f'username = "{account.username}"\npassword_env = "{PASSWORD_ENV}"\n'
        f'folder = "fleet{n}"\naddress = "careers@numenta.com"\npoll_seconds = 1\n'
        f"batch_size = 25\nmax_per_poll = 100\n"
        for n in range(BOXES)
    )
    path = tmp_path / "fleet.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n[rules]\ndir = "{DEFAULT_DIR}"\n{boxes}'
        f'[replies]\ntemplates = "{DEFAULT_TEMPLATES}"\nmax_per_sender = 1000\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\ntls = "none"\n'
        f'from_address = "Numenta Careers <careers@numenta.com>"\n'
        f'[workers]\nengine = "procrastinate"\nconcurrency = 2\nlease_seconds = 5\n'
    )
    return path


def worker(cfg: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [INTAKE, "--config", str(cfg), "run"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )


def counts(engine) -> tuple[int, int]:
    """(messages stored, of them processed or quarantined)."""
    with open_session(engine) as session:
        total = session.exec(select(func.count()).select_from(models.RawMessage)).one()
        done = session.exec(
            select(func.count())
            .select_from(models.RawMessage)
            .where(models.RawMessage.status != "stored")
        ).one()
    return total, done


def wait(condition, seconds: float, what: str, alive=(), log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        tail = log.read_text()[-3000:] if log else ""
        assert all(p.poll() is None for p in alive), f"a worker ended:\n{tail}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{tail}"
        time.sleep(0.5)


def test_three_workers_one_killed_one_added_store_and_answer_everything_once(
    tmp_path, dovecot, postgres_server, smtp, monkeypatch
):
    account = dovecot.account("careers")
    monkeypatch.setenv(PASSWORD_ENV, account.password)
    raws = list(applications(BOXES * PER_BOX, seed=17, hostile_every=50))
    for n in range(BOXES):
        append_messages(account, f"fleet{n}", raws[n * PER_BOX : (n + 1) * PER_BOX])
    url = postgres_server.new_database()
    cfg = fleet_config(tmp_path, url, account, smtp.port)
    engine = make_engine(url)
    log = tmp_path / "workers.log"
    workers = [worker(cfg, log) for _ in range(3)]
    try:
        wait(lambda: counts(engine)[1] >= 150, 120, "a quarter of the messages", workers, log)
        workers[0].send_signal(signal.SIGKILL)
        assert workers[0].wait(10) == -signal.SIGKILL
        workers.append(worker(cfg, log))  # a worker added later
        alive = workers[1:]
        wait(lambda: counts(engine) == (BOXES * PER_BOX,) * 2, 240, "every message", alive, log)
        wait(lambda: _pending(engine) == 0, 60, "every reply", alive, log)
        for proc in workers[1:]:
            proc.send_signal(signal.SIGTERM)
        assert [proc.wait(60) for proc in workers[1:]] == [0, 0, 0]
    finally:
        for proc in workers:
            proc.kill()
            proc.wait()

    with logged_in(account) as client, open_session(engine) as session:
        for n in range(BOXES):
            info = client.select_folder(f"fleet{n}", readonly=True)
            last = max(client.search("ALL"))
            point = session.get(models.Checkpoint, f"box{n}")
            assert (point.uidvalidity, point.last_uid) == (info[b"UIDVALIDITY"], last), n
        keys = session.exec(select(models.RawMessage.dedupe_key)).all()
        assert len(keys) == len(set(keys)) == BOXES * PER_BOX
        sent = {
            row.message_id
            for row in session.exec(select(models.Outbox).where(models.Outbox.status == "sent"))
        }
    received = Counter(
        message_from_bytes(mail.data)["Message-ID"] for mail in smtp.wait_for(len(sent))
    )
    assert set(received) == sent and len(sent) > BOXES * PER_BOX / 2
    # a reply is sent again only when its worker died between the SMTP transaction and
    # recording it: at most the one in hand, with the same Message-ID
    assert sum(received.values()) - len(received) <= 1, received.most_common(3)


def _pending(engine) -> int:
    with open_session(engine) as session:
        return session.exec(
            select(func.count()).select_from(models.Outbox).where(models.Outbox.status == "pending")
        ).one()


def test_workers_need_postgresql():
    with pytest.raises(ConfigError, match="workers share a PostgreSQL database"):
        conninfo("sqlite:///intake.db")
    assert conninfo("postgresql+psycopg://u:p@127.0.0.1:5433/db") == (
        "postgresql://u:p@127.0.0.1:5433/db"
    )
