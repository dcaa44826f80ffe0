"""Applications as plain rows: the JSON export (same field names as `intake parse --json`),
the CSV export (one row per application), and the digest's input."""

from __future__ import annotations

import csv
import gc
import io
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import orjson
from sqlalchemy import RowMapping, Select
from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, or_, select

from intake.extraction import roles
from intake.storage import models

CSV_FIELDS = (
    "application_id",
    "posting",
    "status",
    "name",
    "email",
    "referred_by",
    "subject",
    "date",
    "period_text",
    "period_start",
    "period_end",
    "area",
    "eligibility",
    "eligibility_basis",
    "eligibility_evidence",
    "needs_sponsorship",
    "github",
    "resume_filename",
    "flags",
    "duplicate_of",
    "follow_ups",
    "cover_letter",
    "decision",
    "decided_by",
)


def application_rows(
    session: Session,
    since: datetime | None = None,
    posting: str | None = None,
) -> list[dict]:
    """Every application (changed since `since`, for `posting`), oldest first. Plain rows,
    not ORM objects, no raw mail, and no cycle collection while they are built: rows for
    10,000 applications take about half a second."""
    with _collector_paused():
        return _application_rows(session, since, posting)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Rows are acyclic dicts: collecting cycles while tens of thousands of them pile up
    finds nothing and took half of the rows' time (each pass walks all of them)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _application_rows(session: Session, since: datetime | None, posting: str | None) -> list[dict]:
    apps, people, raws = (
        model.__table__ for model in (models.Application, models.Applicant, models.RawMessage)
    )
    chosen = [apps.c.updated_at >= since] if since else []
    chosen += [apps.c.posting == posting] if posting else []
    query = (
        select(
            apps,
            people.c.name.label("person_name"),
            people.c.email.label("person_email"),
            raws.c.message_id,
            # only what the rows show of the decision (it holds every signal, hit or miss)
            raws.c.decision["referred_by"].label("referred_by"),
            raws.c.decision[("verdict", "score")].label("score"),
            raws.c.decision["replies"].label("replies"),
        )
        .join(people, people.c.id == apps.c.applicant_id)
        .join(raws, raws.c.id == apps.c.raw_message_id)
        .where(*chosen)
        .order_by(apps.c.id)
    )
    found = session.connection().execute(query).mappings().all()
    flags, documents, follow_ups = _by_application(session, select(apps.c.id).where(*chosen))
    referrers = _people(session, {app["referrer_id"] for app in found} - {None})
    decided = _decisions(session, select(apps.c.id).where(*chosen))
    return [
        _row(app, flags[app["id"]], documents[app["id"]])
        | {
            "referred_by": referrers.get(app["referrer_id"]),
            "score": app["score"],
            "replies": app["replies"] or [],
            "follow_ups": follow_ups.get(app["id"], 0),
            "decision": decided.get(app["id"]),
        }
        for app in found
    ]


def _decisions(session: Session, ids: Select) -> dict[int, dict]:
    """Each application's recruiters' decision (its latest review in the workspace)."""
    reviews = models.Review.__table__
    newest = (select(func.max(reviews.c.id)).where(reviews.c.application_id.in_(ids))).group_by(
        reviews.c.application_id
    )
    rows = session.connection().execute(select(reviews).where(reviews.c.id.in_(newest)))
    return {
        row.application_id: {
            "action": row.action,
            "by": row.recruiter,
            "at": _iso(row.created_at),
            "note": row.note,
        }
        for row in rows
    }


def _people(session: Session, ids: set[int]) -> dict[int, dict]:
    query = select(models.Applicant).where(col(models.Applicant.id).in_(ids))
    return {p.id: {"name": p.name, "email": p.email} for p in session.exec(query)}


FOR_A_PERSON = ("question", "follow_up", "other")
UNANSWERED = ("spam", "bulk")


def other_rows(
    session: Session, since: datetime | None = None, kinds: tuple[str, ...] = FOR_A_PERSON
) -> list[dict]:
    """Mail that is not an application. By default what a person should read: questions,
    follow-ups that continue nothing we have, other mail, and quarantined messages; with
    `kinds=UNANSWERED`, the spam and bulk mail nobody answers (auto-replies and bounces
    are never listed), which is not read again: a line each, dated when it was fetched."""
    chosen = col(models.RawMessage.kind).in_(kinds)
    read = kinds == FOR_A_PERSON
    if read:
        chosen = or_(chosen, models.RawMessage.status == "failed")
    query = (
        select(models.RawMessage)
        .where(col(models.RawMessage.application_id).is_(None), chosen)
        .order_by(models.RawMessage.id)
    )
    if not read:
        query = query.options(defer(models.RawMessage.raw))
    if since:
        query = query.where(models.RawMessage.fetched_at >= since)
    return [_other(raw, read) for raw in session.exec(query)]


def _other(raw: models.RawMessage, read: bool) -> dict:
    from intake.extraction.extract import new_words  # mail-parser: only where mail is read

    # quarantined mail may not read at all: ("", None)
    text, date = new_words(raw.raw) if read else (None, None)
    return {
        "mailbox": raw.mailbox,
        "uid": raw.uid,
        "kind": raw.kind or "quarantined",
        "sender": raw.sender,
        "subject": raw.subject,
        "date": _iso(date or raw.fetched_at),
        "text": text,
        "error": raw.error,
        "reason": ((raw.decision or {}).get("verdict") or {}).get("reason"),
    }


