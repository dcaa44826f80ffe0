"""The decision about one raw message, with no history: what `intake parse` shows."""

from __future__ import annotations

from datetime import UTC, datetime

from intake.decision import Decision, History, Setup, contract, decide
from intake.extract import read
from intake.parse import parse_message
from intake.rules import DEFAULT_DIR, load_all

POSTINGS = load_all(DEFAULT_DIR)
NOW = datetime(2018, 1, 23, 12, 0, tzinfo=UTC)


def decision_of(
    raw: bytes, mailbox: str | None = None, *, postings=None, history: History | None = None
) -> Decision:
    setup = Setup(postings or POSTINGS, mailbox)
    return decide(read(parse_message(raw), timeout=10), history or History(), setup, NOW)


def contract_of(raw: bytes, mailbox: str | None = None) -> dict:
    return contract(decision_of(raw, mailbox), mailbox)
