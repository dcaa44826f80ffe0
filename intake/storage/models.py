"""The tables. Raw bytes are kept for every message so a rule change can be re-run."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def name_key(name: str | None) -> str | None:
    """How a full name is looked up (`Applicant.name_key`): lower-cased, Unicode and all
    (SQL's lower() leaves non-ASCII letters alone)."""
    return name.lower() if name else None


class RawMessage(SQLModel, table=True):
    """Every message ever fetched, once. `dedupe_key` is the Message-ID, else the sha256."""

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=1024)
    message_id: str | None = Field(default=None, index=True, max_length=998)
    sha256: str = Field(index=True, max_length=64)
    mailbox: str = Field(index=True, max_length=200)
    folder: str = Field(max_length=1000)
    # IMAP UIDVALIDITY and UIDs are unsigned 32-bit numbers (RFC 3501): above INTEGER's range
    uidvalidity: int = Field(sa_type=BigInteger)
    uid: int = Field(sa_type=BigInteger)
    size: int
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    fetched_at: datetime = Field(default_factory=utcnow)
    status: str = Field(default="stored", index=True, max_length=20)  # processed | failed
    kind: str | None = Field(default=None, max_length=20)
    sender: str | None = Field(default=None, max_length=320)
    # A follow-up folded into an earlier application points at it.
    application_id: int | None = Field(default=None, index=True)
    subject: str | None = Field(default=None, sa_column=Column(Text))
    error: str | None = Field(default=None, sa_column=Column(Text))
    # What was decided and why: every signal and check, hit or miss (decision.to_json).
    decision: dict | None = Field(default=None, sa_column=Column(JSON))
    # When retention deleted the raw bytes (`raw` is then empty): the row stays, so the
    # message is still recognised when seen again and never stored twice.
    purged_at: datetime | None = None


class Checkpoint(SQLModel, table=True):
    """How far a mailbox has been processed: valid only for its UIDVALIDITY."""

    mailbox: str = Field(primary_key=True, max_length=200)
    uidvalidity: int = Field(sa_type=BigInteger)
    last_uid: int = Field(sa_type=BigInteger)
    updated_at: datetime = Field(default_factory=utcnow)


