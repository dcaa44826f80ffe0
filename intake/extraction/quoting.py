"""What the sender wrote in this message, without the earlier messages it quotes.

A reply that quotes our acknowledgement or the applicant's first mail repeats old
statements ("I am a US citizen"); they must not count again. mail-parser-reply knows the
quote headers of many clients and languages. A forwarded message is the opposite case:
the forwarded text is the content, so it is kept.
"""

from __future__ import annotations

import re
from functools import cache

_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|fw|tr|wg|rv|doorgestuurd)\s*:", re.IGNORECASE)
_FORWARD_MARKER = re.compile(
    r"^[-\s]*(?:forwarded message|begin forwarded message|original message)[-\s:]*$",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTED_LINE = re.compile(r"^[ \t]*>.*$\n?", re.MULTILINE)
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pl", "sv", "ja", "zh")


@cache
def _parser():
    from mailparser_reply import EmailReplyParser

    return EmailReplyParser(languages=list(LANGUAGES))


def is_forward(subject: str, text: str) -> bool:
    return bool(_FORWARD_SUBJECT.match(subject)) or (
        bool(_FORWARD_MARKER.search(text)) and "forward" in text.lower()
    )


def new_text(text: str, subject: str = "") -> str:
    """The new part of a message body; a forward keeps the forwarded text."""
    if not text.strip():
        return ""
    if is_forward(subject, text):
        return _QUOTED_LINE.sub("", text).strip()
    try:
        reply = _parser().parse_reply(text)
    except Exception:  # the reply parser is a heuristic; never let it lose the body
        reply = text
    return _QUOTED_LINE.sub("", reply or "").strip()
