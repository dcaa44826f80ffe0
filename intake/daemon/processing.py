"""One stored message, processed: read it, load its history, decide, write once.

The decision (`decision.decide`) is pure; this module is the edge around it. It runs
inside a savepoint of the caller's transaction, so the application, its documents and
flags and the replies it is due (queued in the outbox) land together or not at all; a
message that fails anywhere is quarantined with the reason, and the batch goes on.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from sqlmodel import Session

from intake.decisions.classify import BOUNCE
from intake.decisions.decision import Decision, Setup, decide
from intake.decisions.rules import Posting
from intake.decisions.safety import ReplyPolicy
from intake.extraction.documents import Ocr
from intake.extraction.extract import Known, Part, read_isolated
from intake.limits import Limits
from intake.logs import event
from intake.replies import bounces, outbox
from intake.storage import history, models, store

log = logging.getLogger(__name__)
K = TypeVar("K")  # what a caller keys its messages by (a UID, a row id)


def reading_workers(configured: int = 0) -> int:
    """Messages read at once (config `[documents] workers`): one per core when 0."""
    return configured or os.cpu_count() or 1


def reading_pool(configured: int = 0) -> ThreadPoolExecutor:
    """Threads that each drive one worker process (`read_isolated`)."""
    return ThreadPoolExecutor(reading_workers(configured), thread_name_prefix="intake-read")


@dataclass
class Recent:
    """The messages read last, by the sha256 of their bytes (what a reading depends on;
    a row id can be reused once its row is deleted): a follow-up's history needs its
    application's earlier messages, most often read moments before (in the same batch,
    or the last), and reading one again costs a worker round trip and its MIME parse."""

    size: int = 256
    parts: OrderedDict[str, Part] = field(default_factory=OrderedDict)

    def add(self, raw: models.RawMessage, part: Part) -> None:
        self.parts[raw.sha256] = part
        self.parts.move_to_end(raw.sha256)
        while len(self.parts) > self.size:
            self.parts.popitem(last=False)

    def get(self, raw: models.RawMessage) -> Part | None:
        """The message as read last, unless retention has deleted its bytes since."""
        return self.parts.get(raw.sha256) if raw.purged_at is None else None


@dataclass(frozen=True)
class Processor:
    """What processing needs besides the message: rules, clock, and how to reply."""

    postings: dict[str, Posting]
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    limits: Limits = field(default_factory=Limits)  # what reading a message may cost
    replies: outbox.ReplySettings | None = None
    follow_up_days: int = 60
    # mailboxes that do not answer an application no posting fits
    unrouted_off: frozenset[str] = field(default_factory=frozenset)
    queue_replies: bool = True  # reprocessing decides again but never queues a reply
    ocr: Ocr | None = None  # read scanned resumes by OCR ([documents] ocr = true)
    pool: ThreadPoolExecutor = field(default_factory=reading_pool, compare=False)
    recent: Recent = field(default_factory=Recent, compare=False)

    def setup(self, mailbox: str | None) -> Setup:
        settings = self.replies
        return Setup(
            postings=self.postings,
            mailbox=mailbox,
            follow_up_days=self.follow_up_days,
            own_addresses=settings.own_addresses if settings else frozenset(),
            policy=settings.policy if settings else ReplyPolicy(),
            unrouted_reply=mailbox not in self.unrouted_off,
        )

    def read(self, raw: models.RawMessage, known: Known | None = None) -> Part:
        """The message read in the worker, within the limits; `known` documents (stored
        text) are not read again."""
        return read_isolated(raw.raw, self.limits, self.ocr, known)

    def read_ahead(self, raws: Mapping[K, bytes]) -> dict[K, Future[Part]]:
        """Start reading messages in the pool, in order, while the caller goes on (fetches
        the next batch, stores the last): reading depends on the bytes alone."""
        return {
            key: self.pool.submit(read_isolated, raw, self.limits, self.ocr)
            for key, raw in raws.items()
        }

    def __call__(
        self, session: Session, raw: models.RawMessage, ahead: Future[Part] | None = None
    ) -> None:
        process(session, raw, self, ahead)


def judge(
    session: Session,
    raw: models.RawMessage,
    proc: Processor,
    now: datetime,
    ahead: Future[Part] | None = None,
) -> Decision:
    """The decision about a stored message, with its real history (only what came before
    it): what the daemon stores, and what `intake rules explain --message` shows. `ahead`:
    the message being read already (`Processor.read_ahead`)."""
    part = ahead.result() if ahead else proc.read(raw)
    proc.recent.add(raw, part)
    setup = proc.setup(raw.mailbox)

    def earlier(row: models.RawMessage) -> Part:
        """An earlier message of an application: as read last time, or read again with
        its documents merged from stored text."""
        return proc.recent.get(row) or proc.read(row, store.stored_documents(session, row.id))

    return decide(part, history.load(session, raw, part, setup, earlier, now), setup, now)


def process(
    session: Session,
    raw: models.RawMessage,
    proc: Processor,
    ahead: Future[Part] | None = None,
) -> None:
    """Decide and write, in a savepoint; failures become data."""
    # ids only: a Message-ID, like an address or a subject, can name the person
    where = {"mailbox": raw.mailbox, "uid": raw.uid, "message": raw.id}
    try:
        with session.begin_nested():
            now = proc.clock()
            decision = judge(session, raw, proc, now, ahead)
            app = store.write(session, raw, decision)
            if decision.kind == BOUNCE:
                bounces.note(session, raw.raw)
            if proc.replies is not None and proc.queue_replies:
                outbox.queue(session, proc.replies, raw, decision, app, now)
            owned = app if app is not None and app.raw_message_id == raw.id else None
    except Exception as exc:  # quarantine: the raw message stays, with the reason
        raw.status, raw.kind = "failed", None
        raw.error = f"{type(exc).__name__}: {exc}"[:2000]
        # the reason (which may quote the message) is stored; the log names its type
        event(log, "quarantined", logging.WARNING, **where, error=type(exc).__name__)
        return
    event(
        log,
        "message",
        **where,
        kind=raw.kind,
        outcome=store.described(raw, owned),
        application=raw.application_id or (owned.id if owned else None),
    )
