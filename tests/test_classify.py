"""Message kind from header signals and the scored signal table: table-driven."""

import pytest

from intake.decisions.classify import APPLY_SCORE, SIGNALS, classify
from intake.decisions.decision import phrases
from intake.decisions.rules import for_mailbox
from intake.extraction.extract import read
from intake.extraction.quoting import new_text
from intake.mail.parse import parse_message
from tests.builders import make_mail
from tests.judging import POSTINGS

PHRASES = phrases(for_mailbox(POSTINGS, "interns"))

PDF = ("cv.pdf", "application/pdf", b"%PDF-1.4 x")
APPLY = "Dear Numenta,\n\nI am applying for the Research Internship. My resume is attached.\n"

CASES = [
    # (headers, sender, subject, body, attachments, kind)
    ({}, None, "Application", APPLY, [PDF], "application"),
    ({}, None, "Research Internship", "Please find attached my resume.", [PDF], "application"),
    ({}, None, "Internship", "", [PDF], "application"),
    ({"Auto-Submitted": "auto-replied"}, None, "Your message", "I am away.", [], "auto_reply"),
    ({"Auto-Submitted": "auto-generated"}, None, "Notice", "x", [], "bulk"),  # a notification
    ({"Auto-Submitted": "no"}, None, "Application", APPLY, [PDF], "application"),
    ({"X-Autoreply": "yes"}, None, "Re: Application", "Away.", [], "auto_reply"),
    ({"X-Autorespond": "1"}, None, "Hello", "Away.", [], "auto_reply"),
    ({"Precedence": "auto_reply"}, None, "Hello", "Away.", [], "auto_reply"),
    # a system that wants no automatic answers sent it: a notification, never answered
    ({"X-Auto-Response-Suppress": "OOF"}, None, "Hello", "Away.", [], "bulk"),
    ({}, None, "Automatic reply: Application", "I am out.", [], "auto_reply"),
    ({}, None, "Out of Office: Re: Internship", "Back Monday.", [], "auto_reply"),
    ({}, None, "Abwesenheitsnotiz: Bewerbung", "Bin weg.", [], "auto_reply"),
    ({}, "MAILER-DAEMON@mx.example.org", "Undelivered Mail", "failed", [], "bounce"),
    ({}, "postmaster@example.org", "Delivery Status Notification (Failure)", "x", [], "bounce"),
    ({"X-Failed-Recipients": "a@example.org"}, None, "Mail failure", "x", [], "bounce"),
    ({"Return-Path": "<>"}, None, "Mail delivery failed: returning message", "x", [], "bounce"),
    ({"List-Id": "<jobs.lists.example.org>"}, None, "Job board", "New jobs", [], "bulk"),
    ({"List-Unsubscribe": "<mailto:u@example.org>"}, None, "Digest", "News", [], "bulk"),
    ({"Precedence": "bulk"}, None, "Newsletter", "News", [], "bulk"),
    ({"Precedence": "list"}, None, "Re: thread", "x", [], "bulk"),
    ({}, None, "Question", "Hi, is the internship paid? Thanks", [], "question"),
    (
        {},
        None,
        "Question about internships",
        "Quick question before I apply: is the internship paid, and is housing offered?",
        [],
        "question",
    ),
    (
        {},
        None,
        "Summer 2017 internship",
        "Hi,\n\nAre the Summer 2017 Algorithms internships paid?\n\nThanks,\nJane\n"
        "CS, University of Michigan | github.com/jane-d",
        [],
        "question",
    ),
    # what upstream filters and bulk mailers say outweighs any applying words
    (
        {"X-Spam-Flag": "YES", "X-Spam-Status": "Yes, score=9.1"},
        None,
        "My application",
        "I am a highly motivated professional, please see my resume at https://bit.ly/x",
        [],
        "spam",
    ),
    (
        {"Authentication-Results": "mx.numenta.com; dmarc=fail (p=reject) header.from=x.org"},
        None,
        "Urgent business",
        "Dear friend, claim your prize today.",
        [],
        "spam",
    ),
    (
        {"X-Mailer": "MailChimp Mailer - **CID1234**", "X-Campaign": "mailchimp1234.5678"},
        None,
        "Top interns this month",
        "Our graduates are applying for internships. Their resumes and GitHub links inside. "
        "View this email in your browser. Unsubscribe.",
        [],
        "bulk",
    ),
    ({}, None, "", "", [], "other"),
    ({}, None, "Hello", "Thanks for the great meetup last week, it was fun.", [], "other"),
    (
        {},
        None,
        "Candidates for your ML role",
        "We are a recruiting agency and we have several candidates for your ML engineer role.",
        [],
        "other",
    ),
    (
        {},
        None,
        "Partnership",
        "Our candidates are pre-screened; our placement fee is 20%.",
        [],
        "other",
    ),
    (
        {"In-Reply-To": "<ack-1@numenta.com>"},
        None,
        "Re: Application",
        "Here is my resume.",
        [PDF],
        "application",  # it carries the resume: folded in when the thread is ours
    ),
    (
        {"References": "<app-1@example.org>"},
        None,
        "Application",
        "Forgot this.",
        [PDF],
        "application",
    ),
    ({}, None, "Re: Research Internship", "Any news?", [], "follow_up"),
    ({}, None, "AW: Bewerbung", "Anbei mein Lebenslauf.", [PDF], "application"),
    (
        {},
        None,
        "Application status",
        "I am following up on my application from March.",
        [],
        "follow_up",
    ),
    ({}, None, "Internship", "Is there any update on my application?", [], "follow_up"),
    ({}, None, "Resume", "Sorry, I forgot to attach my resume yesterday.", [PDF], "follow_up"),
    (
        {},
        None,
        "Fwd: Application",
        "---------- Forwarded message ---------\nFrom: me\n\n" + APPLY,
        [PDF],
        "application",
    ),
]


