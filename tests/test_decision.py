"""The one decision, pure: who is the applicant, who gets which reply, and why not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from intake.cli import cli
from intake.decisions.decision import Earlier, History, Setup, natural_name
from intake.decisions.rules import DEFAULT_DIR
from intake.extraction.extract import read
from intake.mail.parse import parse_message
from tests.builders import make_mail, make_pdf
from tests.judging import POSTINGS, decision_of, stored

RESUME = ("resume.pdf", "application/pdf", make_pdf(["Ada Lovelace", "Education", "Skills"]))
LETTER = (
    "Dear Numenta,\n\nI am applying for the Machine Learning Engineer position. I have built "
    "forecasting models for six years and read every HTM paper. My code is at "
    "https://github.com/ada-l and my resume is attached.\n\nAda"
)


def replies(decision) -> list[tuple[str, str | None, str | None, str]]:
    return [(r.role, r.to.email, r.template, r.status) for r in decision.replies]


def test_an_application_gets_the_posting_template():
    decision = decision_of(make_mail(LETTER, attachments=[RESUME]), "careers")
    assert (decision.kind, decision.evaluation.posting) == ("application", "numenta-ml-engineer")
    assert replies(decision) == [("applicant", "ada@example.org", "received_complete", "due")]


def test_an_upstream_spam_verdict_outweighs_applying_words():
    raw = make_mail(LETTER, attachments=[RESUME], headers={"X-Spam-Flag": "YES"})
    decision = decision_of(raw, "careers")
    [reply] = decision.replies
    assert (decision.kind, reply.status) == ("spam", "skipped")


def test_failed_authentication_is_never_answered_even_when_it_is_an_application():
    results = "mx.numenta.com; dmarc=fail (p=reject) header.from=example.org"
    raw = make_mail(LETTER, attachments=[RESUME], headers={"Authentication-Results": results})
    decision = decision_of(raw, "careers")
    [reply] = decision.replies
    assert decision.kind == "application"
    assert (reply.status, reply.reason) == (
        "suppressed",
        "not answered: dmarc=fail (a reply could be backscatter)",
    )


def test_unrouted_applications_get_a_neutral_reply_unless_the_mailbox_turns_it_off():
    raw = make_mail(
        "Dear team,\n\nI am applying for a position at Numenta. My resume is attached.",
        subject="Application",
        attachments=[RESUME],
    )
    decision = decision_of(raw, "interns")
    assert decision.evaluation.route.flag.code == "posting_unmatched"
    assert replies(decision) == [("applicant", "ada@example.org", "received_unrouted", "due")]
    off = decision_of(raw, setup=Setup(POSTINGS, "interns", unrouted_reply=False))
    [reply] = off.replies
    assert (reply.status, reply.reason) == (
        "skipped",
        "no posting fits and replies to unrouted applications are off for this mailbox",
    )


def test_a_candidate_without_an_address_only_the_referrer_is_thanked():
    raw = make_mail(
        "Hi,\n\nForwarding an applicant.\n\n---------- Forwarded message ---------\n"
        "From: Jane Doe\nDate: Mon, Jan 22, 2018\nSubject: Application\n\n" + LETTER,
        sender="Mark Smith <mark@example.com>",
        subject="Fwd: Application",
        attachments=[RESUME],  # the resume holds no address either
    )
    decision = decision_of(raw, "careers")
    assert (decision.applicant.name, decision.applicant.email) == ("Jane Doe", None)
    assert replies(decision) == [
        ("applicant", None, None, "skipped"),
        ("referrer", "mark@example.com", "referral_thanks", "due"),
    ]


def test_someone_forwarding_their_own_application_is_the_applicant_not_a_referrer():
    raw = make_mail(
        "Sending from my personal address.\n\n---------- Forwarded message ---------\n"
        "From: Ada Lovelace <ada@uni.edu>\nDate: Mon, Jan 22, 2018\nSubject: Application\n\n"
        + LETTER,
        subject="Fwd: Application",
        attachments=[RESUME],
    )
    decision = decision_of(raw, "careers")
    assert (decision.applicant.email, decision.referrer) == ("ada@example.org", None)


def test_a_follow_up_to_nothing_we_have_is_kept_for_a_person_with_the_reason():
    raw = make_mail("Any news on my application?", subject="Re: Application")
    decision = decision_of(raw, "careers")
    [reply] = decision.replies
    assert (decision.kind, reply.status) == ("follow_up", "skipped")
    assert reply.reason == "a follow-up that continues nothing we have: a person reads it"


def test_a_message_answering_our_acknowledgement_joins_that_application():
    first = read(parse_message(make_mail(LETTER)))
    history = History(
        thread=Earlier(
            7,
            "numenta-ml-engineer",
            datetime(2018, 1, 22, tzinfo=UTC),
            (first,),
            frozenset({"ada@example.org"}),
        )
    )
    raw = make_mail("Here it is.", subject="Re: Application", attachments=[RESUME])
    decision = decision_of(raw, "careers", history=history)
    assert (decision.kind, decision.target, decision.evaluation.status) == (
        "follow_up",
        7,
        "complete",
    )
    assert replies(decision) == [("applicant", "ada@example.org", "follow_up", "due")]


def test_loop_safety_comes_from_the_history():
    history = History(bounced=frozenset({"ada@example.org"}))
    decision = decision_of(make_mail(LETTER, attachments=[RESUME]), "careers", history=history)
    assert decision.replies[0].reason == "ada@example.org bounced an earlier reply"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("García, María", "", "María García"),
        ("Lavoie Mathieu", "Regards,\nMathieu Lavoie", "Mathieu Lavoie"),
        ("Lavoie Mathieu", "Regards,\nLavoie", "Lavoie Mathieu"),
        ("Müller, Zoë (Student)", "", "Zoë Müller"),
        (
            "karthik.subra93",
            "...\nRegards,\nKarthik Subramanian\n(480) 555-0164",
            "Karthik Subramanian",
        ),
        ("karthik.subra93", "Thanks,Karthik Subramanian(480) 555-0164", "Karthik Subramanian"),
        ("jdoe_1", "no signature here", "jdoe_1"),
        (None, "", None),
    ],
)
def test_names_as_people_sign_them(name, text, expected):
    assert natural_name(name, text) == expected


def test_the_applicant_is_answered_where_they_ask_to_be():
    raw = make_mail(
        LETTER, attachments=[RESUME], headers={"Reply-To": "Ada L <ada.personal@example.com>"}
    )
    decision = decision_of(raw, "careers")
    assert decision.applicant.email == "ada.personal@example.com"
    assert decision.replies[0].to.email == "ada.personal@example.com"
    ours = make_mail(LETTER, attachments=[RESUME], headers={"Reply-To": "careers@numenta.com"})
    setup = Setup(POSTINGS, "careers", own_addresses=frozenset({"careers@numenta.com"}))
    assert decision_of(ours, setup=setup).applicant.email == "ada@example.org"


def test_rules_explain_a_stored_message_with_its_history(tmp_path, monkeypatch):
    from intake import config
    from intake.daemon.pipeline import processor_for
    from intake.storage.db import make_engine
    from intake.storage.db import session as open_session

    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "i.db"}"\n[rules]\ndir = "{DEFAULT_DIR}"\n'
    )
    cfg = config.load(path)
    processor = processor_for(cfg)
    engine = make_engine(cfg.database_url)
    first = make_mail(LETTER, message_id="<ada-1@example.org>")
    second = make_mail(
        "Here is my resume.",
        subject="Re: Application",
        message_id="<ada-2@example.org>",
        headers={"In-Reply-To": "<ada-1@example.org>"},
        attachments=[RESUME],
    )
    with open_session(engine) as session:
        for uid, raw in enumerate((first, second), start=1):
            stored(session, processor, "careers", raw, uid)
        session.commit()
    result = CliRunner().invoke(cli, ["--config", str(path), "rules", "explain", "--message", "2"])
    assert result.exit_code == 0, result.output
    assert "folded into application #1" in result.output
    assert "status: complete" in result.output
    alone = tmp_path / "second.eml"
    alone.write_bytes(second)
    result = CliRunner().invoke(
        cli, ["--config", str(path), "rules", "explain", str(alone), "--mailbox", "careers"]
    )
    assert "folded into" not in result.output  # alone, it continues nothing


def test_someone_else_answering_in_the_thread_does_not_join_the_application():
    first = read(parse_message(make_mail(LETTER)))
    thread = Earlier(7, "numenta-ml-engineer", None, (first,), frozenset({"ada@example.org"}))
    raw = make_mail(
        "Hi all, how do we post our students' profiles on your job board?",
        sender="Career Office <careers@uni.edu>",
        subject="Re: Application",
    )
    decision = decision_of(raw, "careers", history=History(thread=thread))
    assert (decision.kind, decision.target) == ("question", None)
    own = make_mail("Here is my resume.", subject="Re: Application", attachments=[RESUME])
    assert decision_of(own, "careers", history=History(thread=thread)).target == 7


def test_a_reply_to_naming_the_applicant_does_not_make_a_stranger_the_applicant():
    """Only the From address continues an application: a stranger's Reply-To pointing at
    the applicant (in the thread, or within the follow-up window) changes nothing."""
    first = read(parse_message(make_mail(LETTER)))
    earlier = Earlier(
        7,
        "numenta-ml-engineer",
        datetime(2018, 1, 22, tzinfo=UTC),
        (first,),
        frozenset({"ada@example.org"}),
    )
    raw = make_mail(
        "Here is my resume. I will need visa sponsorship.",
        sender="Mallory <mallory@evil.example>",
        subject="Re: Application",
        attachments=[RESUME],
        headers={"Reply-To": "Ada Lovelace <ada@example.org>"},
    )
    in_thread = decision_of(raw, "careers", history=History(thread=earlier))
    assert in_thread.target is None
    by_person = decision_of(raw, "careers", history=History(person=(earlier,)))
    assert (by_person.target, by_person.duplicate_of) == (None, None)
    assert "possible_duplicate" in [f.code for f in by_person.flags]
