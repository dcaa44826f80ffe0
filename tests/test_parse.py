"""Headers as real clients write them: encoded names, broken dates, odd Message-IDs."""

import pytest

from intake.parse import parse_message


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
    ("=?utf-8?b?!!!not base64?= <x@example.org>", "=?utf-8?b?!!!not base64?=", "x@example.org"),
    ("undisclosed-recipients:;", None, None),
]


@pytest.mark.parametrize(("header", "name", "email"), NAMES)
def test_sender(header, name, email):
    msg = parse_message(headers(From=header, Subject="x"))
    assert (msg.sender_name, msg.sender_email) == (name, email)


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
