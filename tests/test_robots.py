"""Delivery reports and auto-replies by their headers, with the evidence a recruiter reads
in `intake rules explain`; and mail that only looks like them."""

from __future__ import annotations

import pytest

from intake.decisions.robots import auto_reply_evidence, bounce_evidence
from intake.mail.parse import ParsedMessage, parse_message

PERSON = "From: Ana One <ana@example.org>\nTo: careers@numenta.com\n"


def parsed(headers: str, subject: str = "Hello") -> ParsedMessage:
    return parse_message(f"{headers}Subject: {subject}\n\nSome text.\n".encode())


@pytest.mark.parametrize(
    ("headers", "subject", "evidence"),
    [
        (
            PERSON + 'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n',
            "Delivery Status Notification (Failure)",
            "an RFC 3464 delivery report (multipart/report)",
        ),
        (PERSON + "X-Failed-Recipients: bob@example.org\n", "Hi", "X-Failed-Recipients header"),
        ("From: MAILER-DAEMON@mx.example.org\n", "Hi", "sent by mailer-daemon@mx.example.org"),
        ("From: postmaster@example.org\n", "Hi", "sent by postmaster@example.org"),
        (
            "From: Mail System <mail@mx.example.org>\nReturn-Path: <>\n",
            "Undelivered Mail Returned to Sender",
            "null Return-Path and subject 'Undelivered Mail Returned to Sender'",
        ),
    ],
)
def test_a_delivery_report_is_known_by_its_headers(headers, subject, evidence):
    assert bounce_evidence(parsed(headers, subject)) == evidence


@pytest.mark.parametrize(
    ("headers", "subject"),
    [
        # a read receipt (RFC 8098) is a report, but not of a failed delivery
        (
            PERSON + "Content-Type: multipart/report; report-type=disposition-notification;"
            ' boundary="b"\n',
            "Read: Application",
        ),
        (PERSON + "Return-Path: <>\n", "Application for the internship"),  # null path only
        (PERSON + "Return-Path: <ana@example.org>\n", "Fwd: Undelivered Mail Returned to Sender"),
        (PERSON, "Hello"),
    ],
    ids=["read-receipt", "null-return-path", "forwarded-bounce-subject", "person"],
)
def test_mail_that_only_looks_like_a_report_is_not_one(headers, subject):
    assert bounce_evidence(parsed(headers, subject)) is None


@pytest.mark.parametrize(
    ("headers", "subject", "evidence"),
    [
        (
            PERSON + "Auto-Submitted: Auto-Replied (vacation)\n",
            "Hi",
            "Auto-Submitted: auto-replied (vacation)",
        ),
        (PERSON + "Precedence: Auto_Reply\n", "Hi", "Precedence: auto_reply"),
        (PERSON + "X-Autoreply: yes\n", "Hi", "x-autoreply header"),
        (PERSON + "X-Autorespond: Out of office\n", "Hi", "x-autorespond header"),
        (PERSON, "Automatic reply: Application", "subject 'Automatic reply: Application'"),
        (PERSON, "Out of Office: back Monday", "subject 'Out of Office: back Monday'"),
        (PERSON, "Abwesenheitsnotiz: Urlaub", "subject 'Abwesenheitsnotiz: Urlaub'"),
    ],
)
def test_an_auto_reply_is_known_by_its_headers(headers, subject, evidence):
    assert auto_reply_evidence(parsed(headers, subject)) == evidence


@pytest.mark.parametrize(
    ("headers", "subject"),
    [
        (PERSON + "Auto-Submitted: no\n", "Hi"),  # RFC 3834: written by a person
        (PERSON + "Auto-Submitted: auto-generated\n", "Hi"),  # a notification: bulk, not this
        (PERSON + "Precedence: bulk\n", "Hi"),
        (PERSON, "My automatic reply to your posting"),  # the words, not at the start
    ],
)
def test_mail_that_only_looks_like_an_auto_reply_is_not_one(headers, subject):
    assert auto_reply_evidence(parsed(headers, subject)) is None
