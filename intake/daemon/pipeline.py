"""One poll of one mailbox: fetch new UIDs in batches, store, process, then checkpoint.

Order is the whole point: (1) a batch's raw messages and everything extracted from
them are committed in one transaction; (2) only then is `after_store` applied and
(3) the checkpoint advanced, in its own commit. A crash anywhere re-fetches at most
two batches (the one being stored and the one fetched ahead of it, see `poll_mailbox`),
and the dedupe key makes re-storing them a no-op.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import InternalError, OperationalError
from sqlmodel import Session, col, select

from intake.config import Config, MailboxConfig
from intake.daemon.processing import Processor, reading_pool
from intake.decisions.rules import load_all
from intake.errors import ConfigError, IntakeError, MailboxError
from intake.extraction.documents import Ocr
from intake.extraction.extract import Part
from intake.logs import event
from intake.mail.mailbox import Mailbox, connect
from intake.replies import outbox
from intake.replies.messages import check_templates
from intake.reports.quarantine import NOT_DOWNLOADED
from intake.storage import privacy, store
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import RawMessage

log = logging.getLogger(__name__)


@dataclass
class PollStats:
    """How one poll of one mailbox went (`+` adds up rounds of `poll --until-empty`)."""

    mailbox: str
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    applications: int = 0
    forgotten: int = 0  # from or to a forgotten person: not stored
    backlog: int = 0  # new messages left for the next poll (max_per_poll, or a stop)
    uidvalidity_reset: bool = False
    error: str | None = None

    def __add__(self, later: PollStats) -> PollStats:
        counted = ("fetched", "stored", "duplicates", "failed", "applications", "forgotten")
        return replace(
            later, **{name: getattr(self, name) + getattr(later, name) for name in counted}
        )


def batches(uids: list[int], sizes: dict[int, int], most: int, limit: int) -> list[list[int]]:
    """Consecutive UIDs, at most `most` messages and about `limit` bytes per batch (one
    message at least): a batch is held in memory until its commit. A message larger than
    `limit` is fetched as its headers only and costs nothing here."""
    found: list[list[int]] = []
    weight = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        size = 0 if size > limit else size
        if not found or len(found[-1]) >= most or (weight + size > limit and found[-1]):
            found.append([])
            weight = 0
        found[-1].append(uid)
        weight += size
    return found


def store_batch(
    session: Session,
    box: MailboxConfig,
    uidvalidity: int,
    raws: dict[int, bytes],
    stats: PollStats,
    processor: Processor,
    stopping: Callable[[], bool] = lambda: False,
    oversized: dict[int, int] | None = None,
    reading: Mapping[int, Future[Part]] | None = None,
) -> list[int]:
    """Store and process each message of a batch that is not already stored, in UID
    order; returns the UIDs handled (all of them unless `stopping()` became true). An
    `oversized` message (UID to RFC822.SIZE) came as its headers: stored with the reason.
    `reading`: the messages being read already (`Processor.read_ahead`), by UID."""
    oversized, reading = oversized or {}, reading or {}
    forgotten = privacy.Tombstones.load(session)
    done = []
    for uid in sorted(raws):
        if stopping():
            break
        raw = raws[uid]
        identity = store.identify(raw)
        done.append(uid)
        if store.find_raw(session, identity) is not None:
            stats.duplicates += 1
            continue
        if forgotten.covers(raw):  # nothing is stored; the checkpoint still moves past it
            stats.forgotten += 1
            event(log, "forgotten_skipped", mailbox=box.name, uid=uid)
            continue
        row = store.add_raw(
            session,
            raw,
            identity,
            mailbox=box.name,
            folder=box.folder,
            uidvalidity=uidvalidity,
            uid=uid,
        )
        if uid in oversized:
            _too_large(row, oversized[uid], processor.limits.message_mb)
        else:
            processor(session, row, reading.get(uid))
        stats.stored += 1
        stats.failed += row.status == "failed"
        stats.applications += row.kind == "application"
    return done


def _too_large(row: RawMessage, size: int, most_mb: int) -> None:
    row.status = "failed"
    row.error = (
        f"{NOT_DOWNLOADED}{size / 2**20:.1f} MiB is more than limits.message_mb "
        f"({most_mb} MiB); only its headers are stored"
    )
    event(log, "quarantined", logging.WARNING, mailbox=row.mailbox, uid=row.uid, reason=row.error)


@dataclass
class Fetched:
    """One batch as fetched, its messages being read in the pool meanwhile."""

    uids: list[int]
    raws: dict[int, bytes]
    oversized: dict[int, int]  # fetched as headers only: UID to RFC822.SIZE
    reading: dict[int, Future[Part]]


def fetched(
    mailbox: Mailbox, plan: list[list[int]], sizes: dict[int, int], processor: Processor
) -> Iterator[Fetched]:
    """Each batch of the plan fetched and handed to the pool to read: the next one is
    fetched while the workers read this one."""
    limit = processor.limits.message_bytes
    for batch in plan:
        oversized = {uid: sizes[uid] for uid in batch if sizes.get(uid, 0) > limit}
        raws = mailbox.fetch([uid for uid in batch if uid not in oversized])
        reading = processor.read_ahead(raws)
        raws |= mailbox.fetch_headers(list(oversized))
        yield Fetched(batch, raws, oversized, reading)


def poll_mailbox(
    box: MailboxConfig,
    mailbox: Mailbox,
    engine: Engine,
    processor: Processor,
    *,
    after_commit: Callable[[list[int]], None] | None = None,
    progress: Callable[[PollStats], None] | None = None,
    stopping: Callable[[], bool] = lambda: False,
) -> PollStats:
    """Fetch and store everything new in one mailbox, up to `max_per_poll` messages.

    A pipeline: while the document workers read batch n, batch n+1 is fetched; batch n
    is then stored in UID order in one transaction, and checkpointed, while they read
    batch n+1. When a fetch fails, the batch fetched before it is stored first; its
    checkpoint then waits for the next poll if `after_store` needs the broken connection.
    `after_commit` runs between the batch commit and the checkpoint (tests use it to
    simulate a crash there); `progress` is called after each batch. When `stopping()`
    turns true (SIGTERM), the message in hand is finished, what was handled is committed
    and checkpointed, and the poll returns.
    """
    stats = PollStats(box.name)
    uidvalidity = mailbox.select()
    uids = mailbox.uids_after(_resume_from(engine, box, uidvalidity, stats))
    stats.backlog = len(uids)
    todo = uids[: box.max_per_poll]
    sizes = mailbox.sizes(todo)
    plan = batches(todo, sizes, box.batch_size, processor.limits.message_bytes)

    def apply(batch: Fetched) -> None:
        stats.fetched += len(batch.raws)
        with open_session(engine) as session:
            done = store_batch(
                session,
                box,
                uidvalidity,
                batch.raws,
                stats,
                processor,
                stopping,
                batch.oversized,
                batch.reading,
            )
            session.commit()
        if after_commit:
            after_commit(batch.uids)
        if done:
            mailbox.finish(done)
            # Checkpoint the last UID handled; a UID the server no longer had is skipped.
            last = batch.uids[-1] if len(done) == len(batch.raws) else done[-1]
            _checkpoint(engine, box.name, uidvalidity, last)
            stats.backlog = len(uids) - uids.index(last) - 1
        if progress:
            progress(stats)

    _pipelined(fetched(mailbox, plan, sizes, processor), apply, stopping)
    return stats


def _pipelined(
    batches: Iterator[Fetched], apply: Callable[[Fetched], None], stopping: Callable[[], bool]
) -> None:
    """Apply each batch after the next one is fetched, in order; on a stop or an error,
    reading that was not needed is cancelled."""
    ahead = [batch for batch in [next(batches, None)] if batch]  # fetched, not yet applied
    try:
        while ahead:
            try:
                ahead += [batch for batch in [next(batches, None)] if batch]
            except MailboxError:  # what was fetched before is stored; the fetch is the error
                with contextlib.suppress(MailboxError):  # after_store on the broken connection
                    apply(ahead[0])
                raise
            apply(ahead.pop(0))
            if stopping():
                break
    finally:
        for future in (f for batch in ahead for f in batch.reading.values()):
            future.cancel()


def _resume_from(engine: Engine, box: MailboxConfig, uidvalidity: int, stats: PollStats) -> int:
    """The last UID processed, or 0 to rescan when the folder's UIDVALIDITY changed."""
    with open_session(engine) as session:
        checkpoint = store.get_checkpoint(session, box.name)
    if checkpoint is None or checkpoint.uidvalidity == uidvalidity:
        return checkpoint.last_uid if checkpoint else 0
    event(
        log,
        "uidvalidity_changed",
        logging.WARNING,
        mailbox=box.name,
        old=checkpoint.uidvalidity,
        new=uidvalidity,
        action="rescanning the folder",
    )
    stats.uidvalidity_reset = True
    return 0


