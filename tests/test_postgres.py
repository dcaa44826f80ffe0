"""The same pipeline on real PostgreSQL: results equal to SQLite's, locks, exports."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from intake import config
from intake.daemon.pipeline import poll_all
from intake.daemon.scheduler import WAIT_SECONDS, single_instance
from intake.decisions.rules import DEFAULT_DIR, load_all
from intake.demo.servers import append_messages
from intake.errors import IntakeError
from intake.replies.messages import DEFAULT_TEMPLATES
from intake.reports import export, status
from intake.reports.digest import collect
from intake.storage import store
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import Outbox

SAMPLES = Path(__file__).parent.parent / "data" / "sample"
PASSWORD_ENV = "INTAKE_TEST_IMAP_PASSWORD"
pytestmark = pytest.mark.parametrize("imap_server", ["dovecot"], indirect=True)


def configured(tmp_path: Path, name: str, url: str, imap_server, folders, smtp) -> config.Config:
    account = imap_server.account
    boxes = "".join(
        f'[mailboxes.{box}]\nhost = "{account.host}"\nport = {account.port}\ntls = "none"\n'
        f'username = "{account.username}"\npassword_env = "{PASSWORD_ENV}"\n'
        f'folder = "{folder}"\naddress = "{box}@numenta.com"\n'
        for box, folder in folders.items()
    )
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n[rules]\ndir = "{DEFAULT_DIR}"\n'
        f'[replies]\ntemplates = "{DEFAULT_TEMPLATES}"\n{boxes}'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\ntls = "none"\n'
        f'from_address = "Numenta Careers <careers@numenta.com>"\n'
    )
    return config.load(path)


def outcome(cfg: config.Config) -> tuple[list, list]:
    engine = make_engine(cfg.database_url)
    with open_session(engine) as session:
        rows = [{k: v for k, v in r.items() if k != "uid"} for r in store.summary(session)]
        replies = [
            (r.to_address, r.template, r.status)
            for r in session.exec(select(Outbox).order_by(Outbox.id))
        ]
    return rows, replies


def test_sample_mail_gives_the_same_results_on_postgresql_as_on_sqlite(
    tmp_path, imap_server, imap_folder, smtp, postgres_server, monkeypatch
):
    monkeypatch.setenv(PASSWORD_ENV, imap_server.account.password)
    folders = {box: f"{imap_folder}-{box}" for box in ("careers", "interns")}
    for box, folder in folders.items():
        raws = [p.read_bytes() for p in sorted((SAMPLES / box).glob("*.eml"))]
        append_messages(imap_server.account, folder, raws)
    lite = configured(
        tmp_path, "lite", f"sqlite:///{tmp_path / 'i.db'}", imap_server, folders, smtp
    )
    pg = configured(tmp_path, "pg", postgres_server.new_database(), imap_server, folders, smtp)
    poll_all(lite)
    poll_all(pg)
    assert [s.stored for s in poll_all(pg)] == [0, 0]  # checkpoints hold on PostgreSQL too
    lite_rows, lite_replies = outcome(lite)
    pg_rows, pg_replies = outcome(pg)
    assert pg_rows == lite_rows
    assert pg_replies == lite_replies and len(pg_replies) == 17
    assert [r[2] for r in pg_replies].count("skipped") == 3  # out of office, question, bounce
    assert len(smtp.wait_for(28)) == 28  # each database sent its own acknowledgements
    engine = make_engine(pg.database_url)
    with open_session(make_engine(lite.database_url)) as session:
        lite_export = export.application_rows(session)
    with open_session(engine) as session:
        rows = export.application_rows(session)
        assert len(rows) == 13
        # read from the decision's JSON by the database (PostgreSQL's -> and #>, SQLite's
        # JSON_EXTRACT): the same values
        decided = ("sender", "referred_by", "score", "replies", "follow_ups")
        assert [[r[k] for k in decided] for r in rows] == [
            [r[k] for k in decided] for r in lite_export
        ]
        assert {type(r["score"]) for r in rows} == {int}  # a number, not JSON text
        assert status.gather(session, pg)["outbox"] == {"sent": 14, "skipped": 3}
    digest = collect(
        pg, engine, load_all(DEFAULT_DIR), datetime.now(UTC), datetime(2000, 1, 1, tzinfo=UTC)
    )
    assert digest.total == 13


def test_one_daemon_per_postgresql_database(postgres_server, imap_server):
    engine = make_engine(postgres_server.new_database())
    other = make_engine(str(engine.url.render_as_string(hide_password=False)))
    with (
        single_instance(engine),
        pytest.raises(IntakeError, match="another intake daemon"),
        single_instance(other),
    ):
        pass
    with single_instance(other):  # released when the first daemon stopped
        pass


def test_a_standby_waits_for_the_lock_and_takes_over(postgres_server, imap_server):
    url = postgres_server.new_database()
    first, standby = make_engine(url), make_engine(url)
    stop = threading.Event()
    took_over = threading.Event()

    def wait_then_run() -> None:
        with single_instance(standby, stop):
            took_over.set()

    with single_instance(first):
        thread = threading.Thread(target=wait_then_run)
        thread.start()
        assert not took_over.wait(1.0)  # still waiting while the first holds the lock
    assert took_over.wait(WAIT_SECONDS + 5)
    thread.join()
