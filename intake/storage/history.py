"""What the database knows that a decision about a new message needs: a snapshot, read
once before `decision.decide` runs.

The application the message's thread belongs to (In-Reply-To/References: our reply's
Message-ID or the applicant's own message), the same person's earlier applications (same
address; a GitHub login or full name shared with another address only as a hint for a
recruiter) with the messages of those it could continue, and the state of the addresses
a reply might go to (bounced, recent replies).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, func, or_, select

from intake.decisions.decision import Earlier, History, Person, Setup, people
from intake.extraction.extract import Part, alone
from intake.extraction.links import logins
from intake.storage import models

ReadPart = Callable[[models.RawMessage], Part]


def load(
    session: Session,
    raw: models.RawMessage,
    part: Part,
    setup: Setup,
    read_part: ReadPart,
    now: datetime,
) -> History:
    """The snapshot for `raw` (whose `part` is already read): only what came before it."""
    msg = part.message
    single = alone(part)
    applicant, referrer = people(part, single, setup.own_addresses)
    since = _aware(part.date or now) - timedelta(days=setup.follow_up_days)
    thread = _thread(session, [*msg.references, *filter(None, [msg.in_reply_to])], raw.id)

    author = (msg.sender_email or "").lower()

    def earlier(app: models.Application, recent: bool) -> Earlier:
        """Its messages are read only when this message may continue it: recent, and
        written by one of its authors."""
        authors = _authors(session, app)
        parts = read_part if recent and author in authors else None
        return _earlier(session, app, authors, parts, raw.id)

    person = [
        earlier(app, _aware(app.received_at or app.created_at) >= since)
        for app in by_person(session, applicant, single.github, raw.id)
    ]
    addresses = {p.email.lower() for p in (applicant, referrer) if p and p.email}
    return History(
        thread=earlier(thread, True) if thread else None,
        person=tuple(person),
        bounced=frozenset(
            session.exec(
                select(models.BouncedAddress.address).where(
                    col(models.BouncedAddress.address).in_(addresses)
                )
            )
        ),
        recent=_recent_replies(
            session, addresses, now - timedelta(hours=setup.policy.window_hours)
        ),
    )


def _earlier(
    session: Session,
    app: models.Application,
    authors: frozenset[str],
    read_part: ReadPart | None,
    before_raw_id: int,
) -> Earlier:
    """An application, with its messages before `before_raw_id` re-read when it may be
    continued (reprocessing in order never sees a later message as history)."""
    parts: tuple[Part, ...] = ()
    if read_part is not None:
        rows = session.exec(
            select(models.RawMessage)
            .where(
                or_(
                    models.RawMessage.id == app.raw_message_id,
                    models.RawMessage.application_id == app.id,
                ),
                models.RawMessage.id < before_raw_id,
            )
            .order_by(models.RawMessage.id)
        )
        parts = tuple(read_part(row) for row in rows)
    received = _aware(app.received_at) if app.received_at else None
    return Earlier(app.id, app.posting, received, parts, authors)


def _authors(session: Session, app: models.Application) -> frozenset[str]:
    """Who wrote the application: its applicant's address and the From of its messages."""
    applicant = session.get(models.Applicant, app.applicant_id)
    senders = session.exec(
        select(models.RawMessage.sender).where(
            or_(
                models.RawMessage.id == app.raw_message_id,
                models.RawMessage.application_id == app.id,
            )
        )
    )
    found = {applicant.email if applicant else None, *senders}
    return frozenset(a.lower() for a in found if a)


def _thread(session: Session, ids: list[str], before_raw_id: int) -> models.Application | None:
    """The application a reply belongs to, by the Message-IDs it answers."""
    if not ids:
        return None
    reply = session.exec(
        select(models.Outbox).where(
            col(models.Outbox.message_id).in_(ids), col(models.Outbox.application_id).is_not(None)
        )
    ).first()
    if reply:
        return session.get(models.Application, reply.application_id)
    query = select(models.RawMessage).where(
        col(models.RawMessage.message_id).in_(ids), models.RawMessage.id < before_raw_id
    )
    for row in session.exec(query):
        if row.application_id:
            return session.get(models.Application, row.application_id)
        owned = session.exec(
            select(models.Application).where(models.Application.raw_message_id == row.id)
        ).first()
        if owned:
            return owned
    return None


def by_person(
    session: Session, person: Person, github: Iterable[str], before_raw_id: int
) -> list[models.Application]:
    """Earlier applications that may be the same person's, oldest first: the same
    (lower-cased) address, a GitHub link to the same login, or the same full name. Only
    the address makes them the person's (`Earlier.written_by`); the rest is a hint.
    Each is an index lookup (never a scan of every application: this runs per message)."""
    conditions = []
    if person.email:
        conditions.append(models.Applicant.email == person.email.lower())
    if person.name and len(person.name.split()) >= 2:
        conditions.append(models.Applicant.name_key == models.name_key(person.name))
    found = set()
    if conditions:
        query = select(models.Application.id).join(
            models.Applicant, models.Applicant.id == models.Application.applicant_id
        )
        found.update(session.exec(query.where(or_(*conditions))))
    if found_logins := sorted(logins(github)):
        linked = select(models.GithubLogin.application_id).where(
            col(models.GithubLogin.login).in_(found_logins)
        )
        found.update(session.exec(linked))
    if not found:
        return []
    query = (
        select(models.Application)
        .where(
            col(models.Application.id).in_(found), models.Application.raw_message_id < before_raw_id
        )
        .order_by(models.Application.id)
    )
    return list(session.exec(query))


def _recent_replies(session: Session, addresses: set[str], since: datetime) -> dict[str, int]:
    if not addresses:
        return {}
    query = (
        select(models.Outbox.to_address, func.count())
        .where(
            col(models.Outbox.to_address).in_(addresses),
            col(models.Outbox.status).in_(models.COUNTED),
            models.Outbox.created_at >= since,
        )
        .group_by(models.Outbox.to_address)
    )
    return dict(session.exec(query).all())


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
