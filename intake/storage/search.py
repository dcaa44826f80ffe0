"""Full-text search over applications for the recruiters' workspace.

Each application's searchable text (names, addresses, subject, cover letter, documents'
text, GitHub links) is a row of `searchtext`, made from the stored rows by `refresh`
when they changed since it was indexed, so the daemon's write path is untouched and an
upgraded database is indexed on first use. SQLite indexes that table with an FTS5 table
kept in step by triggers (an application's deletion cascades to its row, whose trigger
takes its words out of the index: `forget` leaves nothing behind); PostgreSQL with a GIN
index on the row's tsvector. A query is a list of words, each matched as a prefix, all
required: applicants' names and recruiters' typing, not a query language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, Integer, column, event, func, literal_column, or_, text
from sqlmodel import Session, col, delete, select

from intake.storage import models

FTS_TABLE = "searchtext_fts"
SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(body, content='searchtext', "
    "content_rowid='application_id', tokenize='unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER searchtext_ai AFTER INSERT ON searchtext BEGIN INSERT INTO {FTS_TABLE}"
    "(rowid, body) VALUES (new.application_id, new.body); END",
    f"CREATE TRIGGER searchtext_ad AFTER DELETE ON searchtext BEGIN INSERT INTO {FTS_TABLE}"
    f"({FTS_TABLE}, rowid, body) VALUES ('delete', old.application_id, old.body); END",
)
POSTGRES_DDL = (
    "CREATE INDEX ix_searchtext_tsv ON searchtext USING gin (to_tsvector('simple', body))",
)
CHUNK = 500
_WORD = re.compile(r"\w+")


def modelled(name: str | None, type_: str, parent_names: dict) -> bool:
    """For Alembic's comparisons: FTS5's tables are made here, not by the models."""
    return not (type_ == "table" and (name or "").startswith(FTS_TABLE))


def create(conn: Connection) -> None:
    """The index beside `searchtext` (a new database, or migration 0007)."""
    statements = {"sqlite": SQLITE_DDL, "postgresql": POSTGRES_DDL}.get(conn.dialect.name, ())
    for statement in statements:
        conn.execute(text(statement))


event.listen(models.SearchText.__table__, "after_create", lambda _table, conn, **_: create(conn))


def refresh(session: Session, now: datetime) -> int:
    """Index the applications changed since they were indexed (or never were); how many."""
    apps, found = models.Application, models.SearchText
    stale = list(
        session.exec(
            select(apps.id)
            .outerjoin(found, col(found.application_id) == apps.id)
            .where(or_(col(found.application_id).is_(None), apps.updated_at > found.indexed_at))
        )
    )
    for start in range(0, len(stale), CHUNK):
        ids = stale[start : start + CHUNK]
        session.exec(delete(found).where(col(found.application_id).in_(ids)))
        session.add_all(
            found(application_id=app_id, body=body, indexed_at=now)
            for app_id, body in bodies(session, ids).items()
        )
        session.flush()
    return len(stale)


def forget(session: Session, ids: Iterable[int]) -> None:
    """Take these applications out of the index (their text was purged); `refresh`
    indexes what is left of them."""
    chosen = list(ids)
    for start in range(0, len(chosen), CHUNK):
        session.exec(
            delete(models.SearchText).where(
                col(models.SearchText.application_id).in_(chosen[start : start + CHUNK])
            )
        )


def bodies(session: Session, ids: list[int]) -> dict[int, str]:
    """Each application's searchable text, from its rows and its documents'."""
    apps, people = models.Application, models.Applicant
    parts: dict[int, list[str]] = {}
    rows = session.exec(
        select(apps.id, people.name, people.email, apps.subject, apps.cover_letter, apps.github)
        .join(people, col(people.id) == apps.applicant_id)
        .where(col(apps.id).in_(ids))
    )
    for app_id, *fields, github in rows:
        parts[app_id] = [*(f for f in fields if f), *github]
    docs = models.Document
    texts = session.exec(
        select(docs.application_id, docs.filename, docs.text).where(
            col(docs.application_id).in_(ids)
        )
    )
    for app_id, filename, body in texts:
        parts[app_id].extend(f for f in (filename, body) if f)
    return {app_id: "\n".join(found) for app_id, found in parts.items()}


def matching(session: Session, query: str):
    """The ids of applications whose text has every word of `query` (as a prefix), as a
    subquery; None when the query has no word."""
    words = _WORD.findall(query.lower())
    if not words:
        return None
    if session.get_bind().dialect.name == "postgresql":
        wanted = " & ".join(f"{w}:*" for w in words)
        vector = func.to_tsvector(literal_column("'simple'"), models.SearchText.body)
        return select(models.SearchText.application_id).where(
            vector.op("@@")(func.to_tsquery(literal_column("'simple'"), wanted))
        )
    wanted = " ".join(f'"{w}"*' for w in words)
    found = text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :wanted")
    return found.bindparams(wanted=wanted).columns(column("rowid", Integer))