# What the rows show of flags and documents (not a document's links, not its hash).
SHOWN = {
    models.Flag: ("application_id", "code", "message", "evidence"),
    models.Document: (
        "application_id",
        "filename",
        "content_type",
        "size",
        "role",
        "text",
        "error",
        "ocr",
    ),
}


def _by_application(session: Session, ids: Select):
    """Flags, documents and follow-up counts of the applications `ids` selects, in three
    queries."""
    flags: dict[int, list[RowMapping]] = defaultdict(list)
    documents: dict[int, list[RowMapping]] = defaultdict(list)
    connection = session.connection()
    for model, found in ((models.Flag, flags), (models.Document, documents)):
        table = model.__table__
        columns = [table.c[name] for name in SHOWN[model]]
        query = select(*columns).where(table.c.application_id.in_(ids)).order_by(table.c.id)
        for row in connection.execute(query).mappings().all():
            found[row["application_id"]].append(row)
    counts = session.exec(
        select(models.RawMessage.application_id, func.count())
        .where(col(models.RawMessage.application_id).in_(ids))
        .group_by(models.RawMessage.application_id)
    )
    return flags, documents, dict(counts.all())


def _row(app: RowMapping, flags: list[RowMapping], documents: list[RowMapping]) -> dict:
    """One application (its row joined with its applicant's name and address, its first
    message's Message-ID and who its decision says referred it) as the export and the
    digest show it."""
    resumes = [d for d in documents if d["role"] == "resume"]
    chosen = roles.pick([(d["filename"], not d["error"]) for d in resumes])
    resume = None if chosen is None else resumes[chosen]
    period = None
    if app["period_start"]:
        period = {key: app[f"period_{key}"] for key in ("text", "start", "end")}
    return {
        "application_id": app["id"],
        "kind": "application",
        "mailbox": app["mailbox"],
        "posting": app["posting"],
        "status": app["status"],
        "message_id": app["message_id"],
        "sender": app["referred_by"] or {"name": app["person_name"], "email": app["person_email"]},
        "applicant": {"name": app["person_name"], "email": app["person_email"]},
        "subject": app["subject"],
        "date": _iso(app["received_at"]),
        "github": list(app["github"]),
        "internship_period": period,
        "internship_area": app["area"],
        "eligibility": {
            "status": app["eligibility"],
            "basis": list(app["eligibility_basis"]),
            "evidence": list(app["eligibility_evidence"]),
        },
        "needs_sponsorship": app["needs_sponsorship"],
        "resume": resume
        and {
            "filename": resume["filename"],
            "content_type": resume["content_type"],
            "text": resume["text"] or "",
            "state": _state(resume),
            "error": resume["error"],
            "ocr": resume["ocr"],
        },
        "cover_letter": app["cover_letter"],
        "attachments": [
            {
                "filename": d["filename"],
                "content_type": d["content_type"],
                "size": d["size"],
                "role": d["role"],
                "state": _state(d),
                "error": d["error"],
            }
            for d in documents
        ],
        "flags": [{key: f[key] for key in ("code", "message", "evidence")} for f in flags],
        "duplicate_of": app["duplicate_of"],
        "stored_at": _iso(app["created_at"]),
        "updated_at": _iso(app["updated_at"]),
    }


def _state(doc: RowMapping) -> str:
    """As documents.DocumentText.state: unreadable, no_text (a scan) or text."""
    if doc["error"]:
        return "unreadable"
    return "text" if doc["text"] else "no_text"


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def to_json(rows: list[dict]) -> str:
    return orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode()


def to_csv(rows: list[dict]) -> str:
    """One line per application; lists joined with spaces, evidence with " | ". A cell an
    applicant wrote that starts like a formula (=, +, -, @) gets a leading apostrophe, so
    a spreadsheet shows it instead of running it (OWASP's CSV injection advice)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    writer.writerows([_inert(value) for value in _cells(row)] for row in rows)
    return out.getvalue()


def _cells(row: dict) -> tuple:
    """One application's CSV cells, in CSV_FIELDS order."""
    period = row["internship_period"] or {}
    eligibility = row["eligibility"]
    return (
        row["application_id"],
        row["posting"],
        row["status"],
        row["applicant"]["name"],
        row["applicant"]["email"],
        (row["referred_by"] or {}).get("email"),
        row["subject"],
        row["date"],
        period.get("text"),
        period.get("start"),
        period.get("end"),
        row["internship_area"],
        eligibility["status"],
        " ".join(eligibility["basis"]),
        " | ".join(e["text"] for e in eligibility["evidence"]),
        row["needs_sponsorship"],
        " ".join(row["github"]),
        row["resume"] and row["resume"]["filename"],
        " ".join(f["code"] for f in row["flags"]),
        row["duplicate_of"],
        row["follow_ups"],
        row["cover_letter"],
        (row["decision"] or {}).get("action"),
        (row["decision"] or {}).get("by"),
    )


def _inert(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
