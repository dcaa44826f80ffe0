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
_FOLLOW_UP_TEXT = re.compile(
    r"\b(follow(?:ing)?[- ]up on my (?:application|email|message)|status of my application"
    r"|(?:any|an) (?:update|news)s? (?:on|about|regarding) my application|forgot to attach"
    r"|I (?:have )?(?:already )?(?:applied|sent (?:you )?my application)"
    r" (?:on|last|earlier|a few|two|three)"
    r"|as requested,? (?:here|please find|attached)|re-?sending my)\b",
    re.IGNORECASE,
)
_AGENCY = re.compile(
    r"\b(recruit(?:ing|ment) (?:agency|firm|partner)|staffing (?:agency|firm|company|partner)"
    r"|talent (?:agency|partner|acquisition firm)|our candidates|placement fee|headhunt\w*"
    r"|we (?:have|represent) (?:several |a number of |many |top |pre-vetted )?"
    r"(?:candidates|engineers|developers))\b",
    re.IGNORECASE,
)
_APPLYING = re.compile(
    r"\b(I(?:'m| am) applying|I(?:'d| would| wish to| want to) apply"
    r"|I(?:'d| would) like to (?:apply|join)"
    r"|(?:please )?(?:find|see) (?:attached|enclosed|my (?:resume|cv))"
    r"|(?:my )?(?:resume|cv|résumé) is attached"
    r"|attached (?:is|are) my|I(?:'m| am) (?:writing|excited|interested) (?:to apply|in applying)"
    r"|application for|apply(?:ing)? for the)\b",
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


def is_follow_up_text(text: str) -> bool:
    """Continues an earlier application without being a reply ("any update on my application?")."""
    return bool(_FOLLOW_UP_TEXT.search(text))


def is_agency_pitch(text: str) -> bool:
    return bool(_AGENCY.search(text))


def is_question(msg: ParsedMessage, text: str) -> bool:
    """A short question with nothing attached and no application in it ("Is it paid?")."""
    return (
        not msg.attachments
        and "?" in text
        and len(text.split()) < 150
        and not _APPLYING.search(text)
        and "github.com/" not in text.lower()
    )


def classify(msg: ParsedMessage, text: str) -> str:
    """The message kind, from headers first and the new text (`text`) second.

    The order matters: a bounce often also looks automatic, and a list post may be a reply.
    """
    if is_bounce(msg):
        return BOUNCE
    if is_auto_reply(msg):
        return AUTO_REPLY
    if is_bulk(msg) or is_agency_pitch(text):
        return OTHER
    if is_reply(msg) or is_follow_up_text(text):
        return FOLLOW_UP
    if is_question(msg, text):
        return OTHER
    return APPLICATION
