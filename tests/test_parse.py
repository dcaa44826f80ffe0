"""Headers as real clients write them: encoded names, broken dates, odd Message-IDs."""

import pytest

from intake.mail.parse import parse_message
from intake.reports import quarantine
from intake.storage.privacy import header_addresses


def headers(**values: str) -> bytes:
    lines = [f"{k.replace('_', '-')}: {v}" for k, v in values.items()]
    return ("\r\n".join(lines) + "\r\n\r\nbody\r\n").encode("utf-8")


NAMES = [
    ("=?UTF-8?B?5p2O5piO?= <li.ming@example.cn>", "李明", "li.ming@example.cn"),
    ("=?utf-8?b?2YTZitmE2Ykg2K3Ys9mG?= <layla@example.eg>", "ليلى حسن", "layla@example.eg"),
    (
        "=?iso-8859-1?q?Fran=E7ois_Dupr=E9?= <francois@example.fr>",
        "François Dupré",
        "francois@example.fr",
    ),
    ("=?utf-8?q?Jos=C3=A9_=C3=81lvarez?= <JOSE@Example.MX>", "José Álvarez", "jose@example.mx"),
    ('"Müller, Zoë" <zoe@example.de>', "Müller, Zoë", "zoe@example.de"),
    ("Zoë Müller <zoe@example.de>", "Zoë Müller", "zoe@example.de"),
    ("plain@example.org", None, "plain@example.org"),
    ("<angle@example.org>", None, "angle@example.org"),
    ("=?utf-8?b?!!!not base64?= <x@example.org>", "!!!not base64", "x@example.org"),
    # Outlook writes "Last, First"; the comma is inside the encoded word
    (
        "=?utf-8?Q?Garc=C3=ADa=2C_Mar=C3=ADa?= <maria.garcia@example.es>",
        "García, María",
        "maria.garcia@example.es",
    ),
    # an `@` inside an encoded display name is part of the name, not the address
    (
        "=?utf-8?q?Jos=C3=A9_x@evil.example?= <real@example.org>",
        "José x@evil.example",
        "real@example.org",
    ),
    # ... and so whatever surrounds the encoded word: raw text, a fold, CR/LF and a `:`
    (
        "=?iso-8859-1?q?Jos=E9?= x@evil.example <real@example.org>",
        "José x@evil.example",
        "real@example.org",
    ),
    ("=?utf-8?q?Jos=C3=A9_x@evil?=\r\n <real@example.org>", "José x@evil", "real@example.org"),
    (
        "=?utf-8?q?x=0D=0ABcc:_evil@x.example?= <real@example.org>",
        "x Bcc: evil@x.example",
        "real@example.org",
    ),
    # Outlook and web forms put the address itself in the name, unquoted
    ("evil@x.example <real@example.org>", "evil@x.example", "real@example.org"),
    ('"Doe <evil@x.example>" <real@example.org>', "Doe <evil@x.example>", "real@example.org"),
    ("Big Bug bb@bug.com", None, "bb@bug.com"),
    ("tim@example.com concierge@example.com", None, "tim@example.com"),
    ("John Doe <jdoe@machine(comment).  example>", "John Doe", "jdoe@machine.example"),
    ("undisclosed-recipients:;", None, None),
]


@pytest.mark.parametrize(("header", "name", "email"), NAMES)
def test_sender(header, name, email):
    msg = parse_message(headers(From=header, Subject="x"))
    assert (msg.sender_name, msg.sender_email) == (name, email)


def test_reply_to_to_and_cc_take_the_bracketed_address_too():
    msg = parse_message(
        headers(
            From="a@example.org",
            Reply_To="=?utf-8?q?x@evil.example?= <b@example.org>",
            To="=?utf-8?q?Careers_x@evil.example?= <careers@example.com>, c@example.org",
            Cc="d@evil.example <d@example.org>",
            Subject="x",
        )
    )
    assert msg.reply_to == "b@example.org"
    assert msg.to == ("careers@example.com", "c@example.org", "d@example.org")


def test_a_tombstone_matches_the_address_in_angle_brackets_not_the_name():
    """The forgotten are recognised as the sender is read: a name holding someone else's
    address (encoded or not) neither hides them nor drops the other person's mail."""
    raw = (
        b"From: =?utf-8?q?Jos=C3=A9_other@example.org?= <forgotten@example.org>\r\n"
        b"Cc: keep@example.org <third@example.org>\r\nSubject: x\r\n\r\nbody\r\n"
    )
    assert header_addresses(raw) == {"forgotten@example.org", "third@example.org"}


