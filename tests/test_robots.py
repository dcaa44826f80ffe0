"""Delivery reports and auto-replies by their headers, with the evidence a recruiter reads
in `intake rules explain`; and mail that only looks like them."""

from __future__ import annotations

import pytest

from intake.decisions.robots import auto_reply_evidence, bounce_evidence
from intake.mail.parse import ParsedMessage, parse_message

PERSON = "From: Ana One <ana@example.org>\nTo: careers@numenta.com\n"


def parsed(headers: str, subject: str = "Hello") -> ParsedMessage:
    return parse_message(f"{headers}Subject: {subject}\n\nSome text.\n".encode())


BOUNCE, AUTO_REPLY = bounce_evidence, auto_reply_evidence


@pytest.mark.parametrize(
    ("robot", "headers", "subject", "evidence"),
    [
        (
            BOUNCE,
            PERSON + 'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n',
            "Delivery Status Notification (Failure)",
            "an RFC 3464 delivery report (multipart/report)",
        ),
        (
            BOUNCE,
            PERSON + "X-Failed-Recipients: bob@example.org\n",
            "Hi",
            "X-Failed-Recipients header",
        ),
        (
            BOUNCE,
            "From: MAILER-DAEMON@mx.example.org\n",
            "Hi",
            "sent by mailer-daemon@mx.example.org",
        ),
        (BOUNCE, "From: postmaster@example.org\n", "Hi", "sent by postmaster@example.org"),
        (
            BOUNCE,
            "From: Mail System <mail@mx.example.org>\nReturn-Path: <>\n",
            "Undelivered Mail Returned to Sender",
            "null Return-Path and subject 'Undelivered Mail Returned to Sender'",
        ),
        (
            AUTO_REPLY,
            PERSON + "Auto-Submitted: Auto-Replied (vacation)\n",
            "Hi",
            "Auto-Submitted: auto-replied (vacation)",
        ),
        (AUTO_REPLY, PERSON + "Precedence: Auto_Reply\n", "Hi", "Precedence: auto_reply"),
        (AUTO_REPLY, PERSON + "X-Autoreply: yes\n", "Hi", "x-autoreply header"),
        (AUTO_REPLY, PERSON + "X-Autorespond: Out of office\n", "Hi", "x-autorespond header"),
        (
            AUTO_REPLY,
            PERSON,
            "Automatic reply: Application",
            "subject 'Automatic reply: Application'",
        ),
        (AUTO_REPLY, PERSON, "Out of Office: back Monday", "subject 'Out of Office: back Monday'"),
        (AUTO_REPLY, PERSON, "Abwesenheitsnotiz: Urlaub", "subject 'Abwesenheitsnotiz: Urlaub'"),
    ],
)
def test_a_robot_is_known_by_its_headers(robot, headers, subject, evidence):
    assert robot(parsed(headers, subject)) == evidence


@pytest.mark.parametrize(
    ("robot", "headers", "subject"),
    [
        # a read receipt (RFC 8098) is a report, but not of a failed delivery
        (
            BOUNCE,
            PERSON + "Content-Type: multipart/report; report-type=disposition-notification;"
            ' boundary="b"\n',
            "Read: Application",
        ),
        (BOUNCE, PERSON + "Return-Path: <>\n", "Application for the internship"),  # null path only
        (
            BOUNCE,
            PERSON + "Return-Path: <ana@example.org>\n",
            "Fwd: Undelivered Mail Returned to Sender",
        ),
        (BOUNCE, PERSON, "Hello"),
        (AUTO_REPLY, PERSON + "Auto-Submitted: no\n", "Hi"),  # RFC 3834: written by a person
        (AUTO_REPLY, PERSON + "Auto-Submitted: auto-generated\n", "Hi"),  # a notification: bulk
        (AUTO_REPLY, PERSON + "Precedence: bulk\n", "Hi"),
        (AUTO_REPLY, PERSON, "My automatic reply to your posting"),  # not at the start
    ],
)
def test_mail_that_only_looks_like_a_robot_is_not_one(robot, headers, subject):
    assert robot(parsed(headers, subject)) is None
