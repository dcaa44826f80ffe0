"""Attachments to text and link targets: PDF (see `pdf`), DOCX (python-docx), text.

The format is sniffed from the bytes, not trusted from the file name or MIME type
(a PDF called `resume.doc` is a PDF). This runs inside the worker process (see
`extract.read_isolated`), where each document gets a time limit of its own within the
message's budget; whatever goes wrong comes back as `error`, never as an exception.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, replace

from intake.errors import ExtractionError
from intake.extraction.pdf import pdf_text
from intake.extraction.worker import Deadline, TimeLimit

MAX_DOCX_UNPACKED = 200 * 2**20


@dataclass(frozen=True)
class DocumentText:
    """What one attachment yields. `error` says why it could not be read; a document that
    opened but holds no text (a scan) has no error and state `no_text`."""

    format: str  # pdf | docx | text | html | other
    text: str = ""
    links: tuple[str, ...] = ()
    error: str | None = None
    pages: int | None = None
    ocr: bool = False  # the text was recognised from page images

    @property
    def state(self) -> str:
        """text | no_text (opened, nothing to read: a scan) | unreadable (with `error`)."""
        if self.error:
            return "unreadable"
        return "text" if self.text.strip() else "no_text"


def sniff(data: bytes, filename: str | None, content_type: str) -> str:
    """Name the format by content: magic bytes first, declared type only for text."""
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return (
            "docx" if b"word/" in data[:65536] or _zip_has(data, "word/document.xml") else "other"
        )
    kind = content_type.lower()
    name = (filename or "").lower()
    if kind == "text/html" or name.endswith((".html", ".htm")):
        return "html"
    if kind.startswith("text/") or name.endswith((".txt", ".md")):
        return "text"
    return "other"


def _zip_has(data: bytes, member: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return member in archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def docx_text(data: bytes) -> tuple[str, list[str]]:
    """Paragraph and table text plus external hyperlink targets of a DOCX."""
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_DOCX_UNPACKED:
            raise ExtractionError("DOCX unpacks to more than 200 MiB")
    document = docx.Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append("\t".join(cell.text for cell in row.cells))
    links = [
        rel.target_ref
        for rel in document.part.rels.values()
        if rel.reltype == RELATIONSHIP_TYPE.HYPERLINK and rel.is_external
    ]
    return "\n".join(lines), links


@dataclass(frozen=True)
class Ocr:
    """Optical character recognition of scanned PDFs (config `[documents] ocr = true`):
    pypdfium2 renders the first `pages` pages, the `tesseract` program reads them."""

    languages: str = "eng"
    seconds: float = 60.0  # for the whole document
    pages: int = 3

    @staticmethod
    def available() -> bool:
        return shutil.which("tesseract") is not None


def ocr_pdf(data: bytes, ocr: Ocr) -> str:
    """The text tesseract recognises on the first pages of a scan."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    pages = []
    for index in range(min(len(pdf), ocr.pages)):
        image = pdf[index].render(scale=300 / 72).to_pil().convert("L")
        png = io.BytesIO()
        image.save(png, format="PNG")
        done = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", ocr.languages],
            input=png.getvalue(),
            capture_output=True,
            check=True,
            timeout=ocr.seconds,
        )
        pages.append(done.stdout.decode("utf-8", "replace"))
    return "\n".join(pages)


def _html_text(data: bytes) -> str:
    from intake.mail.parse import html_to_text

    return html_to_text(data.decode("utf-8", "replace"))


def read_document(
    data: bytes,
    filename: str | None,
    content_type: str,
    *,
    seconds: float = 20.0,
    ocr: Ocr | None = None,
    deadline: Deadline | None = None,
) -> DocumentText:
    """Extract one attachment in at most `seconds` (and within `deadline`, the message's
    budget); failures become `error`, so the caller can flag them. A scanned PDF (pages,
    no text layer) is read by OCR when `ocr` is given, within `ocr.seconds`."""
    budget_first = deadline is not None and deadline.remaining() < seconds
    deadline = deadline or Deadline(seconds)
    fmt = sniff(data, filename, content_type)
    try:
        with deadline.limit(seconds):
            found = _read_format(fmt, data, content_type, seconds)
    except Exception as exc:  # parsers raise anything on hostile files
        why = _why(exc, seconds, deadline if budget_first else None)
        return DocumentText(fmt, error=f"cannot read {fmt.upper()}: {why}")
    if ocr is None or fmt != "pdf" or not found.pages or found.text.strip():
        return found
    return _recognised(data, found, ocr, deadline)


def _why(exc: Exception, seconds: float, budget: Deadline | None) -> str:
    """Why a document could not be read; `budget` when the message's budget was the
    nearer limit."""
    if isinstance(exc, TimeLimit):
        if budget is not None:
            return f"the message's work budget ({budget.seconds:g}s) ran out"
        return f"gave up after {seconds:g}s"
    if isinstance(exc, MemoryError):
        return "ran out of memory"
    if isinstance(exc, ExtractionError):  # our own words: no type name
        return str(exc)[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


def _recognised(data: bytes, scan: DocumentText, ocr: Ocr, deadline: Deadline) -> DocumentText:
    """A scan read by OCR; if OCR fails it is still a scan, not an unreadable file."""
    try:
        with deadline.limit(ocr.seconds):
            text = ocr_pdf(data, ocr)
    except Exception:  # tesseract failed or ran out of time: a person reads the scan
        return scan
    return replace(scan, text=text, ocr=bool(text.strip()))


def _read_format(fmt: str, data: bytes, content_type: str, seconds: float) -> DocumentText:
    if fmt == "pdf":
        text, links, pages = pdf_text(data, seconds)
        return DocumentText(fmt, text, tuple(links), None, pages)
    if fmt == "docx":
        text, links = docx_text(data)
        return DocumentText(fmt, text, tuple(links))
    if fmt == "html":
        return DocumentText(fmt, _html_text(data))
    if fmt == "text":
        return DocumentText(fmt, data.decode("utf-8", "replace"))
    return DocumentText(fmt, error=f"unsupported format ({content_type})")
