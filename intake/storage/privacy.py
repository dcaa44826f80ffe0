"""Privacy: retention (`purge`), forgetting one person (`forget`) and the tombstones that
keep a forgotten person's mail out for good.

Both commands select first and change second, with the same selection, so a dry run
counts exactly what `--yes` removes. Every function takes an open Session and never
commits: the caller owns the transaction, so a purge or a forget happens whole or not at
all.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr

from sqlmodel import Session, col, or_, select

from intake.mail.parse import addresses
from intake.storage import models, search

# Application statuses a recruiter will not act on again: what retention may purge.
CLOSED = ("closed", "ineligible")
SALT = "tombstone_salt"
ADDRESS_HEADERS = ("from", "sender", "reply-to", "to", "cc")


@dataclass(frozen=True)
class Retention:
    """Days to keep, by what the mail became (0: forever); see config `[retention]`."""

    raw_mail_days: int = 0  # raw mail of closed and ineligible applications
    documents_days: int = 0  # their documents' text and cover letters
    other_mail_days: int = 0  # raw mail that made no application (quarantined, spam...)


def purge(session: Session, retention: Retention, now: datetime, apply: bool) -> dict[str, int]:
    """What retention removes now (counts by kind); with `apply`, remove it. Rows stay
    (the message is still recognised when polled again and never stored twice); what
    goes is the raw bytes and the text read from documents. Idempotent: purged rows are
    never counted again."""
    found = {
        "raw_mail": _raw_of_closed(session, retention.raw_mail_days, now),
        "other_mail": _other_mail(session, retention.other_mail_days, now),
        "documents": _documents(session, retention, now),
        "cover_letters": _cover_letters(session, retention.documents_days, now),
    }
    if apply:
        for raw in (*found["raw_mail"], *found["other_mail"]):
            blank(session, raw, now)
        for doc in found["documents"]:
            doc.text, doc.links, doc.purged_at = None, None, now
            session.add(doc)
        for app in found["cover_letters"]:
            app.cover_letter = None
            session.add(app)
        session.flush()
        purged = {d.application_id for d in found["documents"]} | {
            a.id for a in found["cover_letters"]
        }
        search.forget(session, purged - {None})  # indexed again from what is left
    return {kind: len(rows) for kind, rows in found.items()}


def blank(session: Session, raw: models.RawMessage, now: datetime) -> None:
    """Delete a message's bytes, keeping the row that recognises it when seen again."""
    raw.raw, raw.purged_at = b"", now
    session.add(raw)


def _closed_before(days: int, now: datetime):
    """Ids of closed and ineligible applications untouched for `days` (None: keep)."""
    if not days:
        return None
    return select(models.Application.id).where(
        col(models.Application.status).in_(CLOSED),
        models.Application.updated_at < now - timedelta(days=days),
    )


def _raw_of_closed(session: Session, days: int, now: datetime) -> list[models.RawMessage]:
    """The messages of closed applications: the first one and every follow-up."""
    closed = _closed_before(days, now)
    if closed is None:
        return []
    owners = select(models.Application.raw_message_id).where(col(models.Application.id).in_(closed))
    return _unpurged(
        session,
        or_(
            col(models.RawMessage.id).in_(owners), col(models.RawMessage.application_id).in_(closed)
        ),
    )


def _other_mail(session: Session, days: int, now: datetime) -> list[models.RawMessage]:
    """Messages that are part of no application (quarantined, spam, questions...)."""
    if not days:
        return []
    owners = select(models.Application.raw_message_id)
    return _unpurged(
        session,
        col(models.RawMessage.application_id).is_(None),
        col(models.RawMessage.id).not_in(owners),
        models.RawMessage.fetched_at < now - timedelta(days=days),
    )


def _unpurged(session: Session, *where) -> list[models.RawMessage]:
    query = select(models.RawMessage).where(col(models.RawMessage.purged_at).is_(None), *where)
    return list(session.exec(query.order_by(models.RawMessage.id)))


def _documents(session: Session, retention: Retention, now: datetime) -> list[models.Document]:
    """Documents of closed applications, and of mail that made none, past their time."""
    wanted = []
    closed = _closed_before(retention.documents_days, now)
    if closed is not None:
        wanted.append(col(models.Document.application_id).in_(closed))
    other = [r.id for r in _other_mail(session, retention.other_mail_days, now)]
    if other:
        wanted.append(col(models.Document.raw_message_id).in_(other))
    if not wanted:
        return []
    query = select(models.Document).where(col(models.Document.purged_at).is_(None), or_(*wanted))
    return list(session.exec(query.order_by(models.Document.id)))


def _cover_letters(session: Session, days: int, now: datetime) -> list[models.Application]:
    closed = _closed_before(days, now)
    if closed is None:
        return []
    query = select(models.Application).where(
        col(models.Application.id).in_(closed), col(models.Application.cover_letter).is_not(None)
    )
    return list(session.exec(query))


# --- forgetting one person -------------------------------------------------------------


def normalise(address: str) -> str:
    """The address as compared and hashed: the bare address, lower-cased."""
    return parseaddr(address)[1].strip().lower()


def digest(salt: str, address: str) -> str:
    """sha256 of the installation's salt and the address: the same address hashes alike
    here (so the pipeline recognises it) and differently in any other installation, and
    no table of hashed common addresses made elsewhere can reverse it."""
    return hashlib.sha256(f"{salt}\n{normalise(address)}".encode()).hexdigest()


def salt(session: Session) -> str:
    """The installation's salt, made at the first forget."""
    row = session.get(models.Setting, SALT)
    if row is None:
        row = models.Setting(name=SALT, value=secrets.token_hex(32))
        session.add(row)
        session.flush()
    return row.value


