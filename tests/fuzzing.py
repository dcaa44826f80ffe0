"""Hypothesis strategies for hostile mail and documents, and the properties they must keep.

Shared by tests/test_fuzz.py (a bounded run in `make test`) and scripts/fuzz.py (`make
fuzz`, a campaign). The strategies write mail the way senders really do, well or badly:
display names as encoded words (B and Q, split across words, with a raw `@`, `:`, `<`
or CR/LF inside), quoted or raw; random MIME trees with any charset and transfer
encoding, broken boundaries and nested messages; PDFs built from random object graphs
(cycles, dangling references, bad filters and lengths) and DOCX zips with random parts.
"""

from __future__ import annotations

import base64
import io
import quopri
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.daemon.processing import Processor
from intake.decisions.rules import DEFAULT_DIR, load_all
from intake.errors import ExtractionError, IntakeError
from intake.extraction.documents import DocumentText, read_document
from intake.extraction.extract import read_message
from intake.limits import Limits
from intake.mail.parse import parse_message
from intake.replies.messages import DEFAULT_TEMPLATES
from intake.replies.outbox import ReplySettings
from intake.storage import store
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from tests.builders import pdf_from_objects
from tests.judging import ARTIFACTS
from tests.judging import stored as processed

CHARSETS = [
    "utf-8",
    "iso-8859-1",
    "windows-1252",
    "koi8-r",
    "gb2312",
    "shift_jis",
    "iso-2022-jp",
    "utf-16",
    "utf-7",
    "x-unknown",
]
SPECIALS = '@:,;"<>()[]\\=?_\r\n\t '
# Quarantine reasons that describe the message; any other exception is a bug of ours.
EXPECTED = (ExtractionError.__name__, IntakeError.__name__)
FAST = Limits(message_seconds=10, document_seconds=5)

characters = st.characters(codec="utf-8") | st.sampled_from(SPECIALS)
text = st.text(characters, max_size=80)
short_text = st.text(characters, max_size=30)
words = st.text(st.characters(codec="utf-8", categories=("L", "N", "Zs", "P")), max_size=60)
addresses = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[a-z0-9]+([._+-][a-z0-9]+){0,2}", fullmatch=True),
    st.from_regex(r"[a-z0-9]+(-[a-z0-9]+)?", fullmatch=True),
    st.sampled_from(["org", "com", "example", "co.uk", "edu.cn"]),
)


# -- headers ------------------------------------------------------------------------------


def _encodable(value: str, charset: str) -> tuple[str, bytes]:
    """(label, bytes): `value` in `charset`, or in UTF-8 where that charset cannot hold it."""
    try:
        return charset, value.encode(charset)
    except (UnicodeError, LookupError):
        return "utf-8", value.encode("utf-8")


def _q(data: bytes) -> str:
    """Q encoding as careless mailers write it: `@`, `:`, `<` and `,` left raw."""
    return "".join(
        "_" if b == 32 else chr(b) if 33 <= b <= 126 and b not in b"=?_" else f"={b:02X}"
        for b in data
    )


@st.composite
def encoded_words(draw, value: str) -> str:
    """`value` as one or more RFC 2047 encoded words, split anywhere (even inside a
    character), separated by a space or a fold."""
    charset = draw(st.sampled_from(["utf-8", "iso-8859-1", "gb2312", "koi8-r", "UTF-8"]))
    label, data = _encodable(value, charset)
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(data) - 1)), max_size=3)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    out = []
    for piece in pieces:
        if draw(st.booleans()):
            out.append(f"=?{label}?B?{base64.b64encode(piece).decode()}?=")
        else:
            out.append(f"=?{label}?{draw(st.sampled_from('Qq'))}?{_q(piece)}?=")
    return draw(st.sampled_from([" ", "\r\n "])).join(out)


def _quoted(value: str) -> str:
    flat = value.replace("\r", " ").replace("\n", " ")
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _raw(value: str) -> str:
    """A name typed straight into the header: what cannot be in a phrase is dropped."""
    return "".join(c for c in value if c not in '<>",;()[]\\\r\n').strip()


