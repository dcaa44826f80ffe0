"""Real-world mail written elsewhere (../shared/mail-corpus) never crashes the intake."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlmodel import select

from intake.classify import APPLICATION, AUTO_REPLY, BOUNCE, FOLLOW_UP, OTHER
from intake.config import MailboxConfig
from intake.db import make_engine
from intake.db import session as open_session
from intake.extract import extract
from intake.mailbox import connect
from intake.models import Outbox, RawMessage
from intake.outbox import ReplySettings
from intake.parse import parse_message
from intake.pipeline import Processor, poll_mailbox
from intake.replies import DEFAULT_TEMPLATES
from intake.rules import DEFAULT_DIR, load_all
from intake.sandbox import append_messages

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "mail-corpus"
FILES = sorted(
    p for p in CORPUS.rglob("*") if p.is_file() and p.name not in ("LICENSE", "README.md")
)

# Replies rendered (dry run) for every corpus message that routes to a posting, so odd
# names, subjects and Message-IDs from real clients go through the reply builder too.
PROCESSOR = Processor(
    load_all(DEFAULT_DIR),
    replies=ReplySettings(DEFAULT_TEMPLATES, "Careers <careers@numenta.com>", dry_run=True),
)


def test_corpus_is_present():
    assert len(FILES) >= 100, f"expected the shared corpus at {CORPUS}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_extract_never_raises_unexpectedly(path):
    """Parsing either works or raises our ExtractionError (which quarantines)."""
    result = extract(parse_message(path.read_bytes()), timeout=10)
    assert result.kind in (APPLICATION, FOLLOW_UP, AUTO_REPLY, BOUNCE, OTHER)
    result.to_json()


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
        assert row.status == "failed" or row.kind is not None
    bounces = [r for r in rows if r.kind == BOUNCE]
    assert len(bounces) >= 5
    with open_session(engine) as session:
        replies = session.exec(select(Outbox)).all()
    assert replies, "no corpus message was answered: the reply path went untested"
    for reply in replies:
        msg = message_from_bytes(reply.raw, policy=default)
        assert msg["Auto-Submitted"] == "auto-replied"
        assert len(msg.get_all("To")) == 1 and "\n" not in msg["Subject"]
