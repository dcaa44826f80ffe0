"""The database: a schema left by an older intake is refused with one clear line."""

from __future__ import annotations

import sqlite3

import pytest

from intake.errors import ConfigError
from intake.storage.db import make_engine


def test_database_from_an_older_intake_is_refused(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, message_id TEXT)")
    with pytest.raises(ConfigError, match=r"table outbox lacks application_id, trigger_id"):
        make_engine(f"sqlite:///{path}")


def test_a_new_database_is_created_and_reopened(tmp_path):
    url = f"sqlite:///{tmp_path / 'sub' / 'intake.db'}"
    make_engine(url)
    make_engine(url)  # the schema it created is accepted
