"""Applications as plain rows: the JSON export (same field names as `intake parse --json`),
the CSV export (one row per application), and the digest's input."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import Row, Select
from sqlmodel import Session, col, func, or_, select

from intake.extraction import roles
from intake.extraction.extract import new_words
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
)


def application_rows(
    session: Session,
    since: datetime | None = None,
    posting: str | None = None,
) -> list[dict]:
    """Every application (changed since `since`, for `posting`), oldest first. Plain rows,
    not ORM objects, and no raw mail: rows for 10,000 applications take about a second."""
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
    found = session.connection().execute(query).all()
    flags, documents, follow_ups = _by_application(session, select(apps.c.id).where(*chosen))
    referrers = _people(session, {app.referrer_id for app in found} - {None})
    return [
        _row(app, flags[app.id], documents[app.id])
        | {
            "referred_by": referrers.get(app.referrer_id),
            "score": app.score,
            "replies": app.replies or [],
            "follow_ups": follow_ups.get(app.id, 0),
        }
        for app in found
    ]


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
    are never listed)."""
    chosen = col(models.RawMessage.kind).in_(kinds)
    if kinds == FOR_A_PERSON:
        chosen = or_(chosen, models.RawMessage.status == "failed")
    query = (
        select(models.RawMessage)
        .where(col(models.RawMessage.application_id).is_(None), chosen)
        .order_by(models.RawMessage.id)
    )
    if since:
        query = query.where(models.RawMessage.fetched_at >= since)
    return [_other(raw) for raw in session.exec(query)]


def _other(raw: models.RawMessage) -> dict:
    text, date = new_words(raw.raw)  # quarantined mail may not read at all: ("", None)
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


def _by_application(session: Session, ids: Select):
    """Flags, documents and follow-up counts of the applications `ids` selects, in three
    queries."""
    flags: dict[int, list[Row]] = defaultdict(list)
    documents: dict[int, list[Row]] = defaultdict(list)
    connection = session.connection()
    for model, found in ((models.Flag, flags), (models.Document, documents)):
        table = model.__table__
        query = select(table).where(table.c.application_id.in_(ids)).order_by(table.c.id)
        for row in connection.execute(query):
            found[row.application_id].append(row)
    counts = session.exec(
        select(models.RawMessage.application_id, func.count())
        .where(col(models.RawMessage.application_id).in_(ids))
        .group_by(models.RawMessage.application_id)
    )
    return flags, documents, dict(counts.all())


def _row(app: Row, flags: list[Row], documents: list[Row]) -> dict:
    """One application (its row joined with its applicant's name and address, its first
    message's Message-ID and who its decision says referred it) as the export and the
    digest show it."""
    resumes = [d for d in documents if d.role == "resume"]
    chosen = roles.pick([(d.filename, not d.error) for d in resumes])
    resume = None if chosen is None else resumes[chosen]
    period = None
    if app.period_start:
        period = {"text": app.period_text, "start": app.period_start, "end": app.period_end}
    return {
        "application_id": app.id,
        "kind": "application",
        "mailbox": app.mailbox,
        "posting": app.posting,
        "status": app.status,
        "message_id": app.message_id,
        "sender": app.referred_by or {"name": app.person_name, "email": app.person_email},
        "applicant": {"name": app.person_name, "email": app.person_email},
        "subject": app.subject,
        "date": _iso(app.received_at),
        "github": list(app.github),
        "internship_period": period,
        "internship_area": app.area,
        "eligibility": {
            "status": app.eligibility,
            "basis": list(app.eligibility_basis),
            "evidence": list(app.eligibility_evidence),
        },
        "needs_sponsorship": app.needs_sponsorship,
        "resume": resume
        and {
            "filename": resume.filename,
            "content_type": resume.content_type,
            "text": resume.text or "",
            "state": _state(resume),
            "error": resume.error,
            "ocr": resume.ocr,
        },
        "cover_letter": app.cover_letter,
        "attachments": [
            {
                "filename": d.filename,
                "content_type": d.content_type,
                "size": d.size,
                "role": d.role,
                "state": _state(d),
                "error": d.error,
            }
            for d in documents
        ],
        "flags": [{"code": f.code, "message": f.message, "evidence": f.evidence} for f in flags],
        "duplicate_of": app.duplicate_of,
        "stored_at": _iso(app.created_at),
        "updated_at": _iso(app.updated_at),
    }


def _state(doc: Row) -> str:
    """As documents.DocumentText.state: unreadable, no_text (a scan) or text."""
    if doc.error:
        return "unreadable"
    return "text" if doc.text else "no_text"


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def to_json(rows: list[dict]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2)


def to_csv(rows: list[dict]) -> str:
    """One line per application; lists joined with spaces, evidence with " | ". A cell an
    applicant wrote that starts like a formula (=, +, -, @) gets a leading apostrophe, so
    a spreadsheet shows it instead of running it (OWASP's CSV injection advice)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        period = row["internship_period"] or {}
        eligibility = row["eligibility"]
        writer.writerow(
            {
                key: _inert(value)
                for key, value in {
                    "application_id": row["application_id"],
                    "posting": row["posting"],
                    "status": row["status"],
                    "name": row["applicant"]["name"],
                    "email": row["applicant"]["email"],
                    "referred_by": (row["referred_by"] or {}).get("email"),
                    "subject": row["subject"],
                    "date": row["date"],
                    "period_text": period.get("text"),
                    "period_start": period.get("start"),
                    "period_end": period.get("end"),
                    "area": row["internship_area"],
                    "eligibility": eligibility["status"],
                    "eligibility_basis": " ".join(eligibility["basis"]),
                    "eligibility_evidence": " | ".join(e["text"] for e in eligibility["evidence"]),
                    "needs_sponsorship": row["needs_sponsorship"],
                    "github": " ".join(row["github"]),
                    "resume_filename": row["resume"] and row["resume"]["filename"],
                    "flags": " ".join(f["code"] for f in row["flags"]),
                    "duplicate_of": row["duplicate_of"],
                    "follow_ups": row["follow_ups"],
                    "cover_letter": row["cover_letter"],
                }.items()
            }
        )
    return out.getvalue()


def _inert(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
