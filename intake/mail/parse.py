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
from email.header import Header, decode_header
from email.parser import BytesParser
from email.policy import compat32
from email.utils import parsedate_to_datetime

import mailparser

from intake.errors import ExtractionError
from intake.mail.policies import DEFAULT

# mail-parser logs every part type it skips and every header it cannot decode (we decode
# headers ourselves): noise for us, not a warning.
logging.getLogger("mailparser").setLevel(logging.CRITICAL)
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
    reply_to: str | None  # the first Reply-To address, when it differs from the sender's
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
    attached: tuple[ParsedMessage, ...] = ()  # messages attached as message/rfc822 (forwards)


def parse_message(raw: bytes, *, depth: int = 0) -> ParsedMessage:
    """Parse one RFC 5322 message; raise ExtractionError only if nothing can be read.

    The bytes are first repaired (`repair`) where real mail breaks the RFCs in ways
    mail-parser does not survive; the stored raw message is never changed. Messages
    attached as message/rfc822 (a forward "as attachment") are parsed on their own,
    `MAX_NESTING` deep, and left out of this message's text and attachments.
    """
    fixed, inner = split_attached(repair(raw)) if depth < MAX_NESTING else (repair(raw), [])
    mail = _read_mime(fixed)
    msg = mail.message
    hint = _declared_charset(msg)
    # NUL means nothing in text (and PostgreSQL text cannot hold it): "I am\0 applying"
    html = "\n".join(mail.text_html).replace("\x00", "")
    text = _text([part.replace("\x00", "") for part in mail.text_plain], html)
    name, email = _sender(msg, hint)
    return ParsedMessage(
        message_id=first_msgid(msg.get("Message-ID")),
        sender_name=name,
        sender_email=email,
        reply_to=next((a for a in addresses([_header(msg, "Reply-To", hint)]) if a != email), None),
        to=tuple(addresses(_all(msg, "To", "Cc"))),
        subject=_clean(decode_words(_header(msg, "Subject", hint), hint)),
        date=_date(msg.get("Date")),
        in_reply_to=first_msgid(msg.get("In-Reply-To")),
        references=tuple(_MSGID.findall(_header(msg, "References"))),
        text=text,
        html=html,
        html_links=tuple(html_links(html)) if html else (),
        attachments=tuple(_attachments(mail.attachments)),
        headers=_headers(msg, hint),
        defects=tuple(str(d) for d in mail.defects_categories),
        attached=tuple(_attached(inner, depth + 1)),
    )


def _read_mime(raw: bytes):
    """mail-parser's reading of the message, or where it gives up, the standard library's
    (its default policy): only when both fail is the message unreadable."""
    try:
        return mailparser.parse_from_bytes(raw)
    except Exception as exc:  # mail-parser raises many types on hostile input
        try:
            return _Stdlib(raw)
        except Exception:  # RecursionError on absurd nesting, and the like
            raise ExtractionError(f"mail-parser cannot read the message: {exc}") from exc


class _Stdlib:
    """What parse_message reads of mail-parser's result, made by the standard library."""

    def __init__(self, raw: bytes) -> None:
        self.message = BytesParser(policy=compat32).parsebytes(raw)
        modern = BytesParser(policy=DEFAULT).parsebytes(raw)
        self.text_plain: list[str] = []
        self.text_html: list[str] = []
        self.attachments: list[dict] = []
        for part in modern.walk():
            if part.is_multipart():
                continue
            kind = part.get_content_type()
            if part.get_filename() or kind not in ("text/plain", "text/html"):
                data = part.get_payload(decode=True) or b""
                payload = base64.b64encode(data).decode("ascii")
                self.attachments.append(
                    {
                        "filename": part.get_filename(),
                        "payload": payload,
                        "binary": True,
                        "mail_content_type": kind,
                    }
                )
            else:
                body = part.get_payload(decode=True) or b""
                text = _decode_bytes(body, part.get_content_charset(), "utf-8")
                (self.text_plain if kind == "text/plain" else self.text_html).append(text)
        self.defects_categories = {type(d).__name__ for d in modern.defects}


MAX_NESTING = 3
_RFC822 = re.compile(rb"message/rfc822", re.IGNORECASE)


def split_attached(raw: bytes) -> tuple[bytes, list[bytes]]:
    """(the message without its attached messages, the attached messages' bytes)."""
    if not _RFC822.search(raw):
        return raw, []
    try:
        msg = BytesParser(policy=compat32).parsebytes(raw)
        inner = []
        for part in msg.walk():
            payload = part.get_payload()
            if (
                part.get_content_type() == "message/rfc822"
                and isinstance(payload, list)
                and payload
            ):
                inner.append(payload[0].as_bytes())
                for header in ("Content-Disposition", "Content-Type"):
                    del part[header]
                part.set_payload("")  # an empty text part: read on its own instead
        return (msg.as_bytes(), inner) if inner else (raw, [])
    except Exception:  # a hostile tree: read it as one message, as mail-parser does
        return raw, []