def test_sender_falls_back_to_sender_header():
    msg = parse_message(headers(Sender="Ops <ops@example.org>", Subject="x"))
    assert msg.sender_email == "ops@example.org"


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("Mon, 22 Jan 2018 10:00:00 -0800", "2018-01-22T18:00:00+00:00"),
        ("22 Jan 2018 10:00:00 GMT", "2018-01-22T10:00:00+00:00"),
        ("Mon, 22 Jan 2018 10:00:00", "2018-01-22T10:00:00+00:00"),
        ("not a date", None),
        ("Mon, 99 Foo 99999 99:99:99 +9999", None),
    ],
)
def test_date(value, iso):
    msg = parse_message(headers(From="a@example.org", Date=value))
    assert (msg.date.isoformat() if msg.date else None) == iso


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<abc@example.org>", "<abc@example.org>"),
        ("  <abc@example.org>  (comment)", "<abc@example.org>"),
        ("abc@example.org", "<abc@example.org>"),
        ("two words", None),
    ],
)
def test_message_id(value, expected):
    assert parse_message(headers(From="a@example.org", Message_ID=value)).message_id == expected


def test_subject_control_characters_are_removed():
    raw = b"From: a@example.org\r\nSubject: =?utf-8?q?Hi=0D=0ABcc=3A_x=40evil?=\r\n\r\nbody"
    assert parse_message(raw).subject == "Hi Bcc: x@evil"


def test_references_and_in_reply_to():
    msg = parse_message(
        headers(From="a@example.org", In_Reply_To="<b@x> junk", References="<a@x>\r\n <b@x>")
    )
    assert msg.in_reply_to == "<b@x>" and msg.references == ("<a@x>", "<b@x>")


def test_gb2312_subject_decodes_as_its_superset_gb18030():
    # "镕" is in GBK/GB18030 but not in GB2312; Chinese clients label such text gb2312 anyway
    encoded = "=?gb2312?B?" + __import__("base64").b64encode("朱镕基".encode("gb18030")).decode()
    msg = parse_message(headers(From="a@example.cn", Subject=encoded + "?="))
    assert msg.subject == "朱镕基"


def test_iso_2022_jp_subject_split_across_encoded_words():
    # a mailer that cuts the JIS byte stream in the middle of a character
    jis = "応募書類の送付".encode("iso2022_jp")
    import base64

    words = [jis[:7], jis[7:]]
    subject = " ".join(f"=?ISO-2022-JP?B?{base64.b64encode(w).decode()}?=" for w in words)
    assert parse_message(headers(From="a@example.jp", Subject=subject)).subject == "応募書類の送付"


def test_raw_iso_2022_jp_subject_without_encoded_words():
    raw = b"From: a@example.jp\r\nSubject: " + "応募".encode("iso2022_jp") + b"\r\n\r\nbody"
    assert parse_message(raw).subject == "応募"


def test_utf7_under_outlook_express_label():
    subject = "=?unicode-1-1-utf-7?Q?" + "Bewerbung f\u00fcr".encode("utf-7").decode() + "?="
    msg = parse_message(headers(From="a@example.de", Subject=subject.replace(" ", "_")))
    assert msg.subject == "Bewerbung für"


def test_iso_8859_1_label_reads_windows_1252_quotes():
    raw = b"From: a@example.org\r\nSubject: =?iso-8859-1?Q?=93Hi=94?=\r\n\r\nbody"
    assert parse_message(raw).subject == "\u201cHi\u201d"


def test_raw_8bit_subject_in_the_declared_body_charset():
    raw = (
        b"From: a@example.ru\r\nSubject: " + "Резюме".encode("koi8-r") + b"\r\n"
        b"Content-Type: text/plain; charset=koi8-r\r\n\r\n" + "Здравствуйте".encode("koi8-r")
    )
    msg = parse_message(raw)
    assert (msg.subject, msg.text) == ("Резюме", "Здравствуйте")


def test_unindented_continuation_does_not_end_the_header_block():
    raw = (
        b"Received: from mx.example.org by mail.example.com\r\n"
        b"X-Long: first part of a header that a broken mailer wrapped\r\n"
        b"without indenting the rest of it\r\n"
        b"From: Ada Lovelace <ada@example.org>\r\n"
        b"Subject: Application\r\n\r\nHello"
    )
    msg = parse_message(raw)
    assert (msg.sender_email, msg.subject, msg.text) == ("ada@example.org", "Application", "Hello")


def test_obsolete_space_before_colon():
    raw = b"From  : John <john@example.org>\r\nSubject     : Hello\r\n\r\nbody"
    msg = parse_message(raw)
    assert (msg.sender_email, msg.subject) == ("john@example.org", "Hello")


def test_where_mail_parser_gives_up_the_standard_library_reads_the_message():
    inner = b"Content-Type: text/plain\r\n\r\nI am applying for the internship.\r\n"
    wrapper = b"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n" * 60
    raw = b"From: Ada <ada@example.org>\r\nSubject: nested\r\n" + wrapper + inner
    msg = parse_message(raw)
    assert (msg.sender_email, msg.text) == ("ada@example.org", "I am applying for the internship.")


def test_quarantine_show_decodes_headers_and_never_passes_terminal_escapes():
    raw = b"From: =?utf-8?q?Jos=C3=A9?= <a@b.example>\r\nSubject: =?utf-8?q?x=1B[31mred=0D=0Ay?="
    shown = quarantine.headers(raw + b"\r\n\r\n")
    assert shown == [("From", "José <a@b.example>"), ("Subject", "x [31mred y")]
