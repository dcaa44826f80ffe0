"""Resume text and links from real PDF and DOCX files; hostile files fail safely."""

from __future__ import annotations

import time

import pytest

from intake.errors import ExtractionError
from intake.extraction.documents import Ocr, read_document, sniff
from intake.extraction.worker import run_isolated
from tests.builders import make_docx, make_encrypted_pdf, make_pdf, make_scan


def test_pdf_text_and_link_annotation():
    data = make_pdf(
        ["Ada Lovelace", "Coursework: Algorithms, Machine Learning"],
        link="https://github.com/ada",
        pages=2,
    )
    doc = read_document(data, "resume.pdf", "application/pdf")
    assert doc.format == "pdf" and doc.error is None and doc.pages == 2
    assert "Ada Lovelace" in doc.text and "Machine Learning" in doc.text
    assert doc.links == ("https://github.com/ada",)


def test_pdf_named_doc_is_still_a_pdf():
    data = make_pdf(["Grace Hopper"])
    assert sniff(data, "resume.doc", "application/msword") == "pdf"
    assert "Grace Hopper" in read_document(data, "resume.doc", "application/msword").text


def test_docx_text_and_hyperlink():
    data = make_docx(
        ["Zoë Müller", "Relevant coursework: Neural Computation"], link="https://github.com/zoe-m"
    )
    doc = read_document(data, "CV.docx", "application/octet-stream")
    assert doc.format == "docx" and doc.error is None
    assert "Zoë Müller" in doc.text and "Neural Computation" in doc.text
    assert doc.links == ("https://github.com/zoe-m",)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.4\n garbage that is not a pdf", "cannot read PDF"),
        (b"%PDF-1.7\n" + b"\x00" * 5000, "cannot read PDF"),
        (make_encrypted_pdf(["Alan Turing", "Education"]), "cannot read PDF"),
        (b"PK\x03\x04 not really a zip", "unsupported format"),
        (b"\x89PNG\r\n\x1a\n", "unsupported format"),
    ],
)
def test_unreadable_documents_report_why(data, expected):
    doc = read_document(data, "resume.pdf", "application/pdf")
    assert doc.error and expected in doc.error
    assert doc.text == ""


def test_a_scan_opens_but_has_no_text_and_is_not_unreadable():
    doc = read_document(make_scan(["Alan Turing", "Education"], pages=2), "cv.pdf", "x/y")
    assert (doc.format, doc.error, doc.pages, doc.state) == ("pdf", None, 2, "no_text")


def test_a_scan_is_read_by_ocr_when_asked(tesseract):
    scan = make_scan(["Alan Turing", "Education", "University of Cambridge, expected 2035"])
    doc = read_document(scan, "cv.pdf", "application/pdf", ocr=Ocr())
    assert (doc.state, doc.ocr, doc.error) == ("text", True, None)
    assert "Education" in doc.text and "Cambridge" in doc.text
    assert read_document(scan, "cv.pdf", "application/pdf").state == "no_text"  # opt-in


def test_a_truncated_pdf_is_unreadable_with_the_parser_s_reason():
    data = make_pdf(["Alan Turing"] * 40)
    doc = read_document(data[: len(data) // 2], "cv.pdf", "application/pdf")
    assert (doc.error, doc.text, doc.state) == (
        "cannot read PDF: PSEOF: Unexpected EOF",
        "",
        "unreadable",
    )


def test_plain_and_html_attachments():
    assert read_document(b"Resume\nSkills: C++", "cv.txt", "text/plain").text.startswith("Resume")
    html = read_document(b"<p>Skills</p><script>evil()</script>", "cv.html", "text/html")
    assert html.format == "html" and "Skills" in html.text and "evil" not in html.text


def test_isolation_enforces_time_limit():
    started = time.monotonic()
    with pytest.raises(ExtractionError, match=r"gave up after 0\.5s"):
        run_isolated(time.sleep, 30, timeout=0.5, memory_mb=1024)
    assert time.monotonic() - started < 5


def test_isolation_enforces_memory_limit():
    with pytest.raises(ExtractionError, match="ran out of memory"):
        run_isolated(bytearray, 2 * 2**30, timeout=10, memory_mb=256)


def test_isolation_reports_child_errors():
    with pytest.raises(ExtractionError, match="ValueError"):
        run_isolated(int, "not a number", timeout=10, memory_mb=1024)
    assert run_isolated(int, "42", timeout=10, memory_mb=1024) == 42