def header_addresses(raw: bytes) -> set[str]:
    """Every address in a message's From, Sender, Reply-To, To and Cc (normalised), read
    as the sender is read: the address in angle brackets, whatever the name holds."""
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
        values = [str(v) for name in ADDRESS_HEADERS for v in headers.get_all(name, [])]
    except Exception:  # unreadable headers name nobody
        return set()
    return set(addresses(values))


@dataclass(frozen=True)
class Tombstones:
    """The forgotten, loaded once per batch: `covers(raw)` says a message names one."""

    salt: str | None = None
    digests: frozenset[str] = frozenset()

    @classmethod
    def load(cls, session: Session) -> Tombstones:
        found = frozenset(session.exec(select(models.Tombstone.digest)))
        row = session.get(models.Setting, SALT) if found else None
        return cls(row.value if row else None, found)

    def covers(self, raw: bytes) -> bool:
        if not self.digests or self.salt is None:
            return False
        return any(digest(self.salt, a) in self.digests for a in header_addresses(raw))


@dataclass
class Forgetting:
    """Everything stored about one address, selected before anything is deleted."""

    address: str
    applicants: list[models.Applicant] = field(default_factory=list)
    applications: list[models.Application] = field(default_factory=list)
    messages: list[models.RawMessage] = field(default_factory=list)
    # their messages that made someone else's application (a referral): bytes deleted,
    # row kept for that application
    blanked: list[models.RawMessage] = field(default_factory=list)
    documents: list[models.Document] = field(default_factory=list)
    flags: list[models.Flag] = field(default_factory=list)
    outbox: list[models.Outbox] = field(default_factory=list)
    bounced: list[models.BouncedAddress] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        names = ("applicants", "applications", "messages", "blanked", "documents", "flags")
        return {name: len(getattr(self, name)) for name in (*names, "outbox", "bounced")}


def forget(session: Session, address: str, now: datetime, apply: bool) -> dict[str, int]:
    """Everything about one person (counts by table); with `apply`, delete it and keep
    only a tombstone, so their mail is never stored again."""
    found = select_person(session, normalise(address))
    if apply:
        _delete(session, found, now)
        mark = digest(salt(session), found.address)
        if session.get(models.Tombstone, mark) is None:
            session.add(models.Tombstone(digest=mark, created_at=now))
        session.flush()
    return found.counts()


def select_person(session: Session, address: str) -> Forgetting:
    found = Forgetting(address)
    found.applicants = _where(session, models.Applicant, models.Applicant.email == address)
    people = [p.id for p in found.applicants]
    found.applications = _where(
        session, models.Application, col(models.Application.applicant_id).in_(people)
    )
    apps = [a.id for a in found.applications]
    theirs = _messages(session, address, apps)
    pairs = session.exec(select(models.Application.raw_message_id, models.Application.id))
    owners = {raw_id: app_id for raw_id, app_id in pairs}
    found.blanked = [r for r in theirs if r.id in owners and owners[r.id] not in apps]
    found.messages = [r for r in theirs if r not in found.blanked]
    raw_ids = [r.id for r in found.messages]
    for name, model in (("documents", models.Document), ("flags", models.Flag)):
        linked = or_(col(model.application_id).in_(apps), col(model.raw_message_id).in_(raw_ids))
        setattr(found, name, _where(session, model, linked))
    found.outbox = _where(
        session,
        models.Outbox,
        or_(
            models.Outbox.to_address == address,
            col(models.Outbox.application_id).in_(apps),
            col(models.Outbox.trigger_id).in_(raw_ids),
        ),
    )
    found.bounced = _where(session, models.BouncedAddress, models.BouncedAddress.address == address)
    return found


def _where(session: Session, model, condition) -> list:
    return list(session.exec(select(model).where(condition)))


def _messages(session: Session, address: str, apps: list[int]) -> list[models.RawMessage]:
    """Their applications' messages, what they sent, and every message naming them in
    its address headers (read from the raw bytes: a quarantined message has no sender)."""
    linked = or_(
        col(models.RawMessage.application_id).in_(apps),
        col(models.RawMessage.id).in_(
            select(models.Application.raw_message_id).where(col(models.Application.id).in_(apps))
        ),
        models.RawMessage.sender == address,
    )
    found = {r.id: r for r in _where(session, models.RawMessage, linked)}
    for raw in _naming(session, address, set(found)):
        found[raw.id] = raw
    return [found[key] for key in sorted(found)]


def _naming(session: Session, address: str, skip: set[int]) -> Iterator[models.RawMessage]:
    query = select(models.RawMessage).where(col(models.RawMessage.purged_at).is_(None))
    for raw in session.exec(query.execution_options(yield_per=100)):
        if raw.id not in skip and address in header_addresses(raw.raw):
            yield raw


def _delete(session: Session, found: Forgetting, now: datetime) -> None:
    """In the order foreign keys allow; what pointed at a deleted row no longer does."""
    apps = {a.id for a in found.applications}
    people = {p.id for p in found.applicants}
    _drop(session, [*found.outbox, *found.flags, *found.documents])
    for app in session.exec(select(models.Application)):
        if app.id not in apps:
            _unlink(session, app, duplicate_of=apps, referrer_id=people)
    for raw in found.blanked:
        blank(session, raw, now)
        raw.sender, raw.subject, raw.decision = None, None, None
        _unlink(session, raw, application_id=apps)
    _drop(session, found.applications)
    _drop(session, [*found.messages, *found.applicants, *found.bounced])


def _unlink(session: Session, row, **gone: Iterable[int]) -> None:
    for name, ids in gone.items():
        if getattr(row, name) in ids:
            setattr(row, name, None)
            session.add(row)


def _drop(session: Session, rows: list) -> None:
    for row in rows:
        session.delete(row)
    session.flush()
