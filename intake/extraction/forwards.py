"""Forwarded and referred applications: whose application it is, and whose words are whose.

Pure. An employee refers a friend, a professor forwards a student, a partner recruiter
passes a candidate on: the person to acknowledge is the candidate, and the forwarder's
note and signature (their own GitHub, "she is a US citizen") are not the candidate's.

Recognised: the separators Gmail, Outlook, Apple Mail and Thunderbird write above the
forwarded message (in several languages), a header block (From/Sent/To/Subject) after a
forward subject prefix, the original attached as `message/rfc822`, and a referral that
names the candidate's address in its own text ("I'd like to refer Jane <jane@...>").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from intake.mail.parse import ParsedMessage

# Subject prefixes for a forward: English, German (WG), French (TR), Spanish (RV), Italian
# (I, Inoltro), Dutch (Doorst), Scandinavian (VS, VB, Vb), Polish (PD), Portuguese (Enc),
# Russian, Chinese, Japanese. A reply prefix may come first ("Re: Fwd: ...").
FORWARD_SUBJECT = re.compile(
    r"^\s*(?:(?:re|aw|sv)\s*:\s*)*(?:fwd?|fw|tr|wg|rv|vs|vb|pd|doorst|i|inoltro|enc|rif"
    r"|weitergeleitet|пересл|转发|轉寄|転送)\s*(?:\[\d+\])?\s*[:：]",
    re.IGNORECASE,
)
# A separator line that always means "a forwarded message follows".
_SEPARATOR = re.compile(
    r"^[ \t>*_=-]*(?:begin forwarded message|forwarded message|weitergeleitete nachricht"
    r"|message transf[ée]r[ée]|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht"
    r"|mensagem encaminhada|vidarebefordrat meddelande|videresendt melding"
    r"|przekazana wiadomo[śs][ćc]|пересылаемое сообщение|转发的邮件|転送されたメッセージ"
    r"|forwarded by [^\n]{1,80}?)"
    r"[ \t]*:?[ \t]*[-_=]*[ \t]*\r?$",
    re.IGNORECASE | re.MULTILINE,
)
# Outlook's separators, used for replies too: a forward only under a forward subject.
_ORIGINAL = re.compile(
    r"^[ \t>]*(?:-{3,}\s*(?:original message|ursprüngliche nachricht|message d'origine"
    r"|mensaje original|messaggio originale|oorspronkelijk bericht)\s*-{3,}|_{20,})\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_FIELD_NAMES = {
    "from": r"from|von|de|da|van|fr[åa]n|fra|od|от|寄件者|发件人|差出人",
    "date": r"date|sent|datum|gesendet|envoy[ée]|enviado(?: el)?|data|inviato|verzonden"
    r"|skickat|sendt|wys[łl]ano|дата|отправлено|送信日時|日期|发送时间",
    "subject": r"subject|betreff|objet|asunto|oggetto|onderwerp|[äa]mne|emne|temat|assunto"
    r"|тема|件名|主题",
    "to": r"to|an|[àa]|para|aan|till|til|do|кому|宛先|收件人",
    "cc": r"cc|kopie|copie",
}
_FIELD = re.compile(
    r"^[ \t>]*\**[ \t]*(?P<key>"
    + "|".join(f"(?P<{key}>{names})" for key, names in _FIELD_NAMES.items())
    + r")[ \t]*\**[ \t]*[:：][ \t]*\**[ \t]*(?P<value>.*)$",
    re.IGNORECASE,
)
# An address in free text; it starts only where a word starts (so a long run of letters
# is scanned once, not once per letter).
ADDRESS = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_REFERRAL = re.compile(
    r"\b(?:I(?:'d| would) like to (?:refer|recommend|introduce)|referr(?:ing|al)\b|I(?:'m| am)"
    r" (?:referring|recommending|introducing)|on behalf of|(?:please )?(?:consider|meet)"
    r" my (?:friend|colleague|former colleague|student|classmate)|passing (?:this|along))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Forward:
    """A forwarded (or referred) application: the forwarder's note, and the candidate."""

    note: str  # the forwarder's own words; never read as the candidate's
    name: str | None  # the candidate, as the forwarded header (or the referral) names them
    email: str | None
    text: str  # the candidate's message, as forwarded ("" for a bare referral)
    date: datetime | None = None
    subject: str | None = None
    attached: ParsedMessage | None = None  # the original, when attached as message/rfc822


def detect(msg: ParsedMessage) -> Forward | None:
    """The forward in a message, or None when the sender wrote it themselves."""
    forwarded_subject = bool(FORWARD_SUBJECT.match(msg.subject))
    if msg.attached:
        inner = msg.attached[0]
        name, email = candidate(inner.sender_name or "", inner.sender_email)
        return Forward(msg.text.strip(), name, email, inner.text, inner.date, inner.subject, inner)
    found = _in_text(msg.text, forwarded_subject)
    return _innermost(found) if found else _referral(msg)


def _in_text(text: str, forwarded_subject: bool) -> Forward | None:
    """A forward written into the body: a separator and/or a header block."""
    text = _one_field_per_line(text)
    marker = _SEPARATOR.search(text) or (_ORIGINAL.search(text) if forwarded_subject else None)
    block = _header_block(text, marker.end() if marker else 0, forwarded_subject)
    if block is None:
        return None
    start, end, fields = block
    name, email = candidate(*_person(fields.get("from", "")))
    return Forward(
        note=text[: marker.start() if marker else start].strip(),
        name=name,
        email=email,
        text=_unquote(text[end:]).strip(),
        date=_when(fields.get("date", "")),
        subject=fields.get("subject"),
    )


