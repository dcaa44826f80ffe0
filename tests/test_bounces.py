"""Which address a delivery report says failed (flufl.bounce), and our quoted Message-IDs."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.replies.bounces import failed_recipients, our_message_ids
from tests.builders import dsn

SAMPLE = Path(__file__).parent.parent / "data" / "sample" / "interns" / "11-bounce.eml"


def test_rfc_3464_report_names_the_recipient_and_our_message():
    original = b"Message-ID: <intake.0123456789abcdef01234567@numenta.com>\nTo: a@b.c\n\nhi"
    report = dsn("Ana@Example.org", original)
    assert failed_recipients(report) == {"ana@example.org"}
    assert our_message_ids(report) == {"<intake.0123456789abcdef01234567@numenta.com>"}


def test_sample_bounce_names_its_recipient():
    """An MTA's report on mail someone else sent (not one of our replies): it names the
    recipient that failed and none of our Message-IDs."""
    assert failed_recipients(SAMPLE.read_bytes()) == {"rahul.verma@example.in"}
    assert our_message_ids(SAMPLE.read_bytes()) == set()


@pytest.mark.parametrize(
    "raw",
    [b"", b"garbage\x00\xff", b"Content-Type: multipart/report; boundary=x\n\n--x\n--x--"],
)
def test_malformed_reports_teach_nothing_and_do_not_raise(raw):
    assert failed_recipients(raw) == set()
    assert our_message_ids(raw) == set()