@st.composite
def display_names(draw) -> str:
    name = draw(short_text)
    form = draw(st.sampled_from(["encoded", "quoted", "raw", "mixed", "none"]))
    if form == "encoded":
        return draw(encoded_words(name))
    if form == "quoted":
        return _quoted(name)
    if form == "raw":
        return _raw(name)
    if form == "mixed":  # an encoded word beside raw text: "=?iso-8859-1?q?Jos=E9?= x@y"
        return f"{draw(encoded_words(name))} {_raw(draw(text))}"
    return ""


@st.composite
def mailboxes(draw) -> tuple[str, str]:
    """(header value, the address it names): the address is always in angle brackets."""
    address = draw(addresses)
    name = draw(display_names())
    spelled = draw(st.sampled_from([address, address.upper(), address.capitalize()]))
    gap = draw(st.sampled_from([" ", "", "\r\n "])) if name else ""
    return f"{name}{gap}<{spelled}>", address


def check_addresses(
    sender: tuple[str, str], recipients: list[tuple[str, str]], reply_to: tuple[str, str]
) -> None:
    """The sender is the bracketed address, whatever the name holds; so are To and Reply-To."""
    lines = [
        f"From: {sender[0]}",
        f"To: {', '.join(value for value, _ in recipients)}",
        f"Reply-To: {reply_to[0]}",
        "Subject: x",
    ]
    msg = parse_message(("\r\n".join(lines) + "\r\n\r\nbody\r\n").encode())
    assert msg.sender_email == sender[1], (msg.sender_email, sender[1])
    assert list(msg.to) == [address for _, address in recipients], msg.to
    assert msg.reply_to == (reply_to[1] if reply_to[1] != sender[1] else None), msg.reply_to


# -- MIME trees ---------------------------------------------------------------------------

Node = tuple[list[str], bytes]  # (content headers, body)