def _attached(messages: list[bytes], depth: int):
    for raw in messages:
        try:
            yield parse_message(raw, depth=depth)
        except ExtractionError:
            continue


# Charset labels real mail uses for a superset, or under a name Python does not know.
# The WHATWG Encoding Standard maps them the same way browsers do.
CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "csgb2312": "gb18030",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "unicode-1-1-utf-7": "utf-7",
    "x-unicode-1-1-utf-7": "utf-7",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "windows-874": "cp874",
}
_ALIASED = "|".join(re.escape(name) for name in sorted(CHARSET_ALIASES, key=len, reverse=True))
_WORD_CHARSET = re.compile(rf"=\?({_ALIASED})(\*[A-Za-z-]*)?\?".encode(), re.IGNORECASE)
_PARAM_CHARSET = re.compile(
    rf"(charset\s*=\s*[\"']?)({_ALIASED})(?=[\"';\s]|$)".encode(), re.IGNORECASE | re.MULTILINE
)
_FIELD = re.compile(rb"^[!-9;-~]+:")
_SPACED_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]+:")
_HEAD_END = re.compile(rb"\r?\n\r?\n")


def charset(name: str | None) -> str | None:
    """The codec to decode a declared charset with (see CHARSET_ALIASES)."""
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    return CHARSET_ALIASES.get(name, name)


def repair(raw: bytes) -> bytes:
    """The message with what breaks parsers mended, for parsing only.

    - In the header block, a line that is neither a field nor indented (a mailer that
      wrapped a long header without the leading space) continues the field above it,
      instead of ending the header block there and losing From and Subject; the
      obsolete `Name  : value` (RFC 5322 section 4.5.3) loses its space.
    - Charset labels in encoded words and `charset=` parameters are mapped to the
      superset real clients mean (GB2312 is GB18030, ISO-8859-1 is windows-1252...).
    """
    end = _HEAD_END.search(raw)
    head, rest = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"")
    lines: list[bytes] = []
    for line in head.split(b"\n"):
        if spaced := _SPACED_FIELD.match(line):
            line = spaced.group(1) + b":" + line[spaced.end() :]
        elif lines and not _FIELD.match(line) and line[:1] not in (b" ", b"\t"):
            line = b" " + line
        lines.append(line)
    fixed = b"\n".join(lines) + rest
    fixed = _WORD_CHARSET.sub(
        lambda m: b"=?" + _alias(m.group(1)) + (m.group(2) or b"") + b"?", fixed
    )
    return _PARAM_CHARSET.sub(lambda m: m.group(1) + _alias(m.group(2)), fixed)


def _alias(name: bytes) -> bytes:
    return CHARSET_ALIASES[name.decode("ascii").lower()].encode("ascii")


# Sentences glued together ("...repo.I am currently..."): a plain part that lost its line
# breaks (Samsung Email does this); the HTML part then reads better.
_GLUED = re.compile(r"[a-z)][.!?,][A-Z][a-z]")


def _text(plain_parts: list[str], html: str) -> str:
    """The body as text: the plain part, else the HTML converted; the HTML converted also
    when the plain part lost its line breaks and the HTML did not."""
    plain = "\n".join(plain_parts).strip()
    if not html:
        return plain
    if not plain:
        return html_to_text(html)
    if len(_GLUED.findall(plain)) >= 3:
        converted = html_to_text(html)
        if len(_GLUED.findall(converted)) < 3:
            return converted
    return plain


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


def _header(msg, name: str, hint: str | None = None) -> str:
    """A header as text whatever its encoding, encoded words left for `decode_words`;
    never raises on malformed input. Raw 8-bit bytes are read as UTF-8, else in the
    charset the message declares for its text (`hint`), else as windows-1252."""
    try:
        value = msg.get(name)
    except Exception:
        return ""
    if value is None:
        return ""
    if isinstance(value, Header):  # raw 8-bit bytes the parser could not name a charset for
        return "".join(
            _decode_bytes(part, "utf-8", hint) if isinstance(part, bytes) else part
            for part, _ in decode_header(value)
        )
    value = str(value)
    if "\x1b" in value and value.isascii():  # raw ISO-2022-JP, as some Japanese mailers send
        return _decode_bytes(value.encode("ascii"), "iso2022_jp_ext")
    return _decode_bytes(value.encode("utf-8", "surrogateescape"), "utf-8", hint)


def _headers(msg, hint: str | None) -> dict[str, str]:
    """Every header by lower-cased name (the first of repeated ones, the topmost: what
    our own server added), decoded; the classifier reads list, spam and mailer headers."""
    try:
        names = dict.fromkeys(name.lower() for name in msg)
    except Exception:
        return {}
    return {name: _header(msg, name, hint) for name in names}


