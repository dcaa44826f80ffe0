"""What the workspace's pages show, read from the database: the triage list with its
filters, sort and search, and one application with everything stored about it. Plain
reads (the pages render them); what an account may see is decided here too."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from intake.storage import models, search
from intake.web import reviews

LIMIT = 500
SORTS = {
    "received": models.Application.received_at,
    "name": models.Applicant.name,
    "status": models.Application.status,
    "posting": models.Application.posting,
    "eligibility": models.Application.eligibility,
    "area": models.Application.area,
    "period": models.Application.period_start,
}
FILTERS = ("posting", "status", "eligibility", "area", "period_start", "flag", "decision")
COLUMNS = ("posting", "status", "eligibility", "area", "period_start")  # filtered in SQL


@dataclass
class Listing:
    rows: list[dict]
    total: int  # before LIMIT
    choices: dict[str, list[str]] = field(default_factory=dict)  # filter -> values seen


def visible(account: models.Recruiter):
    """The applications an account sees: its postings (unrouted ones only for those
    who see every posting)."""
    if account.postings is None:
        return True
    return col(models.Application.posting).in_(account.postings)


def triage(
    session: Session,
    account: models.Recruiter,
    chosen: dict[str, str],
    query: str = "",
    sort: str = "received",
    descending: bool = True,
) -> Listing:
    """The applications an account sees, filtered by `chosen` (filter name -> value; an
    empty value or "none" for "not set"), matching the full-text `query`, sorted."""
    apps, people = models.Application, models.Applicant
    statement = (
        select(apps, people)
        .join(people, col(people.id) == apps.applicant_id)
        .where(visible(account))
    )
    for name, value in chosen.items():
        if name in COLUMNS and value:
            column = getattr(apps, name)
            statement = statement.where(column.is_(None) if value == "none" else column == value)
    if chosen.get("flag"):
        flagged = select(models.Flag.application_id).where(models.Flag.code == chosen["flag"])
        statement = statement.where(col(apps.id).in_(flagged))
    matching = search.matching(session, query) if query else None
    if matching is not None:
        statement = statement.where(col(apps.id).in_(matching))
    order = SORTS.get(sort, SORTS["received"])
    statement = statement.order_by(order.desc() if descending else order.asc(), apps.id.desc())
    found = list(session.exec(statement))
    decided = reviews.latest(session, [app.id for app, _ in found])
    wanted = chosen.get("decision")
    if wanted:
        found = [
            (app, who)
            for app, who in found
            if (decided[app.id].action if app.id in decided else "none") == wanted
        ]
    flags = _flag_codes(session, [app.id for app, _ in found[:LIMIT]])
    rows = [_row(app, who, flags[app.id], decided.get(app.id)) for app, who in found[:LIMIT]]
    return Listing(rows, len(found), _choices(session, account))


def _row(app, who, flags: list[str], decision: models.Review | None) -> dict:
    return {
        "id": app.id,
        "posting": app.posting,
        "status": app.status,
        "name": who.name,
        "email": who.email,
        "received_at": app.received_at or app.created_at,
        "period": app.period_text,
        "area": app.area,
        "eligibility": app.eligibility,
        "flags": flags,
        "decision": decision.action if decision else None,
    }


def _flag_codes(session: Session, ids: list[int]) -> dict[int, list[str]]:
    codes: dict[int, list[str]] = defaultdict(list)
    rows = session.exec(
        select(models.Flag.application_id, models.Flag.code)
        .where(col(models.Flag.application_id).in_(ids))
        .order_by(models.Flag.id)
    )
    for app_id, code in rows:
        codes[app_id].append(code)
    return codes


def _choices(session: Session, account: models.Recruiter) -> dict[str, list[str]]:
    apps = models.Application
    values = {}
    for name in COLUMNS:
        column = getattr(apps, name)
        found = session.exec(select(column).where(visible(account)).distinct())
        values[name] = sorted(v for v in found if v)
    flags = select(models.Flag.code).join(apps, col(apps.id) == models.Flag.application_id)
    values["flag"] = sorted(session.exec(flags.where(visible(account)).distinct()))
    values["decision"] = [*reviews.ACTIONS, "none"]
    return values


@dataclass
class Detail:
    application: models.Application
    applicant: models.Applicant
    referrer: models.Applicant | None
    documents: list[models.Document]
    flags: list[models.Flag]
    messages: list[models.RawMessage]
    replies: list[models.Outbox]
    reviews: list[models.Review]
    duplicates: list[models.Application]

    @property
    def decision(self) -> models.Review | None:
        return self.reviews[-1] if self.reviews else None


def detail(session: Session, account: models.Recruiter, app_id: int) -> Detail | None:
    """Everything stored about one application, or None (no such application, or one
    this account does not see)."""
    apps = models.Application
    app = session.exec(select(apps).where(apps.id == app_id, visible(account))).first()
    if app is None:
        return None

    def rows(model, *where, order=None):
        return list(session.exec(select(model).where(*where).order_by(order or model.id)))

    raws = models.RawMessage
    return Detail(
        application=app,
        applicant=session.get(models.Applicant, app.applicant_id),
        referrer=session.get(models.Applicant, app.referrer_id) if app.referrer_id else None,
        documents=rows(models.Document, models.Document.application_id == app.id),
        flags=rows(models.Flag, models.Flag.application_id == app.id),
        messages=rows(raws, or_(raws.application_id == app.id, raws.id == app.raw_message_id)),
        replies=rows(models.Outbox, models.Outbox.application_id == app.id),
        reviews=rows(models.Review, models.Review.application_id == app.id),
        duplicates=rows(
            apps,
            apps.id != app.id,
            visible(account),
            or_(
                apps.applicant_id == app.applicant_id,
                apps.duplicate_of == app.id,
                apps.id == app.duplicate_of,
            ),
        ),
    )


def received(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def attachment(raw: bytes, sha256: str) -> bytes | None:
    """A stored document's bytes, found again in its message (documents keep only their
    text and hash); None when the mail was purged or the part is gone."""
    import email
    import hashlib
    from email import policy

    if not raw:
        return None
    for part in email.message_from_bytes(raw, policy=policy.default).walk():
        if part.is_multipart():
            continue
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:  # a damaged part cannot be the document we read
            continue
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
    return None
