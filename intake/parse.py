"""MIME bytes to the facts every later stage needs (mail-parser under the hood).

Pure: bytes in, a `ParsedMessage` out. Real mail is broken in every possible way, so
each header is read defensively; only a message mail-parser cannot read at all raises.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.header import Header, decode_header, make_header
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import mailparser

from intake.errors import ExtractionError

# Headers kept verbatim for classifying the message (auto-replies, bounces, lists).
SIGNAL_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "list-post",
    "x-failed-recipients",
    "return-path",
    "content-type",
    "x-mailer",
    "user-agent",
)
# mail-parser logs every part type it skips; that is noise for us, not a warning.
logging.getLogger("mailparser").setLevel(logging.ERROR)
_MSGID = re.compile(r"<[^<>\s]+>")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str | None
    sender_name: str | None
    sender_email: str | None
    to: tuple[str, ...]
    subject: str
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str  # plain-text body; HTML-only mail converted to text
    html: str
    html_links: tuple[str, ...]
    attachments: tuple[Attachment, ...]
    headers: dict[str, str] = field(default_factory=dict)
    defects: tuple[str, ...] = ()


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one RFC 5322 message; raise ExtractionError only if nothing can be read."""
    try:
        mail = mailparser.parse_from_bytes(raw)
    except Exception as exc:  # mail-parser raises many types on hostile input
        raise ExtractionError(f"mail-parser cannot read the message: {exc}") from exc
    msg = mail.message
    html = "\n".join(mail.text_html)
    text = "\n".join(mail.text_plain).strip() or (html_to_text(html) if html else "")
    name, email = _sender(msg)
    return ParsedMessage(
        message_id=first_msgid(msg.get("Message-ID")),
        sender_name=name,
        sender_email=email,
        to=tuple(addr.lower() for _, addr in getaddresses(_all(msg, "To", "Cc")) if "@" in addr),
        subject=_clean(_first(mail.subject) or _header(msg, "Subject")),
        date=_date(msg.get("Date")),
        in_reply_to=first_msgid(msg.get("In-Reply-To")),
        references=tuple(_MSGID.findall(_header(msg, "References"))),
        text=text,
        html=html,
        html_links=tuple(html_links(html)) if html else (),
        attachments=tuple(_attachments(mail.attachments)),
        headers={h: _header(msg, h) for h in SIGNAL_HEADERS if msg.get(h) is not None},
        defects=tuple(str(d) for d in mail.defects_categories),
    )


def html_to_text(html: str) -> str:
    """Readable text from HTML mail: block structure kept, tags and scripts dropped."""
    from inscriptis import get_text

    try:
        return get_text(html).strip()
    except Exception:  # lxml rejects some malformed documents outright
        return re.sub(r"<[^>]+>", " ", html).strip()


def html_links(html: str) -> list[str]:
    """Every `href` in an HTML body (a GitHub profile is often only a link target)."""
    return re.findall(r"""href\s*=\s*["']?([^"'\s>]+)""", html, flags=re.IGNORECASE)


def _header(msg, name: str) -> str:
    """A header as text whatever its encoding; never raises on malformed input."""
    try:
        value = msg.get(name)
    except Exception:
        return ""
    if value is None:
        return ""
    if isinstance(value, Header):  # raw 8-bit bytes the parser could not name a charset for
        return "".join(_decode_part(part, charset) for part, charset in decode_header(value))
    # Raw 8-bit headers may also arrive as surrogate escapes: most such mail is UTF-8.
    return str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _decode_part(part: bytes | str, charset: str | None) -> str:
    if isinstance(part, str):
        return part
    for encoding in (charset, "utf-8", "latin-1"):
        if encoding and encoding != "unknown-8bit":
            try:
                return part.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                continue
    return part.decode("latin-1")


def _all(msg, *names: str) -> list[str]:
    values = []
    for name in names:
        try:
            values.extend(str(v) for v in msg.get_all(name, []))
        except Exception:
            continue
    return values


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words ("=?utf-8?q?Jos=C3=A9?="); leave junk as it is."""
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError, HeaderParseError):
        return value


def _first(value: object) -> str:
    """mail-parser returns a list when a header is repeated; the first one counts."""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value or "")


def _clean(value: str) -> str:
    """Unfold and strip a header value, dropping control characters (CR/LF included)."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", value).strip()


def _sender(msg) -> tuple[str | None, str | None]:
    for header in ("From", "Sender", "Reply-To"):
        name, addr = parseaddr(_header(msg, header))
        if "@" in addr:
            return (_clean(decode_words(name)) or None), addr.strip().lower()
    return None, None


def first_msgid(value: object) -> str | None:
    if value is None:
        return None
    text = _clean(str(value))
    found = _MSGID.search(text)
    if found:
        return found.group(0)
    return f"<{text}>" if text and " " not in text else None


def _date(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(_clean(str(value)))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _attachments(items: list[dict]) -> list[Attachment]:
    found = []
    for item in items:
        payload = item.get("payload") or ""
        data = _b64decode(payload) if item.get("binary") else payload.encode("utf-8", "replace")
        found.append(
            Attachment(
                filename=_clean(item.get("filename") or "") or None,
                content_type=(item.get("mail_content_type") or "application/octet-stream").lower(),
                data=data,
            )
        )
    return found


def _b64decode(payload: str) -> bytes:
    """Decode base64 the way mail clients do: ignore junk, tolerate missing padding."""
    clean = _B64_JUNK.sub(b"", payload.encode("ascii", "ignore"))
    clean = clean[: len(clean) - len(clean) % 4] if len(clean) % 4 == 1 else clean
    try:
        return base64.b64decode(clean + b"=" * (-len(clean) % 4))
    except binascii.Error:
        return b""
