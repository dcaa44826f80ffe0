"""Resume text and links from real PDF and DOCX files; hostile files fail safely."""

from __future__ import annotations

import re
import time
from email import message_from_bytes
from pathlib import Path

import pypdfium2
import pytest

from intake.errors import ExtractionError
from intake.extraction.documents import Ocr, read_document, sniff
from intake.extraction.pdf import pdfium_text, pdfminer_text
from intake.extraction.worker import run_isolated
from tests.builders import make_docx, make_encrypted_pdf, make_pdf, make_scan, pdf_from_objects

ROOT = Path(__file__).resolve().parent.parent


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


def test_a_truncated_pdf_is_unreadable_with_both_parsers_reasons():
    data = make_pdf(["Alan Turing"] * 40)
    doc = read_document(data[: len(data) // 2], "cv.pdf", "application/pdf")
    assert (doc.error, doc.text, doc.state) == (
        "cannot read PDF: PDFium: Failed to load document (PDFium: Data format error).; "
        "pdfminer: PSEOF: Unexpected EOF",
        "",
        "unreadable",
    )


def test_pdfminer_reads_what_pdfium_refuses():
    """No cross-reference table and the catalog's `obj` keyword damaged: PDFium gives up,
    pdfminer finds the pages by scanning, and the resume is read."""
    text = b"BT /F1 12 Tf 72 720 Td (Grace Hopper) Tj ET"
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
        b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        4: b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    data = pdf_from_objects(objects, xref=False).replace(b"1 0 obj", b"1 0 ob")
    with pytest.raises(pypdfium2.PdfiumError):
        pdfium_text(data)
    doc = read_document(data, "cv.pdf", "application/pdf")
    assert (doc.error, doc.pages, doc.text.strip()) == (None, 1, "Grace Hopper")


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


def _pdfs(*folders: Path) -> list[tuple[str, bytes]]:
    """Every PDF attached to the sample and fixture messages, by message file name."""
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*.eml")):
            for part in message_from_bytes(path.read_bytes()).walk():
                data = part.get_payload(decode=True)
                if isinstance(data, bytes) and b"%PDF-" in data[:1024]:
                    found.append((path.name, data))
    return found


# What pdfminer reads that PDFium does not, in the samples: its artefacts, `(cid:127)` for
# a glyph without a Unicode mapping and "nn" for two glyphs that PDFium gives as the ■
# actually drawn (a Chinese name in a font without those characters).
PDFMINER_ARTEFACTS = {"cid", "127", "nn"}


def test_pdfium_reads_every_sample_pdf_at_least_as_well_as_pdfminer():
    pdfs = _pdfs(ROOT / "tests" / "fixtures", ROOT / "data" / "sample")
    assert len(pdfs) > 100
    compared = 0
    for name, data in pdfs:
        try:
            theirs = pdfminer_text(data)
        except Exception:  # damaged on purpose: PDFium must refuse it too
            with pytest.raises(pypdfium2.PdfiumError):
                pdfium_text(data)
            continue
        ours = pdfium_text(data)
        assert "(cid:" not in ours.text, name
        assert (ours.pages, ours.links) == (theirs.pages, theirs.links), name
        missing = set(re.findall(r"\w+", theirs.text)) - set(re.findall(r"\w+", ours.text))
        assert missing <= PDFMINER_ARTEFACTS, (name, missing)
        compared += 1
    assert compared > 100