def _checkpoint(engine: Engine, name: str, uidvalidity: int, last_uid: int) -> None:
    with open_session(engine) as session:
        store.save_checkpoint(session, name, uidvalidity, last_uid)
        session.commit()


# The database cannot take the poll's writes now (a poll error, retried next time):
# locked, full or gone (OperationalError); PostgreSQL read-only (InternalError).
UNWRITABLE = (OperationalError, InternalError)


def poll_one(
    box: MailboxConfig,
    engine: Engine,
    processor: Processor,
    stopping: Callable[[], bool] = lambda: False,
    committed: Callable[[PollStats], None] | None = None,
) -> PollStats:
    """Connect, poll, and record how it went (for `intake status`); never raises IntakeError,
    nor a database that cannot be written now (locked, read-only): the error is reported and
    the next poll starts again from the checkpoint. `committed` is told after each
    committed batch (the daemon sends its replies then)."""

    def progress(stats: PollStats) -> None:
        _log_progress(stats)
        if committed:
            committed(stats)

    try:
        with connect(box) as mailbox:
            stats = poll_mailbox(
                box, mailbox, engine, processor, progress=progress, stopping=stopping
            )
    except IntakeError as exc:
        stats = PollStats(box.name, error=str(exc))
    except UNWRITABLE as exc:  # locked, read-only, full or gone: the batch rolled back
        stats = PollStats(box.name, error=f"database: {exc.orig}")
    try:
        with open_session(engine) as session:
            store.record_poll(session, box.name, processor.clock(), stats.error, stats.backlog)
            session.commit()
    except UNWRITABLE as exc:
        event(log, "poll_not_recorded", logging.WARNING, mailbox=box.name, error=str(exc.orig))
    event(
        log,
        "poll",
        logging.WARNING if stats.error else logging.INFO,
        mailbox=box.name,
        fetched=stats.fetched,
        stored=stats.stored,
        duplicates=stats.duplicates,
        failed=stats.failed,
        forgotten=stats.forgotten,
        backlog=stats.backlog,
        error=stats.error,
    )
    return stats


