"""The database: a schema left by an older intake is refused with one clear line."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import event, inspect
from sqlmodel import SQLModel

from intake.decisions.decision import Person
from intake.errors import ConfigError
from intake.storage.db import HEAD, make_engine, scripts
from intake.storage.db import session as open_session
from intake.storage.history import by_person
from intake.storage.models import Checkpoint
from tests.judging import stored
from tests.test_pipeline import PROCESSOR
from tests.test_replies_e2e import application


def test_database_from_an_older_intake_is_refused_naming_the_upgrade(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, message_id TEXT)")
    with pytest.raises(ConfigError, match=r"made before migrations\); run `intake db upgrade`"):
        make_engine(f"sqlite:///{path}")
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('0001')")
    with pytest.raises(ConfigError, match=r"\(revision 0001\); run `intake db upgrade`"):
        make_engine(f"sqlite:///{path}")


def test_the_current_revision_is_the_newest_migration():
    assert scripts().get_current_head() == HEAD


def test_database_from_a_newer_intake_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    make_engine(url)
    with sqlite3.connect(tmp_path / "new.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(ConfigError, match="made by a newer intake \\(revision 9999\\)"):
        make_engine(url)


def test_a_new_database_is_created_and_reopened(tmp_path):
    """Created (its folder too) at the newest revision with every table; reopened as it
    is, what was stored kept; a missing one is an error when not asked to create it."""
    url = f"sqlite:///{tmp_path / 'sub' / 'intake.db'}"
    with pytest.raises(ConfigError, match="no database there"):
        make_engine(url, create=False)
    with open_session(make_engine(url)) as session:
        session.add(Checkpoint(mailbox="careers", uidvalidity=7, last_uid=42))
        session.commit()
    engine = make_engine(url, create=False)  # the schema it created is accepted
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD
        assert set(inspect(conn).get_table_names()) >= set(SQLModel.metadata.tables)
    with open_session(engine) as session:
        assert session.get(Checkpoint, "careers").last_uid == 42


def test_a_persons_earlier_applications_are_found_by_index_not_by_scanning(tmp_path):
    """Each message looks up earlier applications by address, GitHub login and full
    name: with every application read each time, a poll slowed as the database grew."""
    engine = make_engine(f"sqlite:///{tmp_path / 'i.db'}")
    people = [("Zoë Müller", "zoe@example.org", "zoe-m"), ("Ada Lovelace", "ada@x.org", "ada")]
    with open_session(engine) as session:
        for uid, (name, address, login) in enumerate(people, start=1):
            raw = application(name, address, login=login, n=uid)
            assert stored(session, PROCESSOR, "careers", raw, uid).kind == "application"
        session.commit()
        statements: list[tuple[str, tuple]] = []
        listen = lambda *args: statements.append((args[2], args[3]))  # noqa: E731
        event.listen(engine, "before_cursor_execute", listen)
        try:
            by_login = by_person(session, Person(None, None), ["https://github.com/ADA"], 99)
            by_name = by_person(session, Person("ZOË MÜLLER", "other@x.org"), [], 99)
            by_address = by_person(session, Person("Someone", "ADA@x.org"), [], 99)
        finally:
            event.remove(engine, "before_cursor_execute", listen)
    assert [len(found) for found in (by_login, by_name, by_address)] == [1, 1, 1]
    assert by_name[0].id != by_login[0].id == by_address[0].id
    plans = []
    with sqlite3.connect(tmp_path / "i.db") as conn:
        for statement, parameters in statements:
            plans += [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    assert plans and not [plan for plan in plans if plan.startswith("SCAN")], plans