def _transfer(data: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        return base64.encodebytes(data)
    if encoding == "broken-base64":
        return base64.encodebytes(data)[:-3] + b"!*\r\n"
    if encoding == "quoted-printable":
        return quopri.encodestring(data)
    return data


ENCODINGS = ["7bit", "8bit", "base64", "broken-base64", "quoted-printable", "x-uuencode"]


@st.composite
def text_parts(draw) -> Node:
    subtype = draw(st.sampled_from(["plain", "html"]))
    charset = draw(st.sampled_from(CHARSETS))
    body = draw(text)
    if subtype == "html":
        body = f"<html><body><p>{body}</p><a href='https://github.com/{draw(words)}'>x</a>"
    data = _encodable(body, charset)[1] if draw(st.booleans()) else draw(st.binary(max_size=300))
    encoding = draw(st.sampled_from(ENCODINGS))
    return [
        f'Content-Type: text/{subtype}; charset="{charset}"',
        f"Content-Transfer-Encoding: {encoding.replace('broken-', '')}",
    ], _transfer(data, encoding)


def _filename(name: str, style: str) -> str:
    if style == "rfc2231":
        return f"filename*=utf-8''{''.join(f'%{b:02X}' for b in name.encode())}"
    if style == "encoded":
        return f'filename="=?utf-8?B?{base64.b64encode(name.encode()).decode()}?="'
    return f"filename={_quoted(name)}"


@st.composite
def attachments(draw, documents: st.SearchStrategy[bytes]) -> Node:
    kind, suffix = draw(
        st.sampled_from(
            [
                ("application/pdf", ".pdf"),
                (
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    ".docx",
                ),
                ("application/octet-stream", ".bin"),
                ("image/png", ".png"),
                ("text/html", ".html"),
                ("application/msword", ".doc"),
            ]
        )
    )
    name = draw(short_text) + draw(st.sampled_from([suffix, ".pdf", ""]))
    data = draw(documents | st.binary(max_size=500))
    encoding = draw(st.sampled_from(["base64", "base64", "broken-base64", "7bit"]))
    disposition = draw(st.sampled_from(["attachment", "inline", "form-data"]))
    style = draw(st.sampled_from(["quoted", "rfc2231", "encoded"]))
    return [
        f"Content-Type: {kind}; name={_quoted(name)}",
        f"Content-Disposition: {disposition}; {_filename(name, style)}",
        f"Content-Transfer-Encoding: {encoding.replace('broken-', '')}",
    ], _transfer(data, encoding)


@st.composite
def multiparts(draw, children: st.SearchStrategy[Node]) -> Node:
    subtype = draw(st.sampled_from(["mixed", "alternative", "related", "signed", "report"]))
    boundary = draw(st.sampled_from(["b1", "=_Part_0_1", "----=_NextPart_000", "b1 b2", ""]))
    parts = draw(st.lists(children, max_size=4))
    closed = draw(st.booleans())
    body = draw(st.sampled_from([b"", b"This is a multi-part message in MIME format.\r\n"]))
    for headers, payload in parts:
        body += f"--{boundary}\r\n".encode() + serialize(headers, payload) + b"\r\n"
    body += f"--{boundary}--\r\n".encode() if closed else b""
    return [f'Content-Type: multipart/{subtype}; boundary="{boundary}"'], body


def serialize(headers: list[str], body: bytes) -> bytes:
    return "\r\n".join(headers).encode("utf-8", "surrogateescape") + b"\r\n\r\n" + body


def mime_trees(documents: st.SearchStrategy[bytes]) -> st.SearchStrategy[Node]:
    leaves = text_parts() | attachments(documents)

    def nest(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        inner = st.builds(
            lambda head, node: (
                ["Content-Type: message/rfc822"],
                serialize(head + node[0], node[1]),
            ),
            st.lists(st.sampled_from(["From: a@example.org", "Subject: Fwd"]), max_size=2),
            children,
        )
        return multiparts(children) | inner

    return st.recursive(leaves, nest, max_leaves=8)


@st.composite
def messages(draw, documents: st.SearchStrategy[bytes] | None = None) -> bytes:
    """A whole message: real-looking headers over a random MIME tree, sometimes cut short
    or with bare LF line ends."""
    sender, _ = draw(mailboxes())
    subject = draw(st.sampled_from(["", "Application", "=?utf-8?q?Internship_@_x?=", "Re: "]))
    head = [
        f"From: {sender}",
        "To: careers@numenta.com",
        f"Subject: {subject}{_raw(draw(text))}",
        f"Date: {draw(st.sampled_from(['Mon, 22 Jan 2018 10:00:00 -0800', '31 Feb 99999', '']))}",
        f"Message-ID: <{draw(st.uuids())}@example.org>",
        "MIME-Version: 1.0",
    ]
    content, body = draw(mime_trees(documents if documents is not None else st.just(b"%PDF-1.4")))
    raw = serialize(head + content, body)
    if draw(st.booleans()):
        raw = raw.replace(b"\r\n", b"\n")
    if draw(st.integers(0, 9)) == 0:
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


def check_message(raw: bytes) -> None:
    """What the worker does with a message: parse and read it. Bad mail may be refused
    with ExtractionError (quarantine); nothing else may escape."""
    try:
        read_message(raw, FAST)
    except ExtractionError:
        return


# -- documents ----------------------------------------------------------------------------

_NAMES = ["Type", "Pages", "Page", "Kids", "Count", "Contents", "Resources", "Font", "Parent"]
_NAMES += ["Annots", "A", "URI", "Length", "Filter", "MediaBox", "F1", "Subtype", "Encoding"]


def _pdf_string(value: bytes) -> bytes:
    return b"(" + value + b")"


pdf_scalars = st.one_of(
    st.integers(-(2**40), 2**40).map(lambda n: str(n).encode()),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: repr(f).encode()),
    st.sampled_from(_NAMES).map(lambda n: b"/" + n.encode()),
    st.binary(max_size=30).map(_pdf_string),
    st.binary(max_size=20).map(lambda b: b"<" + b.hex().encode() + b">"),
    st.integers(0, 14).map(lambda n: f"{n} 0 R".encode()),
    st.sampled_from([b"true", b"false", b"null", b"(https://github.com/someone)"]),
)
pdf_values = st.recursive(
    pdf_scalars,
    lambda inner: (
        st.lists(inner, max_size=5).map(lambda xs: b"[" + b" ".join(xs) + b"]")
        | st.dictionaries(st.sampled_from(_NAMES), inner, max_size=5).map(
            lambda d: b"<<" + b"".join(b"/" + k.encode() + b" " + v for k, v in d.items()) + b">>"
        )
    ),
    max_leaves=12,
)
_OPERATORS = [b"BT", b"ET", b"Tf", b"Tj", b"TJ", b"Td", b"Tm", b"cm", b"q", b"Q", b"Do", b"'"]


@st.composite
def content_streams(draw) -> tuple[bytes, bytes]:
    """(filter entries, stream data) of a page's content: text, then random operators."""
    ops = draw(st.lists(st.tuples(st.lists(pdf_scalars, max_size=3), st.sampled_from(_OPERATORS))))
    plain = b"BT /F1 12 Tf 72 720 Td (Resume of a fuzzer) Tj ET\n" + b"\n".join(
        b" ".join([*args, op]) for args, op in ops
    )
    kind = draw(st.sampled_from(["plain", "flate", "bad-flate", "ascii85", "lzw"]))
    if kind == "flate":
        return b"/Filter /FlateDecode", zlib.compress(plain)
    if kind == "bad-flate":
        return b"/Filter /FlateDecode", zlib.compress(plain)[: draw(st.integers(0, 20))]
    if kind == "ascii85":
        return b"/Filter /ASCII85Decode", base64.a85encode(plain) + draw(
            st.sampled_from([b"~>", b""])
        )
    if kind == "lzw":
        return b"/Filter /LZWDecode", draw(st.binary(max_size=200))
    return b"", plain


@st.composite
def pdfs(draw) -> bytes:
    """A PDF whose object graph is random: a catalog and page tree that may point
    anywhere (cycles, missing objects, wrong types), content streams with random
    operators and filters, a cross-reference table that may lie or be missing."""
    n_pages = draw(st.integers(0, 3))
    kids = draw(st.lists(st.integers(1, 12), min_size=n_pages, max_size=n_pages + 2))
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids ["
        + b" ".join(f"{k} 0 R".encode() for k in kids)
        + f"] /Count {draw(st.integers(-1, 5))} >>".encode(),
    }
    for number in range(3, 3 + n_pages):
        objects[number] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents "
            + f"{number + 10} 0 R /Resources ".encode()
            + draw(st.sampled_from([b"<< /Font << /F1 9 0 R >> >>", b"7 0 R", b"<<>>"]))
            + b" /Annots "
            + draw(pdf_values)
            + b" >>"
        )
        filters, stream = draw(content_streams())
        length = draw(st.sampled_from([len(stream), len(stream) + 7, 0]))
        objects[number + 10] = (
            b"<< /Length "
            + str(length).encode()
            + b" "
            + filters
            + b" >>\nstream\n"
            + stream
            + b"\nendstream"
        )
    objects[9] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    for number in draw(st.sets(st.integers(4, 14), max_size=4)):
        objects.setdefault(number, draw(pdf_values))
    return pdf_from_objects(objects, lying_xref=draw(st.booleans()), xref=draw(st.booleans()))


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
    'package.relationships+xml"/><Override PartName="/word/document.xml" ContentType="'
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
ROOT_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)
ENTITIES = (
    '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
)


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def paragraphs(draw) -> str:
    runs = draw(st.lists(words.map(lambda t: f"<w:r><w:t>{_escape(t)}</w:t></w:r>"), max_size=4))
    link = f'<w:hyperlink r:id="rId{draw(st.integers(1, 4))}"><w:r><w:t>GitHub</w:t></w:r>'
    table = "<w:tbl><w:tr><w:tc><w:p/></w:tc></w:tr></w:tbl>"
    junk = draw(st.sampled_from(["", link + "</w:hyperlink>", table, "&d;", "<w:p>", link]))
    return "<w:p>" + "".join(runs) + junk + "</w:p>"


