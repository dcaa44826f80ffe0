"""What the product requires on top of the floor, per message, on one core.

The floor (floor.py) reads each message with the standard library and PDFium and keeps
nothing. intake must also do what its product card names: parse with mail-parser (which
runs the standard library's parser itself, so that share is not counted twice), store the
raw message and the application through SQLModel, and compose an RFC 3834 acknowledgement.
Each is timed here alone, at its cheapest (the fewest rows, a short text reply, no rules,
no isolation), so their sum is a lower bound: if it exceeds what 0.8 of the floor allows,
no amount of work on intake's own code reaches that ratio.

    python bench/required.py [COUNT]   # prints the table for COUNT generated applications
"""

from __future__ import annotations

import email
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email import policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mailparser
from sqlalchemy import insert
from sqlmodel import Session

from bench.floor import read
from bench.generate import applications
from intake.extraction.extract import read_message
from intake.extraction.worker import run_isolated
from intake.limits import DEFAULT_LIMITS
from intake.replies.messages import Envelope, build
from intake.storage import models
from intake.storage.db import make_engine
from intake.storage.db import session as open_session

REPLY = (
    "Dear applicant,\n\nthank you for your application. We have received your cover letter, "
    "your resume and the link to your GitHub profile. We read every application and will "
    "write to you again within two weeks.\n\nKind regards,\nThe careers team\n"
) * 3


def cpu_ms(work: Callable[[bytes], object], raws: list[bytes]) -> float:
    """CPU milliseconds per message of `work` over `raws` (least of three passes)."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for raw in raws:
            work(raw)
        best = min(best, time.process_time() - start)
    return 1000 * best / len(raws)


def stdlib_parse(raw: bytes) -> object:
    return email.message_from_bytes(raw, policy=policy.default)


def acknowledge(raw: bytes) -> bytes:
    return build(
        Envelope(
            from_address="Careers <careers@example.com>",
            reply_to="careers@example.com",
            to_name="Ada Lovelace",
            to_address="ada@example.org",
            subject="Application: Machine Learning Engineer",
            in_reply_to="<a1@example.org>",
            references=(),
            message_id="<ack-1@example.com>",
            date=datetime(2026, 12, 2, tzinfo=UTC),
        ),
        REPLY,
        None,
    )


ACK = acknowledge(b"")  # composing is timed on its own
NOW = datetime(2026, 12, 2, tzinfo=UTC)


def storage_ms(raws: list[bytes], store: Callable[[Session, list[bytes], int], None]) -> float:
    """CPU ms per message to store the raw message, its sender, the application and the
    reply's outbox row into SQLite, one transaction per 100."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/required.db")
        start = time.process_time()
        for first in range(0, len(raws), 100):
            with open_session(engine) as session:
                store(session, raws[first : first + 100], first)
                session.commit()
        return 1000 * (time.process_time() - start) / len(raws)


def orm(session: Session, raws: list[bytes], first: int) -> None:
    for uid, raw in enumerate(raws, start=first + 1):
        _store(session, uid, raw)


def core(session: Session, raws: list[bytes], first: int) -> None:
    """The same rows as `orm`, as four multi-row INSERTs (ids chosen here, as a batch
    writer that owns its id range could)."""
    uids = range(first + 1, first + 1 + len(raws))
    rows = {
        models.RawMessage: [
            {"id": uid, "dedupe_key": f"b:{uid}", "sha256": "0" * 64, "mailbox": "careers",
             "folder": "INBOX", "uidvalidity": 1, "uid": uid, "size": len(raw), "raw": raw,
             "status": "processed", "fetched_at": NOW}
            for uid, raw in zip(uids, raws, strict=True)
        ],
        models.Applicant: [
            {"id": uid, "email": f"a{uid}@example.org", "name": "Ada Lovelace", "created_at": NOW}
            for uid in uids
        ],
        models.Application: [
            {"id": uid, "applicant_id": uid, "raw_message_id": uid, "mailbox": "careers",
             "status": "complete", "github": [], "eligibility_basis": [],
             "eligibility_evidence": [], "created_at": NOW, "updated_at": NOW}
            for uid in uids
        ],
        models.Outbox: [
            {"application_id": uid, "trigger_id": uid, "message_id": f"<ack-{uid}@example.com>",
             "to_address": f"a{uid}@example.org", "raw": ACK, "next_attempt_at": NOW,
             "created_at": NOW}
            for uid in uids
        ],
    }  # fmt: skip
    for model, values in rows.items():
        session.connection().execute(insert(model.__table__), values)