def poll_all(
    cfg: Config,
    names: tuple[str, ...] | None = None,
    committed: Callable[[PollStats], None] | None = None,
) -> list[PollStats]:
    """Poll each configured mailbox once, then send due replies; one mailbox's failure
    does not stop the others. `committed` hears of every committed batch (progress)."""
    boxes = cfg.mailboxes_named(names)
    cfg.require_secrets(boxes, smtp=True)  # before any work: every missing one, at once
    processor = processor_for(cfg)
    engine = make_engine(cfg.database_url)
    results = [poll_one(box, engine, processor, committed=committed) for box in boxes]
    if cfg.smtp and not cfg.smtp.dry_run:
        outbox.send_due(engine, cfg.smtp, processor.clock())
    return results


def processor_for(cfg: Config) -> Processor:
    """The rules, reply settings and follow-up window a config asks for, checked now."""
    postings = load_all(cfg.rules_dir)
    replies = outbox.ReplySettings.from_config(cfg)
    if replies:
        check_templates(replies.templates, postings)
    return Processor(
        postings,
        replies=replies,
        follow_up_days=cfg.replies.follow_up_days,
        unrouted_off=frozenset(b.name for b in cfg.mailboxes if not b.reply_unrouted),
        ocr=ocr_for(cfg),
        limits=cfg.limits,
        pool=reading_pool(cfg.documents.workers),
    )


