"""Whole-message extraction: resume choice, links from every source, flags, JSON."""

from __future__ import annotations

from intake.limits import DEFAULT_LIMITS
from tests.builders import make_docx, make_mail, make_pdf
from tests.judging import contract_of

PDF = make_pdf(["Ada Lovelace", "Coursework: Algorithms"], link="https://github.com/ada-l")


def run(raw: bytes) -> dict:
    """The contract for a mailbox without postings: what was extracted, no rules' flags."""
    return contract_of(raw, "nowhere")


def test_pdf_resume_text_and_annotation_link():
    result = run(make_mail(attachments=[("Ada_Lovelace_Resume.pdf", "application/pdf", PDF)]))
    assert result["kind"] == "application"
    assert result["sender"] == {"name": "Ada Lovelace", "email": "ada@example.org"}
    assert result["resume"]["filename"] == "Ada_Lovelace_Resume.pdf"
    assert "Coursework: Algorithms" in result["resume"]["text"]
    assert result["github"] == ["https://github.com/ada-l"]
    assert result["flags"] == []


def test_resume_and_cover_letter_told_apart_by_name():
    cover = make_docx(["Dear Numenta, I am writing to apply."])
    result = run(
        make_mail(
            body="",
            attachments=[
                (
                    "cover_letter.docx",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    cover,
                ),
                ("cv.pdf", "application/pdf", PDF),
            ],
        )
    )
    roles = {a["filename"]: a["role"] for a in result["attachments"]}
    assert roles == {"cover_letter.docx": "cover_letter", "cv.pdf": "resume"}
    assert result["cover_letter"].startswith("Dear Numenta, I am writing to apply.")


def test_first_document_is_the_resume_when_names_say_nothing():
    result = run(
        make_mail(
            attachments=[
                ("photo.png", "image/png", b"\x89PNG\r\n\x1a\n0000"),
                ("ada.pdf", "application/pdf", PDF),
            ]
        )
    )
    assert result["resume"]["filename"] == "ada.pdf"


def test_corrupt_resume_is_flagged_unreadable():
    result = run(make_mail(attachments=[("resume.pdf", "application/pdf", b"%PDF-1.4 junk")]))
    assert result["resume"]["filename"] == "resume.pdf"
    assert [f["code"] for f in result["flags"]] == ["resume_unreadable"]


def test_links_from_body_html_and_documents_deduplicated():
    docx = make_docx(["Grace Hopper"], link="https://github.com/ghopper/cobol")
    raw = make_mail(
        body="My profile: https://github.com/GHopper.",
        attachments=[("resume.docx", "application/octet-stream", docx)],
    )
    assert run(raw)["github"] == ["https://github.com/GHopper", "https://github.com/ghopper/cobol"]


def test_html_only_mail_is_converted_and_hrefs_read():
    raw = (
        b"From: =?utf-8?q?Jos=C3=A9_=C3=81lvarez?= <jose@example.mx>\r\n"
        b"To: interns@numenta.com\r\nSubject: Internship\r\nMessage-ID: <h@example.mx>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><body><p>Hola,</p><p>my <a href='https://github.com/jalvarez?tab=repos'>"
        b"code</a></p><script>alert(1)</script></body></html>\r\n"
    )
    result = run(raw)
    assert result["sender"]["name"] == "José Álvarez"
    assert result["github"] == ["https://github.com/jalvarez"]
    assert "Hola," in result["cover_letter"] and "alert" not in result["cover_letter"]


def test_bounce_and_auto_reply_kinds():
    bounce = make_mail(sender="MAILER-DAEMON@mx.example.org", subject="Undelivered Mail")
    auto = make_mail(
        subject="Automatic reply: Application", headers={"Auto-Submitted": "auto-replied"}
    )
    listed = make_mail(headers={"List-Id": "<jobs.lists.example.org>"})
    reply = make_mail(
        "Any news about it?",
        subject="Re: Application",
        headers={"In-Reply-To": "<ack@numenta.com>"},
    )
    assert [run(r)["kind"] for r in (bounce, auto, listed, reply)] == [
        "bounce",
        "auto_reply",
        "bulk",
        "follow_up",
    ]


def test_an_attachment_over_25_mib_is_not_read():
    """The default cap, just over and just under it (a text attachment reads fast)."""
    over = b"Resume\n" + b"x" * (25 * 2**20)
    under = b"Resume\n" + b"x" * (25 * 2**20 - 100)
    result = run(
        make_mail(attachments=[("a.txt", "text/plain", over), ("b.txt", "text/plain", under)])
    )
    errors = [a["error"] for a in result["attachments"]]
    assert errors == ["not read: larger than 25 MiB", None]


def test_attachment_count_is_capped():
    most = DEFAULT_LIMITS.documents
    many = [(f"cv{n}.pdf", "application/pdf", PDF) for n in range(most + 2)]
    result = run(make_mail(attachments=many))
    errors = [a["error"] for a in result["attachments"]]
    assert errors[:most] == [None] * most
    assert all("only the first" in e for e in errors[most:])