@st.composite
def docxs(draw) -> bytes:
    """A DOCX zip with random paragraphs, hyperlinks, relationships and missing parts; an
    entity expansion bomb or unbalanced XML sometimes."""
    body = "".join(draw(st.lists(paragraphs(), max_size=6)))
    doctype = ENTITIES if draw(st.booleans()) else ""
    document = f'<?xml version="1.0"?>{doctype}<w:document {W} {R}><w:body>{body}</w:body>'
    document += draw(st.sampled_from(["</w:document>", ""]))
    targets = ["https://github.com/x", "../../etc/passwd", "", "%", "file:///x"]
    rels = "".join(
        f'<Relationship Id="rId{i + 1}" Type="{HYPERLINK}" Target="{_escape(target)}" '
        'TargetMode="External"/>'
        for i, target in enumerate(draw(st.lists(st.sampled_from(targets), max_size=4)))
    )
    parts = {
        "[Content_Types].xml": TYPES,
        "_rels/.rels": ROOT_RELS,
        "word/document.xml": document,
        "word/_rels/document.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
        f'openxmlformats.org/package/2006/relationships">{rels}</Relationships>',
    }
    for missing in draw(st.sets(st.sampled_from(sorted(parts)), max_size=1)):
        del parts[missing]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def check_document(data: bytes, filename: str, content_type: str) -> DocumentText:
    """A document is read or refused with a reason, within its time; never raises."""
    found = read_document(data, filename, content_type, seconds=FAST.document_seconds)
    assert isinstance(found.text, str)
    assert found.error is None or found.error.startswith("cannot read"), found.error
    return found


