"""What kind of message this is, from the header signals mature helpdesks use.

RFC 3834 (Auto-Submitted), the de-facto Precedence and X-Auto* headers, RFC 2369/2919
list headers and RFC 3464 delivery reports say most of it; the subject line settles
what the headers leave open ("Automatic reply:", "Out of office").
"""

from __future__ import annotations

import re

from intake.parse import ParsedMessage

APPLICATION, FOLLOW_UP, AUTO_REPLY, BOUNCE, OTHER = (
    "application",
    "follow_up",
    "auto_reply",
    "bounce",
    "other",
)

_BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster|mail-daemon)@", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery (status )?notification|returned mail|delivery (has )?failed"
    r"|mail delivery (failed|subsystem)|failure notice|non.?delivery)",
    re.IGNORECASE,
)
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?(reply|response)|out of (the )?office"
    r"|abwesenheitsnotiz|r[ée]ponse automatique|respuesta autom[aá]tica|away from)",
    re.IGNORECASE,
)
_REPLY_SUBJECT = re.compile(r"^\s*(re|aw|sv|antw|r)\s*(\[\d+\])?\s*:", re.IGNORECASE)


def is_bounce(msg: ParsedMessage) -> bool:
    headers = msg.headers
    content_type = headers.get("content-type", "").lower()
    return (
        ("multipart/report" in content_type and "delivery-status" in content_type)
        or "x-failed-recipients" in headers
        or bool(msg.sender_email and _BOUNCE_SENDER.match(msg.sender_email))
        or (
            headers.get("return-path", "").strip() == "<>"
            and bool(_BOUNCE_SUBJECT.search(msg.subject))
        )
    )


def is_auto_reply(msg: ParsedMessage) -> bool:
    headers = msg.headers
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    return (
        (bool(auto_submitted) and not auto_submitted.startswith("no"))
        or headers.get("precedence", "").strip().lower() == "auto_reply"
        or "x-autoreply" in headers
        or "x-autorespond" in headers
        or headers.get("x-auto-response-suppress", "").strip().lower() in ("all", "oof")
        or bool(_AUTO_SUBJECT.search(msg.subject))
    )


def is_bulk(msg: ParsedMessage) -> bool:
    headers = msg.headers
    return (
        headers.get("precedence", "").strip().lower() in ("bulk", "junk", "list")
        or "list-id" in headers
        or "list-unsubscribe" in headers
        or "list-post" in headers
    )


def is_reply(msg: ParsedMessage) -> bool:
    return bool(msg.in_reply_to or msg.references or _REPLY_SUBJECT.search(msg.subject))


def classify(msg: ParsedMessage) -> str:
    """The message kind; the order matters (a bounce often also looks automatic)."""
    if is_bounce(msg):
        return BOUNCE
    if is_auto_reply(msg):
        return AUTO_REPLY
    if is_bulk(msg):
        return OTHER
    if is_reply(msg):
        return FOLLOW_UP
    return APPLICATION
