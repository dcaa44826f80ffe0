"""Mail as real clients write it (tests/fixtures/clients/, labelled by hand): every label
checked against the decision, and every case sent down the real reply path, where no
acknowledgement may ask for an item the application contains."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlmodel import select

from intake.daemon.pipeline import Processor
from intake.decisions.checks import MIN_COVER_LETTER_WORDS
from intake.decisions.decision import Decision, Setup
from intake.replies.messages import DEFAULT_TEMPLATES, NEEDED
from intake.replies.outbox import ReplySettings
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import Outbox
from tests.judging import NOW, POSTINGS, decision_of, field_by_field, stored

FIXTURES = Path(__file__).parent / "fixtures" / "clients"
CASES = sorted(FIXTURES.glob("*.json"))
MAILBOXES = ("interns", "careers", "ml-jobs", "cambridge")
OWN = frozenset(f"{box}@numenta.com" for box in MAILBOXES)
ITEMS = {f"missing_{item}": item for item in ("cover_letter", "resume", "github")} | {
    "missing_internship_period": "internship_period",
    "missing_internship_area": "internship_area",
    "missing_coursework": "coursework",
    "eligibility_unknown": "eligibility",
}


def labels_of(path: Path) -> dict:
    labels = json.loads(path.read_text())
    for key in ("client", "notes"):
        labels.pop(key)
    return labels


def observed(decision: Decision) -> dict:
    """The decision in the labels' terms."""
    application = decision.kind == "application"
    extraction = decision.extraction
    evaluation = decision.evaluation
    period = extraction.period if extraction else None
    resume = extraction.resume_json() if extraction else None
    return {
        "kind": decision.kind,
        "applicant": decision.applicant.to_json() if application else None,
        "referred_by": decision.referrer.email if decision.referrer else None,
        "posting": evaluation.posting if application else None,
        "github": sorted(extraction.github) if extraction else [],
        "internship_period": period and {"start": period.start, "end": period.end},
        "internship_area": extraction.area if extraction else None,
        "eligibility_basis": sorted(extraction.eligibility.basis) if extraction else [],
        "needs_sponsorship": extraction.eligibility.needs_sponsorship if extraction else False,
        "resume_filename": resume and (resume["filename"] or ""),
        # what a recruiter would call a document: PDF, DOCX, text, or a role found for it
        "documents": {
            d.filename: d.role
            for d in decision.documents
            if d.content.format != "other" or d.role != "other"
        },
        "resume_state": extraction.resume_state if extraction else None,
        "has_cover_letter": len(((extraction and extraction.cover_letter) or "").split())
        >= MIN_COVER_LETTER_WORDS,
        "missing": sorted(ITEMS[f.code] for f in evaluation.flags if f.code in ITEMS)
        if application and evaluation.posting
        else None,
        "acknowledged": sorted(r.to.email for r in decision.replies if r.status == "due"),
    }


def test_there_are_enough_cases_from_enough_clients():
    clients = {json.loads(p.read_text())["client"] for p in CASES}
    assert len(CASES) >= 40 and len(clients - {"mailchimp", "sendgrid", "mailman", "spam"}) >= 6


def test_every_case_field_by_field():
    cases = []
    for path in CASES:
        labels = labels_of(path)
        mailbox = labels.pop("mailbox")
        decision = decision_of(
            path.with_suffix(".eml").read_bytes(),
            mailbox,
            setup=Setup(POSTINGS, mailbox, own_addresses=OWN),
        )
        cases.append((path.stem, labels, observed(decision)))
    mismatches = field_by_field("clients (hand-labelled real-client mail)", cases)
    assert not mismatches, "\n".join(mismatches)


@pytest.fixture(scope="module")
def replied(tmp_path_factory) -> dict[str, list[Outbox]]:
    """Every case stored and decided as the daemon does, replies rendered (dry run)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('clients') / 'intake.db'}")
    settings = ReplySettings(
        DEFAULT_TEMPLATES,
        "Numenta Careers <careers@numenta.com>",
        reply_to={box: f"{box}@numenta.com" for box in MAILBOXES},
        dry_run=True,
    )
    processor = Processor(POSTINGS, clock=lambda: NOW, replies=settings)
    found: dict[str, list[Outbox]] = {}
    with open_session(engine) as session:
        for uid, path in enumerate(CASES, start=1):
            raw = path.with_suffix(".eml").read_bytes()
            row = stored(session, processor, labels_of(path)["mailbox"], raw, uid)
            assert row.status == "processed", (path.stem, row.error)
            found[path.stem] = list(session.exec(select(Outbox).where(Outbox.trigger_id == row.id)))
        session.commit()
    return found


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_no_acknowledgement_asks_for_what_was_sent(replied, path):
    labels = labels_of(path)
    rows = replied[path.stem]
    sent = {r.to_address for r in rows if r.status in ("dry_run", "pending")}
    assert sorted(sent) == labels["acknowledged"]
    posting = POSTINGS.get(labels["posting"] or "")
    present = [i for i in (posting.requires if posting else ()) if i not in labels["missing"]]
    if posting and posting.eligibility.accepted and "eligibility" not in labels["missing"]:
        present.append("eligibility")
    for row in (r for r in rows if r.raw):
        text = message_from_bytes(row.raw, policy=default).get_body(("plain",)).get_content()
        text = " ".join(text.split())
        for item in present:
            code = "eligibility_unknown" if item == "eligibility" else f"missing_{item}"
            asked = NEEDED[code].split("{")[0]
            assert asked not in text, f"{path.stem}: the reply asks for {item}, which was sent"
        if labels["resume_state"] == "no_text":
            assert "readable copy" not in text, f"{path.stem}: a scan is not unreadable"