def isolation_ms(raws: list[bytes]) -> float:
    """Handing each message to one of intake's isolated workers and taking an answer back
    (the worker does nothing with it). Wall time of the round trip, which on an idle
    machine is the CPU of both ends, as each waits for the other."""
    run_isolated(len, b"", timeout=10, memory_mb=512)  # the worker's start is not counted
    start = time.perf_counter()
    for raw in raws:
        run_isolated(len, raw, timeout=10, memory_mb=512)
    return 1000 * (time.perf_counter() - start) / len(raws)


def _store(session, uid: int, raw: bytes) -> None:
    message = models.RawMessage(
        dedupe_key=f"b:{uid}", sha256="0" * 64, mailbox="careers", folder="INBOX",
        uidvalidity=1, uid=uid, size=len(raw), raw=raw, status="processed",
    )  # fmt: skip
    person = models.Applicant(email=f"a{uid}@example.org", name="Ada Lovelace")
    session.add_all([message, person])
    session.flush()
    application = models.Application(
        applicant_id=person.id, raw_message_id=message.id, mailbox="careers", status="complete"
    )
    session.add(application)
    session.flush()
    session.add(
        models.Outbox(
            application_id=application.id, trigger_id=message.id,
            message_id=f"<ack-{uid}@example.com>", to_address=person.email, raw=ACK,
        )
    )  # fmt: skip


def required(raws: list[bytes]) -> dict[str, float]:
    """Per message, CPU ms: the floor's reading and each thing the product adds to it."""
    stdlib = cpu_ms(stdlib_parse, raws)
    return {
        "floor's reading (stdlib parse + PDFium/DOCX)": cpu_ms(read, raws),
        "mail-parser, less the stdlib parse inside it": cpu_ms(mailparser.parse_from_bytes, raws)
        - stdlib,
        "composing the acknowledgement (email package)": cpu_ms(acknowledge, raws[:200]),
        "the round trip to an isolated worker": isolation_ms(raws),
        "storing 4 rows: four multi-row INSERTs": storage_ms(raws, core),
    }


def intake_reading_ms(raws: list[bytes]) -> float:
    """intake's own reading of each message (`read_message`, as its workers run it), in
    this process: mail-parser and the stdlib parser, every extractor and the message's
    assembly; the PDFs' text comes from PDFium's worker, whose CPU is not counted."""
    return cpu_ms(lambda raw: read_message(raw, DEFAULT_LIMITS), raws)


def report(costs: dict[str, float], orm_ms: float, reading_ms: float) -> Iterable[str]:
    floor = next(iter(costs.values()))
    total = sum(costs.values())
    yield "what the product adds to the floor, CPU ms per message on one core:"
    for label, ms in costs.items():
        yield f"  {label:48} {ms:6.2f}"
    yield f"  {'sum: a lower bound of any intake':48} {total:6.2f}"
    yield f"  {'(the same 4 rows as ORM objects':48} {orm_ms:6.2f})"
    budget = floor / 0.8
    yield f"  0.8 of the floor allows {budget:.2f} ms: {budget - total:.2f} ms per message left"
    yield "  for every extractor (links, period, area, eligibility, roles), the rules,"
    yield f"  duplicates and history; these alone allow {floor / total:.2f} of the floor"
    yield f"  intake's reading today, less PDFium's work: {reading_ms:.2f} ms per message"


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    raws = list(applications(count, seed=1))
    print("\n".join(report(required(raws), storage_ms(raws, orm), intake_reading_ms(raws))))
