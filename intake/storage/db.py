"""Database engine and schema: SQLite by default, PostgreSQL when several machines share it.

The schema has Alembic revisions (`migrations/`). A new database is created at the latest
one; every command refuses a database an older release made, with one line naming
`intake db upgrade`, which migrates it in place (checkpoints, outbox and all), so an
upgrade never starts over and never acknowledges anyone twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, create_engine

from intake.errors import ConfigError
from intake.storage import models, search  # noqa: F401  (the tables, the search index)

if TYPE_CHECKING:  # Alembic is loaded only to migrate, or to explain a schema that is not current
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest revision in migrations/ (tests/test_db.py holds it to Alembic's own head): a
# database at it is used without loading Alembic and every migration script, which every
# command did at start.
HEAD = "0007"
# The release before migrations made these tables and no alembic_version table.
BEFORE_MIGRATIONS = "0001"


@dataclass(frozen=True)
class Schema:
    """Where a database stands: empty, made before migrations, or at a revision."""

    revision: str | None  # None: no alembic_version
    has_tables: bool

    @property
    def describe(self) -> str:
        if not self.has_tables:
            return "empty"
        return f"revision {self.revision}" if self.revision else "made before migrations"


def make_engine(url: str, *, create: bool = True) -> Engine:
    """Connect to an intake database at the current schema. `create`: make it when there
    is none (the commands that store mail); otherwise a missing database is an error, so
    a wrong path never looks like "nothing here"."""
    path = _sqlite_path(url)
    if path is not None and not path.exists() and not create:
        raise ConfigError(
            f"database.url: {url}: no database there (`intake poll --once` or `intake run` "
            "creates it)"
        )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = connect(url)
    with engine.begin() as conn:
        found = schema(conn)
        if not found.has_tables and create:
            SQLModel.metadata.create_all(conn)
            _stamp(conn, HEAD)
            return engine
    _require_current(found, url)
    return engine


def dumps(value: object) -> str:
    """JSON columns through orjson: the decisions every message writes and the fields
    every export row reads, about five times faster than the json module."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def connect(url: str, *, foreign_keys: bool = True) -> Engine:
    """An engine, without looking at the schema. SQLite enforces foreign keys, except
    while a migration copies tables (Alembic's batch mode)."""
    try:
        # an error's text never carries the values (addresses, subjects) it was writing
        engine = create_engine(
            url, hide_parameters=True, json_serializer=dumps, json_deserializer=orjson.loads
        )
    except Exception as exc:  # bad URL or missing driver
        raise ConfigError(f"database.url: cannot use {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda conn, _record: _sqlite_pragmas(conn, foreign_keys))
    return engine


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url.removeprefix("sqlite:///"))
    return None


def schema(conn: Connection) -> Schema:
    tables = set(inspect(conn).get_table_names())
    revision = None
    if "alembic_version" in tables:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return Schema(revision, bool(tables & set(SQLModel.metadata.tables)))


def _require_current(found: Schema, url: str) -> None:
    if found.has_tables and found.revision == HEAD:
        return
    if not found.has_tables:
        raise ConfigError(f"database.url: {url}: no intake tables there")
    known = {s.revision for s in scripts().walk_revisions()}
    if found.revision and found.revision not in known:
        raise ConfigError(
            f"database.url: {url}: made by a newer intake (revision {found.revision}); "
            "upgrade intake"
        )
    raise ConfigError(
        f"database.url: {url}: made by an older intake ({found.describe}); "
        "run `intake db upgrade` (stop the daemon first)"
    )


def upgrade(url: str) -> tuple[Schema, str]:
    """Migrate the database in place to the current schema (creating it when there is
    none); returns where it stood and the revision it is at now."""
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = connect(url, foreign_keys=False)
    with engine.begin() as conn:
        before = schema(conn)
        if not before.has_tables:
            SQLModel.metadata.create_all(conn)
            _stamp(conn, HEAD)
            return before, HEAD
        if before.revision is None:
            _stamp(conn, BEFORE_MIGRATIONS)
        from alembic import command

        command.upgrade(_alembic(conn), "head")
    return before, HEAD


def current(url: str) -> Schema:
    with connect(url).connect() as conn:
        return schema(conn)


def _stamp(conn: Connection, revision: str) -> None:
    from alembic import command

    command.stamp(_alembic(conn), revision)


def scripts() -> ScriptDirectory:
    """Alembic's view of migrations/ (loads every revision's script)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic(None))


def _alembic(conn: Connection | None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def _sqlite_pragmas(dbapi_connection, foreign_keys: bool) -> None:
    """WAL lets the CLI read while the daemon writes; wait instead of failing on a lock."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    cursor.close()


@event.listens_for(Session, "before_flush")
def _without_nul(session: Session, _context: object, _instances: object) -> None:
    """PostgreSQL text cannot hold NUL (SQLite can): stored text drops it on both, so a
    message behaves the same on either; the raw bytes (LargeBinary) keep everything."""
    for row in (*session.new, *session.dirty):
        for attr in inspect(row).mapper.column_attrs:
            value = getattr(row, attr.key)
            cleaned = _clean(value)
            if cleaned is not value:
                setattr(row, attr.key, cleaned)


def _clean(value: object) -> object:
    """`value` without NUL characters in any string inside it (the same object if none)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list | dict):
        items = list(value.items() if isinstance(value, dict) else enumerate(value))
        changed = {key: _clean(item) for key, item in items}
        if all(changed[key] is item for key, item in items):
            return value
        return changed if isinstance(value, dict) else list(changed.values())
    return value


def session(engine: Engine) -> Session:
    # Rows stay readable after commit: the pipeline reports on what it just stored.
    return Session(engine, expire_on_commit=False)