def ocr_for(cfg: Config) -> Ocr | None:
    """OCR as configured, refused at start when the tesseract program is missing."""
    if not cfg.documents.ocr:
        return None
    if not Ocr.available():
        raise ConfigError(
            "documents.ocr = true, but the tesseract program is not installed "
            "(Debian: apt-get install tesseract-ocr)"
        )
    return Ocr(cfg.documents.ocr_languages, cfg.documents.ocr_seconds)


def _log_progress(stats: PollStats) -> None:
    event(
        log,
        "batch",
        mailbox=stats.mailbox,
        fetched=stats.fetched,
        stored=stats.stored,
        failed=stats.failed,
        backlog=stats.backlog,
    )


def reprocess(
    engine: Engine,
    processor: Processor,
    posting: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Re-run extraction and rules over stored raw messages, oldest first, after a rule change.

    With `posting`, only messages from the mailbox that posting belongs to. It never
    queues replies: applicants are answered once, when their mail arrives. Messages whose
    bytes are gone (purged by retention, or never downloaded) are left as they are.
    Returns counts of outcomes.
    """
    query = select(RawMessage.id).where(*readable()).order_by(RawMessage.id)
    if posting:
        if posting not in processor.postings:
            raise IntakeError(f"no posting {posting!r} (known: {', '.join(processor.postings)})")
        query = query.where(RawMessage.mailbox == processor.postings[posting].mailbox)
    with open_session(engine) as session:
        ids = list(session.exec(query))
    counts: dict[str, int] = {}
    for outcome in rerun(engine, replace(processor, queue_replies=False), ids, progress).values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def readable() -> tuple:
    """Where a stored message still has its whole raw bytes to read again."""
    return (
        col(RawMessage.purged_at).is_(None),
        ~col(RawMessage.error).startswith(NOT_DOWNLOADED) | col(RawMessage.error).is_(None),
    )


RERUN_BATCH = 50  # messages read ahead, and committed together, when processing again


def rerun(
    engine: Engine,
    processor: Processor,
    ids: list[int],
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, str]:
    """Process stored messages again (reprocessing, a quarantine retry), RERUN_BATCH at a
    time: read in the pool while the batch before is processed, each batch committed on
    its own, so an interruption loses at most one batch of work. Writing a decision
    replaces the earlier one and replies are queued at most once per message and role,
    so the outcome is the same as if the message had been processed right the first
    time. Returns each one's outcome."""
    outcomes: dict[int, str] = {}
    chunks = [ids[start : start + RERUN_BATCH] for start in range(0, len(ids), RERUN_BATCH)]
    reading = _read_stored(engine, processor, chunks[0]) if chunks else {}
    for number, chunk in enumerate(chunks):
        ahead = reading
        if number + 1 < len(chunks):
            reading = _read_stored(engine, processor, chunks[number + 1])
        with open_session(engine) as session:
            for raw_id in chunk:
                raw = session.get(RawMessage, raw_id)
                processor(session, raw, ahead.get(raw_id))
                outcomes[raw_id] = (raw.error and "failed") or store.outcome(session, raw)
            session.commit()
        if progress:
            progress(len(outcomes), len(ids))
    return outcomes


def _read_stored(engine: Engine, processor: Processor, ids: list[int]) -> dict[int, Future[Part]]:
    """Stored messages handed to the pool to read (those that still have their bytes)."""
    query = select(RawMessage.id, RawMessage.raw).where(col(RawMessage.id).in_(ids))
    with open_session(engine) as session:
        return processor.read_ahead({row.id: row.raw for row in session.exec(query) if row.raw})


def purge(engine: Engine, cfg: Config, now: datetime, apply: bool = True) -> dict[str, int]:
    """Apply `[retention]` (counts by kind; a dry run without `apply`), in one transaction."""
    retention = privacy.Retention(**cfg.retention.model_dump())
    with open_session(engine) as session:
        counts = privacy.purge(session, retention, now, apply)
        session.commit()
    if apply:
        event(log, "purged", **counts)
    return counts
