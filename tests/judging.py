"""The decision about one raw message, with no history: what `intake parse` shows."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from intake.decisions.decision import Decision, History, Setup, contract, decide
from intake.decisions.rules import DEFAULT_DIR, load_all
from intake.extraction.extract import read
from intake.mail.parse import parse_message
from intake.storage import store
from intake.storage.models import RawMessage

POSTINGS = load_all(DEFAULT_DIR)
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
NOW = datetime(2018, 1, 23, 12, 0, tzinfo=UTC)


def decision_of(
    raw: bytes,
    mailbox: str | None = None,
    *,
    setup: Setup | None = None,
    history: History | None = None,
) -> Decision:
    setup = setup or Setup(POSTINGS, mailbox)
    return decide(read(parse_message(raw)), history or History(), setup, NOW)


def contract_of(raw: bytes, mailbox: str | None = None) -> dict:
    return contract(decision_of(raw, mailbox), mailbox)


def field_by_field(title: str, cases: list[tuple[str, dict, dict]]) -> list[str]:
    """Compare each case's labels with what was observed; write the per-field accuracy to
    test-artifacts/accuracy-<title>.txt (printed at the end of the run, see conftest) and
    return one line per mismatch."""
    right: Counter[str] = Counter()
    mismatches = []
    for name, labels, got in cases:
        for field, want in labels.items():
            if got[field] == want:
                right[field] += 1
            else:
                mismatches.append(f"{name}.{field}: expected {want!r}, got {got[field]!r}")
    fields = sorted({field for _, labels, _ in cases for field in labels})
    lines = [f"{title}: {len(cases)} cases, per-field accuracy"]
    lines += [
        f"  {field:20} {right[field]:3}/{len(cases)}  {right[field] / len(cases):6.1%}"
        for field in fields
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"accuracy-{title.split()[0]}.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return mismatches


def stored(session, processor, mailbox: str, raw: bytes, uid: int) -> RawMessage:
    """A message stored as a poll stores it (INBOX, UIDVALIDITY 1) and processed."""
    row = store.add_raw(
        session, raw, store.identify(raw), mailbox=mailbox, folder="INBOX", uidvalidity=1, uid=uid
    )
    processor(session, row)
    return row