def check_pdf(data: bytes) -> None:
    check_document(data, "cv.pdf", "application/pdf")


def check_docx(data: bytes) -> None:
    check_document(data, "cv.docx", "application/octet-stream")


class Daemon:
    """The whole per-message stage as the daemon runs it: stored, then read in the worker
    under the limits, decided and written to a real (in-memory SQLite) database."""

    def __init__(self) -> None:
        self.engine = make_engine("sqlite://")
        self.processor = Processor(
            load_all(DEFAULT_DIR),
            limits=FAST,
            replies=ReplySettings(DEFAULT_TEMPLATES, "Careers <careers@numenta.com>", dry_run=True),
        )

    def __call__(self, raw: bytes) -> str:
        """Every message ends processed, or quarantined by a reason that describes it
        (returned: "processed" or the reason)."""
        with open_session(self.engine) as session:
            identity = store.identify(raw)
            row = store.find_raw(session, identity)
            if row is None:
                row = processed(session, self.processor, "careers", raw, 1)
                session.commit()
            assert row.status in ("processed", "failed"), row.status
            assert row.status == "processed" or row.error.startswith(EXPECTED), row.error
            return row.error or row.status


# -- the properties, for the tests and the campaign ---------------------------------------


@dataclass(frozen=True)
class Property:
    name: str  # what holds, as a test id
    strategies: tuple[st.SearchStrategy, ...]
    check: Callable[..., object]
    examples: int  # how many inputs make test tries (FUZZ_EXAMPLES scales it)


def _documents() -> st.SearchStrategy[bytes]:
    return pdfs() | docxs()


PROPERTIES = [
    Property(
        "the-sender-is-the-address-in-angle-brackets",
        (mailboxes(), st.lists(mailboxes(), min_size=1, max_size=3), mailboxes()),
        check_addresses,
        250,
    ),
    Property("mime-trees-are-read-or-refused", (messages(_documents()),), check_message, 200),
    Property("pdf-object-graphs-are-read-or-refused", (pdfs(),), check_pdf, 150),
    Property("docx-zips-are-read-or-refused", (docxs(),), check_docx, 150),
    Property("the-daemon-stores-processed-or-quarantined", (messages(_documents()),), Daemon(), 40),
]


def run(prop: Property, examples: int) -> None:
    """Try `prop` on `examples` fresh random inputs (no example database: each run explores
    anew); a failure raises with the shrunk input, as hypothesis reports it."""
    tried = ARTIFACTS / f"fuzz-{prop.name}.count"

    def check(args: tuple) -> None:
        TRIED[prop.name] = TRIED.get(prop.name, 0) + 1
        tried.write_text(str(TRIED[prop.name]))
        prop.check(*args)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )(given(st.tuples(*prop.strategies))(check))()


TRIED: dict[str, int] = {}  # per process: pytest-xdist workers write, the controller prints
