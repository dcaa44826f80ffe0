"""Database engine and schema: SQLite by default, PostgreSQL when several machines share it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from intake.errors import ConfigError
from intake.storage import models  # noqa: F401  (registers the tables)


def make_engine(url: str) -> Engine:
    """Connect and create the schema on first run."""
    if url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url)
    except Exception as exc:  # bad URL or missing driver
        raise ConfigError(f"database.url: cannot use {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    SQLModel.metadata.create_all(engine)
    _check_schema(engine, url)
    return engine


def _check_schema(engine: Engine, url: str) -> None:
    """Refuse a database made by an older intake instead of failing mid-poll."""
    found = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        have = {column["name"] for column in found.get_columns(table.name)}
        missing = [column.name for column in table.columns if column.name not in have]
        if missing:
            raise ConfigError(
                f"database.url: {url}: table {table.name} lacks {', '.join(missing)}: it was "
                "created by an older intake; export what you need and start a new database"
            )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets the CLI read while the daemon writes; wait instead of failing on a lock."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session(engine: Engine) -> Session:
    # Rows stay readable after commit: the pipeline reports on what it just stored.
    return Session(engine, expire_on_commit=False)
