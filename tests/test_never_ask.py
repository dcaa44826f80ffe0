"""No acknowledgement asks an applicant for what they sent: the sample mail (with
hand-made contents, tests/fixtures/sample-contents.json) and the labelled set go down the
real reply path (store, decide, queue, render), and every reply is read back.

The hand-labelled client cases get the same check in tests/test_clients.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlmodel import select

from intake.daemon.pipeline import Processor
from intake.replies.messages import DEFAULT_TEMPLATES, NEEDED
from intake.replies.outbox import ReplySettings
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import Application, Outbox, RawMessage
from tests.judging import POSTINGS, stored

ROOT = Path(__file__).parent
SAMPLES = ROOT.parent / "data" / "sample"
LABELLED = ROOT / "fixtures" / "labelled"
CODES = {
    "cover_letter": "missing_cover_letter",
    "resume": "missing_resume",
    "github": "missing_github",
    "internship_period": "missing_internship_period",
    "internship_area": "missing_internship_area",
    "coursework": "missing_coursework",
    "eligibility": "eligibility_unknown",
}


def replies_to(messages: list[tuple[str, str, bytes]], tmp_path) -> dict[str, list[str]]:
    """Store and decide each (name, mailbox, raw) in order, replies rendered (dry run);
    returns, per message name, the text of every reply it triggered, and the messages of
    its application up to it (what the application held when the reply was written)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    settings = ReplySettings(
        DEFAULT_TEMPLATES,
        "Numenta Careers <careers@numenta.com>",
        reply_to={"careers": "careers@numenta.com", "interns": "interns@numenta.com"},
        dry_run=True,
    )
    processor = Processor(
        POSTINGS, clock=lambda: datetime(2018, 1, 23, tzinfo=UTC), replies=settings
    )
    names: dict[int, str] = {}
    with open_session(engine) as session:
        for uid, (name, mailbox, raw) in enumerate(messages, start=1):
            row = stored(session, processor, mailbox, raw, uid)
            assert row.status == "processed", (name, row.error)
            names[row.id] = name
        session.commit()
        found: dict[str, list[str]] = {}
        for reply in session.exec(select(Outbox).where(Outbox.raw != b"")):
            text = message_from_bytes(reply.raw, policy=default).get_body(("plain",)).get_content()
            found.setdefault(names[reply.trigger_id], []).append(" ".join(text.split()))
        parts = _parts(session, names)
    return {name: (found.get(name, []), parts.get(name, [name])) for name in names.values()}


def _parts(session, names: dict[int, str]) -> dict[str, list[str]]:
    """For each message of an application, the application's messages up to it."""
    parts: dict[str, list[str]] = {}
    for app in session.exec(select(Application)):
        ids = sorted(
            session.exec(
                select(RawMessage.id).where(
                    (RawMessage.id == app.raw_message_id) | (RawMessage.application_id == app.id)
                )
            )
        )
        for n, raw_id in enumerate(ids, start=1):
            parts[names[raw_id]] = [names[i] for i in ids[:n]]
    return parts


def assert_not_asked(name: str, texts: list[str], present: set[str]) -> None:
    for text in texts:
        for item in present:
            asked = NEEDED[CODES[item]].split("{")[0]
            assert asked not in text, f"{name}: the reply asks for {item}, which was sent"


def test_no_reply_to_the_sample_mail_asks_for_what_was_sent(tmp_path):
    contents = json.loads((ROOT / "fixtures" / "sample-contents.json").read_text())
    messages = [
        (name, name.split("/")[0], (SAMPLES / name).read_bytes()) for name in sorted(contents)
    ]
    answered = replies_to(messages, tmp_path)
    assert sum(bool(texts) for texts, _ in answered.values()) >= 12
    for name, (texts, parts) in answered.items():
        present = set().union(*(contents[p]["contains"] for p in parts))
        assert_not_asked(name, texts, present)


def present_in(labels: dict) -> set[str]:
    """What a labelled application contains, by its labels."""
    found = {
        "resume": labels["resume_filename"] is not None,
        "github": bool(labels["github"]),
        "internship_period": labels["internship_period"] is not None,
        "internship_area": labels["internship_area"] is not None,
        "eligibility": bool(labels["eligibility_basis"]) or labels["needs_sponsorship"],
    }
    return {item for item, there in found.items() if there}


@pytest.mark.parametrize("mailbox", ["careers", "interns"])
def test_no_reply_to_the_labelled_set_asks_for_what_was_sent(tmp_path, mailbox):
    cases = [
        (p.stem, json.loads(p.read_text()))
        for p in sorted(LABELLED.glob("*.json"))
        if json.loads(p.read_text())["mailbox"] == mailbox
    ]
    messages = [(name, mailbox, (LABELLED / f"{name}.eml").read_bytes()) for name, _ in cases]
    answered = replies_to(messages, tmp_path)
    labels = dict(cases)
    assert sum(bool(texts) for texts, _ in answered.values()) >= len(cases) // 2
    for name, (texts, parts) in answered.items():
        present = set().union(*(present_in(labels[p]) for p in parts))
        assert_not_asked(name, texts, present)
