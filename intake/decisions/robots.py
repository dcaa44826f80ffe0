"""Mail written by machines: delivery reports and auto-replies, known by their headers.

RFC 3464 delivery reports, RFC 3834 `Auto-Submitted`, the de-facto `Precedence`, `X-Auto*`
and `X-Failed-Recipients` headers, and the subjects auto-responders use. Answering either
starts a mail loop, so classification asks here first. Pure: a `ParsedMessage` in, the
evidence (or None) out.
"""

from __future__ import annotations

import re

from intake.mail.parse import ParsedMessage

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


def bounce_evidence(msg: ParsedMessage) -> str | None:
    """Why this is a delivery report, or None."""
    headers = msg.headers
    content_type = headers.get("content-type", "").lower()
    if "multipart/report" in content_type and "delivery-status" in content_type:
        return "an RFC 3464 delivery report (multipart/report)"
    if "x-failed-recipients" in headers:
        return "X-Failed-Recipients header"
    if msg.sender_email and _BOUNCE_SENDER.match(msg.sender_email):
        return f"sent by {msg.sender_email}"
    if headers.get("return-path", "").strip() == "<>" and _BOUNCE_SUBJECT.search(msg.subject):
        return f"null Return-Path and subject {msg.subject!r}"
    return None


def auto_reply_evidence(msg: ParsedMessage) -> str | None:
    """Why this was sent by a machine on someone's behalf (RFC 3834), or None."""
    headers = msg.headers
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    if auto_submitted.startswith("auto-replied"):
        return f"Auto-Submitted: {auto_submitted}"
    if headers.get("precedence", "").strip().lower() == "auto_reply":
        return "Precedence: auto_reply"
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return f"{name} header"
    if _AUTO_SUBJECT.search(msg.subject):
        return f"subject {msg.subject!r}"
    return None
