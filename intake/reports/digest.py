"""The recruiters' digest: what came in since the last one, per posting, triaged.

`build` is pure (rows in, a Digest out); rendering uses `templates/digest/` (the HTML
autoescaped: an applicant's `<script>` arrives as text); `run` is the edge that reads the
database, writes `data/digests/`, mails the recruiters and records the run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from intake.config import Config
from intake.decisions.rules import Posting
from intake.logs import event
from intake.mail.policies import SMTP
from intake.replies.messages import environment
from intake.replies.outbox import connect
from intake.reports.export import UNANSWERED, application_rows, other_rows
from intake.storage import models
from intake.storage.db import session as open_session

log = logging.getLogger(__name__)
DEFAULT_WINDOW = timedelta(days=7)
UTC_ZONE = ZoneInfo("UTC")
# Triage order: who a recruiter should read first.
GROUPS = (
    ("complete", "Complete and eligible", ("complete",)),
    ("incomplete", "Incomplete", ("incomplete",)),
    ("declined", "Ineligible or closed", ("ineligible", "closed")),
    ("review", "Needs review", ("needs_review", "received")),
)


@dataclass(frozen=True)
class Entry:
    row: dict  # the export row (same names as `intake parse --json`)
    missing: list[str]  # what the applicant was asked for
    flags: list[dict]
    eligibility: str | None  # None where the posting states no eligibility rule
    evidence: str | None
    resume: str | None  # the file, and why it cannot be read as text when it cannot
    excerpt: str
    received: datetime


@dataclass
class Capped:
    """The first `limit` cards of a list and how many more there are: a job fair's
    thousands of applications make a digest too long to read and too big to mail (10,000
    cards were 15 MB of HTML). `len` counts them all; iterating gives those shown."""

    limit: int
    shown: list = field(default_factory=list)
    more: int = 0

    def add(self, make: Callable[[], object]) -> None:
        if len(self.shown) < self.limit:
            self.shown.append(make())
        else:
            self.more += 1

    def __len__(self) -> int:
        return len(self.shown) + self.more

    def __iter__(self) -> Iterator:
        return iter(self.shown)


@dataclass
class Section:
    posting: str | None
    title: str
    entries: dict[str, Capped] = field(default_factory=dict)  # group key -> its cards

    @property
    def groups(self) -> list[tuple[str, str, Capped]]:
        return [(key, label, self.entries[key]) for key, label, _ in GROUPS if key in self.entries]

    @property
    def total(self) -> int:
        return sum(len(entries) for entries in self.entries.values())


@dataclass
class Digest:
    since: datetime
    until: datetime
    sections: list[Section]
    counts: dict[str, int]  # group key -> applications
    zone: ZoneInfo = UTC_ZONE  # the recruiters' time zone ([digest] timezone)
    others: Capped = field(default_factory=lambda: Capped(0))  # mail for a person
    unanswered: Capped = field(default_factory=lambda: Capped(0))  # spam and bulk: a line each
    web: str | None = None  # [web] base_url: each card links to the workspace

    def link(self, application_id: int) -> str | None:
        return f"{self.web.rstrip('/')}/applications/{application_id}" if self.web else None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def local(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M %Z")


def build(
    rows: list[dict],
    postings: dict[str, Posting],
    since: datetime,
    until: datetime,
    excerpt_chars: int = 300,
    zone: ZoneInfo = UTC_ZONE,
    others: list[dict] = (),
    unanswered: list[dict] = (),
    max_cards: int = 200,
) -> Digest:
    """Sections per posting (titles A-Z, unmatched last), each in triage order; counts
    per triage group over all postings. Each list shows its first `max_cards`."""
    counts = {key: 0 for key, _, _ in GROUPS}
    sections: dict[str | None, Section] = {}
    for row in rows:
        key = next((k for k, _, statuses in GROUPS if row["status"] in statuses), "review")
        counts[key] += 1
        posting = postings.get(row["posting"] or "")
        title = posting.title if posting else (row["posting"] or NEEDS_ROUTING)
        section = sections.setdefault(row["posting"], Section(row["posting"], title))
        cards = section.entries.setdefault(key, Capped(max_cards))
        cards.add(lambda row=row, posting=posting: entry(row, posting, excerpt_chars))
    ordered = sorted(sections.values(), key=lambda s: (s.posting is None, s.title))
    shown, ignored = (Capped(max_cards) for _ in range(2))
    for found, rows_of in ((shown, others), (ignored, unanswered)):
        for row in rows_of:
            found.add(lambda row=row: _other(row, excerpt_chars))
    return Digest(_aware(since), _aware(until), ordered, counts, zone, shown, ignored)


def _other(row: dict, excerpt_chars: int) -> dict:
    return {
        **row,
        "received": datetime.fromisoformat(row["date"]),
        "excerpt": excerpt(row["text"] or row["error"] or "", excerpt_chars),
    }


NEEDS_ROUTING = "Needs routing (no posting fits, or several do)"
MISSING_WORDS = {
    "eligibility_unknown": "eligibility statement",
    "resume_unreadable": "readable resume",
}
# Shown on the resume line instead of as flags.
RESUME_FLAGS = ("resume_unreadable", "resume_no_text")


def entry(row: dict, posting: Posting | None, excerpt_chars: int) -> Entry:
    """One application as the digest shows it: what the applicant was asked for apart
    from other flags, eligibility only where the posting judges it, and the resume with
    the reason it cannot be read as text."""
    missing, flags = [], []
    for flag in row["flags"]:
        code = flag["code"]
        if code.startswith("missing_") or code in MISSING_WORDS:
            missing.append(MISSING_WORDS.get(code, code.removeprefix("missing_").replace("_", " ")))
        if not (code.startswith("missing_") or code in MISSING_WORDS or code in RESUME_FLAGS):
            flags.append(flag)
    eligibility = row["eligibility"]
    judged = bool(posting and posting.eligibility.accepted)
    basis = ", ".join(eligibility["basis"]).replace("_", " ")
    return Entry(
        row=row,
        missing=missing,
        flags=flags,
        eligibility=f"{eligibility['status']}{f' ({basis})' if basis else ''}" if judged else None,
        evidence=eligibility["evidence"][0]["text"] if judged and eligibility["evidence"] else None,
        resume=resume_line(row["resume"]),
        excerpt=excerpt(row["cover_letter"] or "", excerpt_chars),
        received=datetime.fromisoformat(row["date"] or row["stored_at"]),
    )


def resume_line(resume: dict | None) -> str | None:
    if resume is None:
        return None
    name = resume["filename"] or "pasted in the message"
    if resume["state"] == "no_text":
        return f"{name}: a scan without a text layer (open the attachment to read it)"
    if resume["state"] == "unreadable":
        return f"{name}: cannot be read ({resume['error']}); the applicant was asked for a copy"
    return f"{name} (a scan, its text read by OCR)" if resume.get("ocr") else name


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def excerpt(text: str, limit: int) -> str:
    """The start of a cover letter, whitespace collapsed, cut at a word."""
    flat = re.sub(r"\s+", " ", text).strip()
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + " …"


def render(digest: Digest, templates: Path, part: str) -> str:
    """`part` is "txt" or "html"."""
    return (
        environment(templates)
        .get_template(f"digest/digest.{part}.j2")
        .render(digest=digest, groups=GROUPS)
    )


def window(engine: Engine, now: datetime, since: datetime | None = None) -> datetime:
    """Since the last digest that went out, else the last week."""
    if since:
        return since
    with open_session(engine) as session:
        last = session.exec(
            select(models.DigestRun)
            .where(col(models.DigestRun.error).is_(None))
            .order_by(col(models.DigestRun.until).desc())
        ).first()
    return last.until if last else now - DEFAULT_WINDOW


def collect(
    cfg: Config,
    engine: Engine,
    postings: dict[str, Posting],
    now: datetime,
    since: datetime | None = None,
    posting: str | None = None,
) -> Digest:
    start = window(engine, now, since)
    with open_session(engine) as session:
        rows = application_rows(session, since=start, posting=posting)
        others = [] if posting else other_rows(session, since=start)
        unanswered = [] if posting else other_rows(session, start, UNANSWERED)
    zone = ZoneInfo(cfg.digest.timezone)
    found = build(
        rows,
        postings,
        start,
        now,
        cfg.digest.excerpt_chars,
        zone,
        others,
        unanswered,
        cfg.digest.max_cards,
    )
    found.web = cfg.web.base_url
    return found


def run(
    cfg: Config,
    engine: Engine,
    postings: dict[str, Posting],
    now: datetime,
    since: datetime | None = None,
) -> models.DigestRun:
    """Write the digest to the digest dir, mail it to the recipients, record the run."""
    digest = collect(cfg, engine, postings, now, since)
    text = render(digest, cfg.templates_dir, "txt")
    html = render(digest, cfg.templates_dir, "html")
    folder = cfg.digest_dir
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"digest-{now:%Y%m%dT%H%M%SZ}"
    stem.with_suffix(".txt").write_text(text, encoding="utf-8")
    stem.with_suffix(".html").write_text(html, encoding="utf-8")
    record = models.DigestRun(
        since=digest.since,
        until=digest.until,
        applications=digest.total,
        path=str(stem.with_suffix(".html")),
        recipients=list(cfg.digest.recipients),
    )
    if cfg.digest.recipients and cfg.smtp and not cfg.smtp.dry_run:
        record.error = _send(cfg, digest, text, html, now)
    with open_session(engine) as session:
        session.add(record)
        session.commit()
    event(
        log,
        "digest",
        logging.WARNING if record.error else logging.INFO,
        applications=digest.total,
        path=record.path,
        recipients=len(record.recipients),
        error=record.error,
    )
    return record


def _send(cfg: Config, digest: Digest, text: str, html: str, now: datetime) -> str | None:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = cfg.smtp.from_address
    msg["To"] = ", ".join(cfg.digest.recipients)
    msg["Subject"] = f"Applications digest: {digest.total} since {digest.local(digest.since)}"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid("digest", parseaddr(cfg.smtp.from_address)[1].rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    try:
        client = connect(cfg.smtp)
        try:
            client.send_message(msg)
        finally:
            client.quit()
    except Exception as exc:  # the files are written; the next digest covers this window again
        return f"{type(exc).__name__}: {exc}"
    return None