@pytest.mark.parametrize(("headers", "sender", "subject", "body", "attachments", "kind"), CASES)
def test_kind(headers, sender, subject, body, attachments, kind):
    raw = make_mail(
        body,
        subject=subject,
        headers=headers,
        attachments=attachments,
        sender=sender or "Ada Lovelace <ada@example.org>",
    )
    verdict = classify(read(parse_message(raw)), PHRASES)
    assert verdict.kind == kind, verdict


def test_every_signal_is_shown_with_its_weight_and_the_score_adds_up():
    raw = make_mail(
        "Dear Numenta,\n\nI am applying for the Research Internship. My GitHub: github.com/ada",
        attachments=[PDF],
    )
    verdict = classify(read(parse_message(raw)), PHRASES)
    assert [h.signal for h in verdict.signals] == [s.name for s in SIGNALS]
    fired = {h.signal: h.evidence for h in verdict.fired}
    assert fired == {
        "applying_language": "Application:",  # the subject comes first
        "resume_attached": "cv.pdf",
        "posting_named": "Research Internship",
        "job_words": "Application",
        "code_link": "github.com/ada",
        "greeting": "Dear Numenta,",
    }
    assert verdict.score == sum(h.weight for h in verdict.fired) == 13 >= APPLY_SCORE


def test_multipart_report_is_a_bounce():
    raw = (
        b"From: Mail Delivery System <mailer@mx.example.org>\r\nTo: careers@numenta.com\r\n"
        b"Subject: Returned\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\n"
        b"Content-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n\r\n--b--\r\n"
    )
    assert classify(read(parse_message(raw))).kind == "bounce"


QUOTES = [
    (
        "Thanks!\n\nOn Mon, Jan 22, 2018 at 10:00 AM, Numenta <careers@numenta.com> wrote:\n"
        "> I am a US citizen.\n",
        "Re: x",
        "Thanks!",
    ),
    ("New text.\n\n> old text\n> more old\n", "Re: x", "New text."),
    (
        "Hallo\n\nAm 22.01.2018 um 10:00 schrieb Numenta <careers@numenta.com>:\n> alt\n",
        "AW: x",
        "Hallo",
    ),
    ("Hi\n\n-----Original Message-----\nFrom: Numenta\nSubject: Re: app\n\nold", "RE: app", "Hi"),
    (
        "See below.\n\n---------- Forwarded message ---------\nFrom: Me\n\nI am a US citizen.",
        "Fwd: Internship",
        "See below.\n\n---------- Forwarded message ---------\nFrom: Me\n\nI am a US citizen.",
    ),
    ("", "Re: x", ""),
]


@pytest.mark.parametrize(("text", "subject", "expected"), QUOTES)
def test_new_text_drops_quotes_keeps_forwards(text, subject, expected):
    assert new_text(text, subject) == expected


def test_the_readme_shows_the_signal_table_as_it_is():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for signal in SIGNALS:
        row = f"| `{signal.name}` | {signal.weight:+d} | {signal.family} | {signal.description} |"
        assert row in readme, f"README.md: the signal table lacks or misstates {signal.name}"
