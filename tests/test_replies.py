"""The pure parts of replying: decisions, headers, templates, backoff, bounces, merging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from intake.config import SmtpConfig
from intake.decisions.rules import DEFAULT_DIR, load_all
from intake.decisions.safety import ReplyPolicy, why_not
from intake.errors import ConfigError
from intake.extraction.extract import assemble, read
from intake.mail.parse import parse_message
from intake.replies.messages import (
    DEFAULT_TEMPLATES,
    Envelope,
    build,
    check_templates,
    context,
    render,
    reply_message_id,
    reply_subject,
)
from intake.replies.outbox import SendStats, _failure, backoff
from intake.storage.models import Outbox
from tests.builders import make_mail, make_pdf

POSTINGS = load_all(DEFAULT_DIR)
SAMPLES = Path(__file__).parent.parent / "data" / "sample"
OWN = frozenset({"careers@numenta.com"})


def envelope(**changes) -> Envelope:
    values = {
        "from_address": "Numenta Careers <careers@numenta.com>",
        "reply_to": "careers@numenta.com",
        "to_name": "Ada Lovelace",
        "to_address": "ada@example.org",
        "subject": "Application",
        "in_reply_to": "<ada-1@example.org>",
        "references": ("<thread-0@example.org>",),
        "message_id": "<intake.0123@numenta.com>",
        "date": datetime(2018, 1, 22, tzinfo=UTC),
    }
    return Envelope(**{**values, **changes})


def test_reply_headers_follow_rfc_3834_and_thread():
    msg = message_from_bytes(build(envelope(), "Thank you.\n", None), policy=default)
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["In-Reply-To"] == "<ada-1@example.org>"
    assert msg["References"] == "<thread-0@example.org> <ada-1@example.org>"
    assert msg["Subject"] == "Re: Application"
    assert msg["Reply-To"] == "careers@numenta.com"
    assert msg["To"] == "Ada Lovelace <ada@example.org>"
    assert msg["From"] == "Numenta Careers <careers@numenta.com>"
    assert msg["Precedence"] == "auto_reply"
    assert msg["Message-ID"] == "<intake.0123@numenta.com>"
    assert msg["Date"] == "Mon, 22 Jan 2018 00:00:00 +0000"
    assert msg.get_content() == "Thank you.\r\n" and not msg.is_multipart()  # SMTP: CRLF


def test_a_first_message_starts_a_thread_and_html_is_an_alternative():
    msg = message_from_bytes(
        build(envelope(in_reply_to=None, references=()), "Thanks.\n", "<p>Thanks.</p>\n"),
        policy=default,
    )
    assert msg["In-Reply-To"] is None and msg["References"] is None
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert [p.get_content() for p in msg.iter_parts()] == ["Thanks.\r\n", "<p>Thanks.</p>\r\n"]


@pytest.mark.parametrize("field", ["to_name", "subject"])
def test_no_header_can_be_injected_through_name_or_subject(field):
    hostile = "Ada\r\nBcc: victim@example.com\r\nX-Evil: yes"
    raw = build(envelope(**{field: hostile}), "Thank you.\n", None)
    msg = message_from_bytes(raw, policy=default)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert b"\nBcc:" not in raw and b"\nX-Evil:" not in raw
    assert len(msg.get_all("To")) == 1


def test_a_non_ascii_address_still_renders_for_the_record():
    raw = build(envelope(to_address="jörg@example.de"), "Thank you.\n", None)
    assert message_from_bytes(raw, policy=default)["To"] == "Ada Lovelace <j?rg@example.de>"


def test_reply_subject_is_not_re_re():
    assert reply_subject("RE: Application") == "RE: Application"
    assert reply_subject("") == "Re: your application"
    assert reply_subject("Bewerbung\n") == "Re: Bewerbung"


def test_message_id_is_deterministic_per_application_outcome_and_trigger():
    one = reply_message_id(7, "received_complete", "<a@x> 1f", "numenta.com")
    assert one == reply_message_id(7, "received_complete", "<a@x> 1f", "numenta.com")
    assert one.startswith("<intake.") and one.endswith("@numenta.com>")
    assert one != reply_message_id(7, "received_incomplete", "<a@x> 1f", "numenta.com")
    assert one != reply_message_id(7, "received_complete", "<b@x> 2e", "numenta.com")


@pytest.mark.parametrize(
    ("to", "bouncing", "recent", "reason"),
    [
        ("ada@example.org", False, 0, None),
        ("noreply@jobs.example.com", False, 0, "automatic address noreply@jobs.example.com"),
        ("No-Reply@example.com", False, 0, "automatic address No-Reply@example.com"),
        (
            "mailer-daemon@mx.example.org",
            False,
            0,
            "automatic address mailer-daemon@mx.example.org",
        ),
        ("postmaster@example.org", False, 0, "automatic address postmaster@example.org"),
        ("careers@numenta.com", False, 0, "our own address careers@numenta.com"),
        ("ada@example.org", True, 0, "ada@example.org bounced an earlier reply"),
        ("ada@example.org", False, 3, "rate limit: 3 replies to ada@example.org in 24 h"),
        ("", False, 0, "no sender address"),
        (
            "jörg@example.de",
            False,
            0,
            "address 'jörg@example.de' is not ASCII (it would need SMTPUTF8)",
        ),
    ],
)
def test_loop_safety_suppresses_with_a_reason(to, bouncing, recent, reason):
    assert why_not(to, OWN, bouncing, recent, ReplyPolicy()) == reason


def test_posting_template_overrides_default_and_html_is_escaped():
    values = context(
        POSTINGS["numenta-internship-program"],
        ["period_filled"],
        "<script>alert(1)</script>",
        None,
        "Team",
    )
    text, html = render(DEFAULT_TEMPLATES, "numenta-internship-program", "closed", values)
    assert "Summer 2017" in text  # numenta-internship-program/closed.txt.j2, not the default
    assert html is None  # no HTML part for this one
    values = context(
        POSTINGS["numenta-ml-engineer"],
        ["missing_resume"],
        "<script>alert(1)</script>",
        None,
        "Team",
    )
    text, html = render(DEFAULT_TEMPLATES, "numenta-ml-engineer", "received_incomplete", values)
    assert "Dear <script>alert(1)</script>," in text  # plain text is not HTML
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "your resume, attached as a PDF or DOCX file" in html


def test_context_speaks_to_applicants_not_in_flag_codes():
    values = context(
        POSTINGS["numenta-research-internship"],
        ["missing_internship_period", "eligibility_unknown", "ineligible"],
        None,
        None,
        "Team",
    )
    assert values["applicant_name"] == "applicant"
    assert values["missing"][0].startswith("the period of your internship")
    assert values["missing"][1].endswith(
        "students enrolled at a US university, US citizens, green card holders "
        "or citizens of Canada or Mexico (NAFTA)"
    )
    assert values["reasons"] == [
        "the position is open only to students enrolled at a US university, US citizens, "
        "green card holders or citizens of Canada or Mexico (NAFTA)"
    ]


def test_every_shipped_template_named_by_the_rules_exists(tmp_path):
    check_templates(DEFAULT_TEMPLATES, POSTINGS)
    (tmp_path / "default").mkdir()
    with pytest.raises(ConfigError, match=r"replies\.complete: no template .*received_complete"):
        check_templates(tmp_path, {"numenta-ml-engineer": POSTINGS["numenta-ml-engineer"]})
    with pytest.raises(ConfigError, match="templates directory not found"):
        check_templates(tmp_path / "none", POSTINGS)


def test_backoff_doubles_and_is_capped():
    smtp = SmtpConfig(host="h", from_address="a@b.c", retry_seconds=60, max_retry_seconds=300)
    assert [backoff(n, smtp).total_seconds() for n in range(1, 6)] == [60, 120, 240, 300, 300]


def test_by_default_retries_back_off_to_six_hours_and_stop_after_ten_attempts():
    smtp = SmtpConfig(host="h", from_address="a@b.c")
    delays = [backoff(n, smtp) for n in range(1, 12)]
    assert delays[0] == timedelta(minutes=1) and delays[3] == timedelta(minutes=8)
    assert max(delays) == delays[-1] == timedelta(hours=6)
    assert smtp.max_attempts == 10


@pytest.mark.parametrize(
    ("code", "reply", "status", "reason"),
    [
        (500, b"5.5.2 syntax error", "failed", "500 5.5.2 syntax error"),
        (599, b"5.0.0 nope", "failed", "599 5.0.0 nope"),
        (421, b"4.3.2 caf\xe9 ferm\xe9", "pending", "421 4.3.2 caf\ufffd ferm\ufffd"),
        (0, "Connection unexpectedly closed", "pending", "Connection unexpectedly closed"),
    ],
)
def test_a_failure_is_permanent_for_every_5xx_and_keeps_the_server_s_words(
    code, reply, status, reason
):
    """Every 5xx code (500 too) fails for good, anything else waits; a reply that is not
    UTF-8 is kept readable; the count is of failures, not a flag."""
    smtp = SmtpConfig(host="h", from_address="a@b.c", retry_seconds=60)
    now, stats = datetime(2026, 1, 1, tzinfo=UTC), SendStats(failed=1, retrying=1)
    row = Outbox(trigger_id=1, message_id="<m@x>", raw=b"", attempts=1, next_attempt_at=now)
    _failure(row, code, reply, smtp, now, stats)
    assert (row.status, row.reason) == (status, reason)
    assert (stats.failed, stats.retrying) == ((2, 1) if status == "failed" else (1, 2))
    assert row.next_attempt_at == (now if status == "failed" else now + timedelta(seconds=60))


def test_merge_fills_what_the_first_message_lacked():
    letter = (
        "Dear Numenta,\n\nI would like to apply for the Machine Learning Engineer role. "
        "My code is at https://github.com/ada-codes and I am a US citizen.\n"
    )
    first = read(parse_message(make_mail(letter)))
    pdf = make_pdf(
        ["Ada Lovelace", "Experience: Analytical Engine Lab"],
        link="https://github.com/ada-codes/engine",
    )
    second = read(
        parse_message(
            make_mail(
                "Here is my resume.",
                subject="Re: Application",
                message_id="<ada-2@example.org>",
                attachments=[("resume.pdf", "application/pdf", pdf)],
            )
        )
    )
    merged = assemble([first, second])
    assert merged.message.message_id == "<ada-1@example.org>"
    assert merged.cover_letter.startswith("Dear Numenta")
    assert merged.resume.filename == "resume.pdf"
    assert merged.github == ("https://github.com/ada-codes", "https://github.com/ada-codes/engine")
    assert merged.eligibility.basis == ("us_citizen",)
