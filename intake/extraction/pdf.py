"""PDF text, link-annotation URIs and page count: PDFium first, pdfminer.six as the fallback.

PDFium (pypdfium2, the engine inside Chrome) reads a resume in a few milliseconds where
pdfminer.six takes tens, and maps glyphs to Unicode where pdfminer leaves `(cid:NNN)`.
pdfminer reads what PDFium refuses (some damaged files). Both run in the worker process
under its time and memory limits (see `documents.read_document`), PDFium in a worker of
its own besides (`worker.run_isolated`, started once and reused): its C code cannot be
stopped by the document's time limit, and it aborts the process when memory runs out,
where pdfminer raises; there, a hung or crashed PDFium costs its document, not the
message.
"""

from __future__ import annotations

import ctypes
import io
import resource
from typing import NamedTuple

from intake.errors import ExtractionError
from intake.extraction.worker import run_isolated
from intake.limits import DEFAULT_LIMITS


class PdfText(NamedTuple):
    text: str
    links: list[str]  # URIs of link annotations: a resume often links the word "GitHub"
    pages: int


def pdf_text(data: bytes, seconds: float) -> PdfText:
    """The PDF read by PDFium, or by pdfminer when PDFium cannot open it; when neither
    can, the error gives both reasons. PDFium runs in a process of its own (see module)
    for at most `seconds` and one more (the document's limit, whose alarm stops it first):
    that bounds the CPU a PDFium left behind by a killed worker can still spend."""
    try:
        found = run_isolated(_pdfium_or_refusal, data, timeout=seconds + 1, memory_mb=_memory_mb())
    except ExtractionError as exc:
        raise ExtractionError(f"PDFium crashed (out of memory or a damaged file): {exc}") from None
    if not isinstance(found, str):
        return found
    try:
        return pdfminer_text(data)
    except Exception as second:  # pdfminer raises anything on a damaged file
        raise ExtractionError(
            f"PDFium: {found}; pdfminer: {type(second).__name__}: {second}"
        ) from None


def _pdfium_or_refusal(data: bytes) -> PdfText | str:
    """PDFium's reading, or why it refused the file (then pdfminer may read it)."""
    import pypdfium2

    try:
        return pdfium_text(data)
    except pypdfium2.PdfiumError as exc:
        return str(exc)


def _memory_mb() -> int:
    """This process's address-space limit (the worker's), for PDFium's process too."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return DEFAULT_LIMITS.memory_mb if soft == resource.RLIM_INFINITY else soft // 2**20


def pdfium_text(data: bytes) -> PdfText:
    """One pass of PDFium: each page's text (pages separated by a form feed, as pdfminer
    does) and its link annotations' URIs."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    try:
        texts, links = [], []
        for page in pdf:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range().replace("\r\n", "\n"))
            links.extend(_page_uris(pdf, page))
            textpage.close()
            page.close()
        return PdfText("\n\f".join(texts), links, len(texts))
    finally:
        pdf.close()


def _page_uris(pdf: object, page: object) -> list[str]:
    """URI actions of a page's link annotations (PDF 32000 12.6.4.7: 7-bit ASCII)."""
    import pypdfium2.raw as pdfium

    uris = []
    position, link = ctypes.c_int(0), pdfium.FPDF_LINK()
    while pdfium.FPDFLink_Enumerate(page, ctypes.byref(position), ctypes.byref(link)):
        action = pdfium.FPDFLink_GetAction(link)
        if not action or pdfium.FPDFAction_GetType(action) != pdfium.PDFACTION_URI:
            continue
        size = pdfium.FPDFAction_GetURIPath(pdf, action, None, 0)
        buffer = ctypes.create_string_buffer(size)
        pdfium.FPDFAction_GetURIPath(pdf, action, buffer, size)
        uris.append(buffer.raw[: size - 1].decode("latin-1"))
    return uris


def pdfminer_text(data: bytes) -> PdfText:
    """One pass of pdfminer.six: text with layout analysis and link-annotation URIs."""
    from pdfminer.converter import TextConverter
    from pdfminer.layout import LAParams
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    out = io.StringIO()
    manager = PDFResourceManager()
    device = TextConverter(manager, out, laparams=LAParams())
    interpreter = PDFPageInterpreter(manager, device)
    links: list[str] = []
    pages = 0
    for page in PDFPage.get_pages(io.BytesIO(data)):
        pages += 1
        interpreter.process_page(page)
        links.extend(_annotation_uris(page))
    device.close()
    return PdfText(out.getvalue(), links, pages)


def _annotation_uris(page: object) -> list[str]:
    from pdfminer.pdftypes import resolve1

    uris = []
    for ref in resolve1(getattr(page, "annots", None)) or []:
        annot = resolve1(ref)
        action = resolve1(annot.get("A")) if isinstance(annot, dict) else None
        uri = resolve1(action.get("URI")) if isinstance(action, dict) else None
        if isinstance(uri, bytes | str):
            uris.append(uri.decode("latin-1") if isinstance(uri, bytes) else uri)
    return uris
