"""Real-world mail written elsewhere (../shared/mail-corpus): none of it is an application,
none of it may be acknowledged, and none of it crashes the intake."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlmodel import select

from intake.config import MailboxConfig
from intake.daemon.pipeline import Processor, poll_mailbox
from intake.decisions.rules import DEFAULT_DIR, load_all
from intake.demo.servers import append_messages
from intake.errors import ExtractionError
from intake.mail.mailbox import connect
from intake.mail.parse import parse_message
from intake.replies.messages import DEFAULT_TEMPLATES, Envelope, build
from intake.replies.outbox import ReplySettings
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import Outbox, RawMessage
from tests.judging import decision_of

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "mail-corpus"
FILES = sorted(
    p for p in CORPUS.rglob("*") if p.is_file() and p.name not in ("LICENSE", "README.md")
)
PROCESSOR = Processor(
    load_all(DEFAULT_DIR),
    replies=ReplySettings(DEFAULT_TEMPLATES, "Careers <careers@numenta.com>", dry_run=True),
)


def test_corpus_is_present():
    assert len(FILES) >= 100, f"expected the shared corpus at {CORPUS}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("mailbox", ["careers", "interns"])
def test_no_corpus_message_is_acknowledged(path, mailbox):
    """The decision the daemon makes about each file, in both mailboxes: no reply is due
    to any of them (each says why), or the message is quarantined (ExtractionError)."""
    try:
        decision = decision_of(path.read_bytes(), mailbox)
    except ExtractionError:
        return
    assert decision.kind != "application", decision.verdict
    assert [(r.status, bool(r.reason)) for r in decision.replies] in ([], [("skipped", True)])


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_odd_names_and_subjects_still_make_a_well_formed_reply(path):
    """Were one answered, the reply builder copes with every real-world sender."""
    try:
        msg = parse_message(path.read_bytes())
    except ExtractionError:
        return
    envelope = Envelope(
        "Careers <careers@numenta.com>",
        "careers@numenta.com",
        msg.sender_name,
        msg.sender_email or "",
        msg.subject,
        msg.message_id,
        msg.references,
        "<intake.x@numenta.com>",
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    reply = message_from_bytes(build(envelope, "Thank you.\n", None), policy=default)
    assert len(reply.get_all("To")) == 1 and "\n" not in reply["Subject"]
    assert reply["Auto-Submitted"] == "auto-replied"


def kind_of(raw: bytes) -> str:
    try:
        return decision_of(raw, "careers").kind
    except ExtractionError:
        return "quarantined"


def test_corpus_through_real_imap(imap_server, imap_folder, tmp_path, monkeypatch):
    """APPEND every corpus file, poll once: each is stored (processed or quarantined).

    IMAP servers refuse to APPEND an empty message, so an empty file can never reach a
    mailbox; it is still covered by the parametrised test above.
    """
    account = imap_server.account
    monkeypatch.setenv("INTAKE_TEST_IMAP_PASSWORD", account.password)
    raws = [p.read_bytes() for p in FILES]
    raws = [raw for raw in raws if raw]
    assert len(raws) >= len(FILES) - 1
    append_messages(account, imap_folder, raws)
    box = MailboxConfig(
        name="careers",
        host=account.host,
        port=account.port,
        tls="none",
        username=account.username,
        password_env="INTAKE_TEST_IMAP_PASSWORD",
        folder=imap_folder,
        max_per_poll=1000,
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'corpus.db'}")
    with connect(box) as mailbox:
        stats = poll_mailbox(box, mailbox, engine, PROCESSOR)
    assert stats.fetched == len(raws)
    assert stats.stored + stats.duplicates == len(raws)
    with open_session(engine) as session:
        rows = session.exec(select(RawMessage)).all()
    assert len(rows) == stats.stored
    for row in rows:
        assert row.status in ("processed", "failed")
        assert (row.status == "failed") == bool(row.error)
    # what the IMAP round trip stored is what the decision says of the files themselves
    assert {r.kind or "quarantined" for r in rows} == {kind_of(raw) for raw in raws}
    assert "application" not in {r.kind for r in rows}
    assert len([r for r in rows if r.kind == "bounce"]) >= 5
    with open_session(engine) as session:
        replies = session.exec(select(Outbox)).all()
    processed = [r for r in rows if r.status == "processed"]
    # no acknowledgement at all; every decision not to reply is a row with its reason
    assert [r.status for r in replies] == ["skipped"] * len(processed)
    assert {r.trigger_id for r in replies} == {r.id for r in processed}
    assert all(r.reason and r.raw == b"" for r in replies)