def _innermost(forward: Forward, depth: int = 1) -> Forward:
    """A forward of a forward (an employee passes on what a professor forwarded): the
    candidate is the innermost author; every note above them is not theirs."""
    inner = _in_text(forward.text, bool(FORWARD_SUBJECT.match(forward.subject or "")))
    if inner is None or depth >= MAX_DEPTH:
        return forward
    return _innermost(replace(inner, note=f"{forward.note}\n\n{inner.note}".strip()), depth + 1)


MAX_DEPTH = 4


# Yahoo's plain text runs the forwarded header into one line:
# "----- Forwarded Message ----- From: A <a@x>To: B <b@y>Sent: ...Subject: ..."
_RUN_TOGETHER = re.compile(
    r"^([ \t]*-{3,} ?Forwarded Message ?-{3,})(?!-)[ \t]*(\S.*)$", re.IGNORECASE | re.MULTILINE
)
_FIELD_START = re.compile(r"(?<=\S)\s*(?=(?:From|To|Cc|Sent|Date|Subject):)")


def _one_field_per_line(text: str) -> str:
    match = _RUN_TOGETHER.search(text)
    if match is None:
        return text
    fields = _FIELD_START.sub("\n", match.group(2))
    return f"{text[: match.end(1)]}\n{fields}{text[match.end(2) :]}"


# "Dana Whitfield via LinkedIn <messages-noreply@linkedin.com>": a service sent it for her.
_VIA = re.compile(r"\s+via\s+\S.*$", re.IGNORECASE)
_ROBOT = re.compile(r"^(?:no-?reply|do-?not-?reply|messages?-noreply|notifications?)\b", re.I)


def candidate(name: str, email: str | None) -> tuple[str | None, str | None]:
    """The forwarded author as a person: a name without "via <service>", and no address
    when the one shown is a service's robot (a LinkedIn message)."""
    name = _VIA.sub("", name or "").strip() or None
    if email and _ROBOT.match(email):
        email = None
    return name, email


def _header_block(
    text: str, after: int, forwarded_subject: bool
) -> tuple[int, int, dict[str, str]] | None:
    """(start, end, fields) of the forwarded message's header lines (From with at least
    one of Date/Sent, Subject, To), searched from `after`. After a separator the block
    must come at once; without one only a forward subject admits a block anywhere (an
    Outlook reply quotes the same header lines)."""
    if not after and not forwarded_subject:
        return None
    lines = text[after:].splitlines(keepends=True)
    offset = after
    for i, line in enumerate(lines):
        if _FIELD.match(line):
            found = _fields(lines[i:])
            if found and "from" in found[0]:
                return offset, offset + sum(len(x) for x in lines[i : i + found[1]]), found[0]
        if after and i > 3:
            return None
        offset += len(line)
    return None


def _fields(lines: list[str]) -> tuple[dict[str, str], int] | None:
    """Fields from consecutive header lines (wrapped values continue on the next line)."""
    fields: dict[str, str] = {}
    last = None
    for used, line in enumerate(lines):
        match = _FIELD.match(line)
        if match:
            last = next(key for key in _FIELD_NAMES if match.group(key))
            fields.setdefault(last, match.group("value").strip().strip("*").strip())
        elif not line.strip().lstrip(">").strip():
            return (fields, used + 1) if len(fields) >= 2 else None
        elif last and used < 12:
            fields[last] += " " + line.strip()
        else:
            break
    return (fields, len(lines)) if len(fields) >= 2 else None


def _person(value: str) -> tuple[str | None, str | None]:
    """Name and address from "Jane Doe <jane@x>", "Jane Doe [mailto:jane@x]", "jane@x",
    "Doe, Jane" (Exchange, no address)."""
    found = ADDRESS.search(value)
    email = found.group(0).lower() if found else None
    name = re.sub(r"[<\[(]?\s*(?:mailto:)?[\w.+'-]+@[\w.-]+\s*[>\])]?", "", value)
    name = name.strip(" \t\"'*<>[]()")
    return (name or None), email


def _unquote(text: str) -> str:
    """The forwarded text without the `> ` some clients put before every line."""
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and all(line.lstrip().startswith(">") for line in lines):
        return "\n".join(re.sub(r"^\s*> ?", "", line) for line in text.splitlines())
    return text


def _when(value: str) -> datetime | None:
    """The forwarded Date in the many ways clients print it; None when unreadable."""
    if not value:
        return None
    from dateutil import parser

    try:
        return parser.parse(value.replace(" at ", " "), fuzzy=True, ignoretz=True)
    except (ValueError, OverflowError):
        return None


def _referral(msg: ParsedMessage) -> Forward | None:
    """ "I'd like to refer Jane Doe <jane@...>": a referral naming the candidate's address."""
    if not _REFERRAL.search(msg.text):
        return None
    others = [
        a.lower()
        for a in ADDRESS.findall(msg.text)
        if a.lower() != msg.sender_email and a.lower() not in msg.to
    ]
    if not others:
        return None
    line = next(line for line in msg.text.splitlines() if others[0] in line.lower())
    name = re.search(
        r"((?:[A-Z][\w'-]+ ){1,3}[A-Z][\w'-]+)\s*[(<\[]?\s*" + re.escape(others[0]), line
    )
    return Forward(msg.text.strip(), name.group(1) if name else None, others[0], "")