class Applicant(SQLModel, table=True):
    """A person: an applicant, or someone who referred one. The address is unknown when a
    forwarded application does not show the candidate's."""

    id: int | None = Field(default=None, primary_key=True)
    email: str | None = Field(default=None, unique=True, max_length=320)
    name: str | None = Field(default=None, max_length=500)
    # `name` lower-cased, indexed: a person's earlier applications are found by it
    name_key: str | None = Field(default=None, index=True, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class Application(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    applicant_id: int = Field(foreign_key="applicant.id", index=True)
    # who forwarded or referred the candidate, when someone else did
    referrer_id: int | None = Field(default=None, foreign_key="applicant.id", index=True)
    raw_message_id: int = Field(foreign_key="rawmessage.id", unique=True)
    mailbox: str = Field(index=True, max_length=200)
    posting: str | None = Field(default=None, index=True, max_length=200)
    subject: str | None = Field(default=None, sa_column=Column(Text))
    received_at: datetime | None = None
    cover_letter: str | None = Field(default=None, sa_column=Column(Text))
    github: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    period_text: str | None = Field(default=None, max_length=500)
    period_start: str | None = Field(default=None, max_length=7)  # YYYY-MM
    period_end: str | None = Field(default=None, max_length=7)
    area: str | None = Field(default=None, max_length=40)
    # eligible | ineligible | unknown, by the posting's rule; not_judged where it has none
    eligibility: str = Field(default="unknown", max_length=20)
    eligibility_basis: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    eligibility_evidence: list[dict] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    needs_sponsorship: bool = False
    status: str = Field(default="received", max_length=30)
    duplicate_of: int | None = Field(default=None, foreign_key="application.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class GithubLogin(SQLModel, table=True):
    """A GitHub login an application links to, lower-cased: a person's earlier applications
    are found by this index, not by reading every application's links. Deleted with it."""

    application_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("application.id", ondelete="CASCADE"), primary_key=True
        )
    )
    login: str = Field(primary_key=True, max_length=100, index=True)


class Document(SQLModel, table=True):
    """An attachment with the text we could extract from it (or why we could not)."""

    id: int | None = Field(default=None, primary_key=True)
    raw_message_id: int = Field(foreign_key="rawmessage.id", index=True)
    application_id: int | None = Field(default=None, foreign_key="application.id", index=True)
    filename: str | None = Field(default=None, max_length=1000)
    content_type: str = Field(max_length=255)
    size: int
    sha256: str = Field(max_length=64)
    role: str = Field(default="other", max_length=20)  # resume | cover_letter | other
    text: str | None = Field(default=None, sa_column=Column(Text))
    error: str | None = Field(default=None, sa_column=Column(Text))
    ocr: bool = False  # the text was recognised from a scan
    # What reading found, so a follow-up merges stored text instead of reading it again
    # (None: stored before 0.3, read again when needed).
    format: str | None = Field(default=None, max_length=10)  # pdf | docx | text | html | other
    links: list[str] | None = Field(default=None, sa_column=Column(JSON))
    pages: int | None = None
    # When retention deleted the text and links read from it (name, size and role stay).
    purged_at: datetime | None = None


class Flag(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    raw_message_id: int = Field(foreign_key="rawmessage.id", index=True)
    application_id: int | None = Field(default=None, foreign_key="application.id", index=True)
    code: str = Field(max_length=50, index=True)
    message: str = Field(sa_column=Column(Text, nullable=False))
    evidence: str | None = Field(default=None, sa_column=Column(Text))


# Outbox statuses that count towards the rate limit per address.
COUNTED = ("pending", "sent", "dry_run")


class Outbox(SQLModel, table=True):
    """Replies, queued in the transaction that stores what they answer.

    One row per message and role (applicant, referrer, or the sender of mail that gets no
    reply). status: pending (to send), sent, dry_run (rendered, never sent), suppressed (a
    reply was due but loop safety forbade it), skipped (no reply is due: spam, a list, a
    question...), failed (permanent SMTP error or too many attempts), bounced (the
    recipient's server refused it). `reason` says why for every status but sent.
    """

    __table_args__ = (
        UniqueConstraint("message_id"),
        UniqueConstraint("trigger_id", "role", name="uq_outbox_trigger_id_role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    application_id: int | None = Field(default=None, foreign_key="application.id", index=True)
    trigger_id: int = Field(foreign_key="rawmessage.id", index=True)
    role: str = Field(default="applicant", max_length=20)  # applicant | referrer | sender
    message_id: str = Field(max_length=998)
    template: str = Field(default="", max_length=100)
    to_address: str = Field(default="", index=True, max_length=320)
    envelope_from: str = Field(default="", max_length=320)  # bounces come back here
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default="pending", index=True, max_length=20)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    sent_at: datetime | None = None


class BouncedAddress(SQLModel, table=True):
    """An address a reply of ours bounced from: we do not write to it again."""

    address: str = Field(primary_key=True, max_length=320)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class MailboxState(SQLModel, table=True):
    """How the last poll of a mailbox went, for `intake status`."""

    mailbox: str = Field(primary_key=True, max_length=200)
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_error_at: datetime | None = None
    backlog: int = 0


class DigestRun(SQLModel, table=True):
    """One digest written (and sent): the window it covered, where it went."""

    id: int | None = Field(default=None, primary_key=True)
    since: datetime
    until: datetime = Field(index=True)
    applications: int
    path: str | None = Field(default=None, sa_column=Column(Text))
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)


class Tombstone(SQLModel, table=True):
    """A forgotten person (`intake forget`): only a salted hash of their address, so mail
    from them is recognised and never stored again, while the address itself is gone."""

    digest: str = Field(primary_key=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class Setting(SQLModel, table=True):
    """Values an installation makes once and keeps (the tombstones' salt)."""

    name: str = Field(primary_key=True, max_length=100)
    value: str = Field(sa_column=Column(Text, nullable=False))


class Recruiter(SQLModel, table=True):
    """An account of the recruiters' workspace (`intake users`): an argon2 hash, never the
    password; the postings it sees (None: all); failed sign-ins, for the rate limit."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=100)
    password_hash: str = Field(max_length=200)
    postings: list[str] | None = Field(default=None, sa_column=Column(JSON))
    failed_signins: int = 0
    last_failed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Review(SQLModel, table=True):
    """A recruiter's decision on an application (shortlisted, on_hold, rejected), kept as
    an audit trail: who, when, the note; the latest is the application's decision. The
    username is copied, so the trail outlives the account."""

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("application.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    action: str = Field(max_length=20)
    note: str | None = Field(default=None, sa_column=Column(Text))
    recruiter: str = Field(max_length=100)
    # the rejection reply it queued, if any
    outbox_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("outbox.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = Field(default_factory=utcnow)


class SearchText(SQLModel, table=True):
    """What the workspace's full-text search reads of an application: names, addresses,
    subject, cover letter and documents' text. Made from the stored rows when they
    change (intake/storage/search.py); SQLite indexes it with FTS5, PostgreSQL with a GIN
    index on its tsvector. Deleted with the application."""

    application_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("application.id", ondelete="CASCADE"), primary_key=True
        )
    )
    body: str = Field(sa_column=Column(Text, nullable=False))
    indexed_at: datetime