def _decode_bytes(data: bytes, *encodings: str | None) -> str:
    """The first of `encodings` (aliases applied) that decodes `data`, else windows-1252."""
    for encoding in encodings:
        try:
            return data.decode(charset(encoding) or "utf-8")
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", "replace")


def _declared_charset(msg) -> str | None:
    """The charset the message declares for its text, a hint for undeclared 8-bit headers."""
    try:
        return next(filter(None, (part.get_content_charset() for part in msg.walk())), None)
    except Exception:  # a hostile MIME tree; headers then fall back to UTF-8/windows-1252
        return None


def _all(msg, *names: str) -> list[str]:
    values = []
    for name in names:
        try:
            values.extend(str(v) for v in msg.get_all(name, []))
        except Exception:
            continue
    return values


def decode_words(value: str, hint: str | None = None) -> str:
    """Decode RFC 2047 encoded words ("=?utf-8?q?Jos=C3=A9?="), adjacent words of one
    charset together (a character may be split between them); leave junk as it is."""
    try:
        chunks = decode_header(value)
    except (HeaderParseError, ValueError, UnicodeError):
        return value
    return "".join(
        part
        if isinstance(part, str)
        else part.decode("raw-unicode-escape")
        if encoding is None
        else _decode_bytes(part, encoding, "utf-8", hint)
        for part, encoding in chunks
    )


def _clean(value: str) -> str:
    """Unfold and strip a header value, dropping control characters (CR/LF included) and
    lone surrogates (undecodable bytes that slipped through; no database stores them)."""
    return _SURROGATES.sub("\ufffd", re.sub(r"[\x00-\x1f\x7f]+", " ", value)).strip()


_SURROGATES = re.compile(r"[\ud800-\udfff]")


_PLAIN_ADDRESS = re.compile(r"[^\s\"<>@,;()\\]+@[^\s\"<>@,;()\\]+")
_ANY_ADDRESS = re.compile(r"(?<![^\s\"<>,;:()\[\]\\])[^\s\"<>@,;:()\[\]\\]+@[^\s\"<>@,;:()\[\]\\]+")


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    """(display name, address) pairs, parsed by the standard library's RFC 5322 parser,
    which decodes encoded words only after finding the structure: a comma or an `@`
    inside an encoded display name stays in the name. Where that parser misses an
    address in angle brackets (a raw `@`, `:` or CR/LF in the name, an encoded word
    mixed with raw text), the bracketed addresses win; junk with none ("Big Bug
    bb@bug.com", two bare addresses) still yields the addresses it holds."""
    found: list[tuple[str, str]] = []
    for value in values:
        value = _FOLD.sub(" ", value)
        parsed = _rfc5322(value)
        angled = _angled(value)
        if parsed and {a.lower() for _, a in angled} <= {a.lower() for _, a in parsed}:
            found.extend(parsed)
        else:
            found.extend(angled or [("", addr) for addr in _ANY_ADDRESS.findall(value)])
    return found


_FOLD = re.compile(r"\r?\n(?=[ \t])")
# Text that may hold `<`, `@` or `>` without being an address: quoted strings, comments
# and encoded words. Masked (same length) before looking for `<addr>`.
_OPAQUE = re.compile(r'"(?:[^"\\]|\\.)*"|\((?:[^()\\]|\\.)*\)|=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=')
_ANGLE = re.compile(r"<\s*([^\s\"<>@,;()\\]+@[^\s\"<>@,;()\\]+)\s*>")


def _rfc5322(value: str) -> list[tuple[str, str]]:
    try:
        header = DEFAULT.header_factory("to", value)
        parsed = [(a.display_name, a.addr_spec) for a in header.addresses]
    except Exception:  # the header parser is strict about some junk; the fallbacks are not
        return []
    return [(name, addr) for name, addr in parsed if _PLAIN_ADDRESS.fullmatch(addr)]


def _angled(value: str) -> list[tuple[str, str]]:
    """Each `<addr>` outside quotes, comments and encoded words, with the text before it
    (back to the previous address or comma) as its display name."""
    masked = _OPAQUE.sub(lambda m: "x" * len(m.group()), value)
    found, start = [], 0
    for match in _ANGLE.finditer(masked):
        name = value[start : match.start()].strip().lstrip(",;:").strip()
        found.append((decode_words(name.strip('"')), match.group(1)))
        start = match.end()
    return found


def addresses(values: list[str]) -> list[str]:
    """Every address in these header values, cleaned and lower-cased as the sender's is."""
    return [_clean(addr).lower() for _, addr in _addresses(values)]


def _sender(msg, hint: str | None) -> tuple[str | None, str | None]:
    for header in ("From", "Sender", "Reply-To"):
        found = _addresses([_header(msg, header, hint)])
        if found:
            name, addr = found[0]
            return (_clean(name) or None), _clean(addr).lower()
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
