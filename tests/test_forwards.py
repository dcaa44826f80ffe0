"""Forwards and referrals: the separators and header blocks real clients write."""

from __future__ import annotations

import pytest

from intake.extraction.forwards import candidate, detect
from intake.mail.parse import parse_message
from tests.builders import make_mail

NOTE = "Hi team,\n\nPlease have a look at this candidate. She is a US citizen.\n\nMark\n"
LETTER = "Dear Numenta,\n\nI am applying for the Research Internship.\n\nJane Doe\n"

BLOCKS = [
    (  # Gmail
        "Fwd: Application",
        "---------- Forwarded message ---------\nFrom: Jane Doe <jane@uni.edu>\n"
        "Date: Mon, Jan 8, 2018 at 10:15 AM\nSubject: Application\nTo: <mark@numenta.com>\n\n",
    ),
    (  # Outlook desktop: a rule, then From/Sent/To/Subject
        "FW: Application",
        "________________________________\nFrom: Jane Doe <jane@uni.edu>\n"
        "Sent: Monday, January 8, 2018 10:15 AM\nTo: Mark <mark@numenta.com>\n"
        "Subject: Application\n\n",
    ),
    (  # Outlook, older: [mailto:]
        "FW: Application",
        "-----Original Message-----\nFrom: Jane Doe [mailto:jane@uni.edu]\n"
        "Sent: Monday, January 08, 2018 10:15 AM\nTo: Mark\nSubject: Application\n\n",
    ),
    (  # Apple Mail
        "Fwd: Application",
        "Begin forwarded message:\n\nFrom: Jane Doe <jane@uni.edu>\nSubject: Application\n"
        "Date: January 8, 2018 at 10:15:00 AM PST\nTo: mark@numenta.com\n\n",
    ),
    (  # Thunderbird: Subject and Date come before From
        "Fwd: Application",
        "-------- Forwarded Message --------\nSubject: \tApplication\n"
        "Date: \tMon, 8 Jan 2018 10:15:00 -0800\nFrom: \tJane Doe <jane@uni.edu>\n"
        "To: \tmark@numenta.com\n\n",
    ),
    (  # German Outlook
        "WG: Bewerbung",
        "Von: Jane Doe <jane@uni.edu>\nGesendet: Montag, 8. Januar 2018 10:15\n"
        "An: Mark <mark@numenta.com>\nBetreff: Application\n\n",
    ),
    (  # Yahoo: the forwarded header run into one line
        "Fwd: Application",
        "----- Forwarded Message ----- From: Jane Doe <jane@uni.edu>To: Mark "
        "<mark@numenta.com>Sent: Monday, January 8, 2018, 10:15:00 AM PSTSubject: Application\n\n",
    ),
]


@pytest.mark.parametrize(("subject", "block"), BLOCKS)
def test_the_forwarded_author_and_text_are_the_candidates(subject, block):
    raw = make_mail(NOTE + "\n" + block + LETTER, sender="Mark <mark@numenta.com>", subject=subject)
    forward = detect(parse_message(raw))
    assert (forward.name, forward.email) == ("Jane Doe", "jane@uni.edu")
    assert forward.text.startswith("Dear Numenta,") and "US citizen" not in forward.text
    assert "US citizen" in forward.note and forward.subject == "Application"
    assert forward.date is not None and forward.date.year == 2018


def test_an_outlook_reply_quoting_the_same_header_block_is_not_a_forward():
    raw = make_mail(
        "Thanks!\n\nFrom: Numenta <careers@numenta.com>\nSent: Monday, January 8, 2018\n"
        "To: Jane\nSubject: Your application\n\nWe received it.",
        subject="RE: Your application",
    )
    assert detect(parse_message(raw)) is None


def test_the_original_attached_as_a_message():
    inner = make_mail(LETTER, sender="Jane Doe <jane@uni.edu>", subject="Application")
    outer = (
        b"From: Mark <mark@numenta.com>\r\nTo: interns@numenta.com\r\nSubject: TR: Application\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\n"
        b'Content-Type: message/rfc822; name="Application.eml"\r\n'
        b'Content-Disposition: attachment; filename="Application.eml"\r\n\r\n'
        + inner
        + b"\r\n--b--\r\n"
    )
    msg = parse_message(outer)
    forward = detect(msg)
    assert (forward.email, forward.note, forward.attached.subject) == (
        "jane@uni.edu",
        "See attached.",
        "Application",
    )
    assert msg.attachments == () and "I am applying" not in msg.text


def test_a_referral_names_the_candidate_by_address():
    raw = make_mail(
        "Hi,\n\nI'd like to refer my friend Jana Horvath <jana@uni.edu> for the internship; "
        "her resume is attached.\n\nMark",
        sender="Mark <mark@numenta.com>",
    )
    forward = detect(parse_message(raw))
    assert (forward.name, forward.email, forward.text) == ("Jana Horvath", "jana@uni.edu", "")


@pytest.mark.parametrize(
    ("name", "email", "expected"),
    [
        ("Dana Whitfield via LinkedIn", "messages-noreply@linkedin.com", ("Dana Whitfield", None)),
        ("Jane Doe", "jane@uni.edu", ("Jane Doe", "jane@uni.edu")),
        ("", "noreply@example.com", (None, None)),
    ],
)
def test_a_service_sending_for_someone_is_not_their_address(name, email, expected):
    assert candidate(name, email) == expected
