"""Builders for real test inputs: PDFs (reportlab), DOCX (python-docx), MIME messages."""

from __future__ import annotations

import io
import zlib
from email.message import EmailMessage

from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas


def make_pdf(lines: list[str], link: str | None = None, pages: int = 1) -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=letter, invariant=1)
    for page in range(pages):
        y = 720
        for line in lines:
            pdf.drawString(72, y, f"{line}" if page == 0 else f"{line} (page {page + 1})")
            y -= 16
        if link and page == 0:
            pdf.drawString(72, y, "GitHub")
            pdf.linkURL(link, (70, y - 4, 120, y + 12), relative=0)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def make_scan(lines: list[str], pages: int = 1) -> bytes:
    """A scanned page: the lines drawn into a picture, the picture into a PDF; no text layer."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=letter, invariant=1)
    for _ in range(pages):
        image = Image.new("L", (1275, 1650), 255)  # 150 dpi, US letter
        draw = ImageDraw.Draw(image)
        for n, line in enumerate(lines):
            draw.text((150, 150 + 40 * n), line, fill=0, font_size=28)
        pdf.drawImage(ImageReader(image), 0, 0, *letter)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def make_encrypted_pdf(lines: list[str], password: str = "secret") -> bytes:
    """A PDF that opens only with a password (user password set)."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=letter, invariant=1, encrypt=password)
    for n, line in enumerate(lines):
        pdf.drawString(72, 720 - 16 * n, line)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def make_docx(paragraphs: list[str], link: str | None = None) -> bytes:
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if link:
        paragraph = document.add_paragraph("Code: ")
        rel = document.part.relate_to(link, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        hyperlink = OxmlElement("w:hyperlink")
        hyperlink.set(qn("r:id"), rel)
        run = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = "GitHub"
        run.append(text)
        hyperlink.append(run)
        paragraph._p.append(hyperlink)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_mail(
    body: str = "Dear Numenta,\n\nPlease find my resume attached.\n",
    *,
    sender: str = "Ada Lovelace <ada@example.org>",
    subject: str = "Application: Research Internship",
    message_id: str = "<ada-1@example.org>",
    attachments: list[tuple[str, str, bytes]] = (),
    headers: dict[str, str] | None = None,
) -> bytes:
    """A complete RFC 5322 message with optional (filename, mime type, bytes) attachments."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "interns@numenta.com"
    msg["Subject"] = subject
    msg["Date"] = "Tue, 23 Jan 2018 09:30:00 -0800"
    msg["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    for filename, mime, data in attachments:
        maintype, subtype = mime.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def dsn(recipient: str, original: bytes) -> bytes:
    """An RFC 3464 delivery report, as Postfix writes one."""
    headers = original.split(b"\n\n", 1)[0].decode()
    return (
        "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\n"
        "To: careers@numenta.com\nSubject: Undelivered Mail Returned to Sender\n"
        "Date: Tue, 23 Jan 2018 10:00:00 +0000\nMessage-ID: <dsn-1@mx.example.org>\n"
        "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nI'm sorry to have to inform you that your message "
        "could not be delivered.\n\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n"
        f"--B\nContent-Type: text/rfc822-headers\n\n{headers}\n\n--B--\n"
    ).encode()


def make_slow_pdf(characters: int = 5000, seed: int = 0, pages: int = 2000) -> bytes:
    """A 200 KB PDF of `pages` pages that all draw the same 5000 characters one by one:
    seconds of work for PDFium, minutes for pdfminer's layout analysis (a crafted or badly
    generated "resume")."""
    import zlib

    placed = b"".join(
        b"1 0 0 1 %d %d Tm (x) Tj " % ((i * 13 + seed) % 600, (i * 7) % 780)
        for i in range(characters)
    )
    stream = zlib.compress(b"BT /F1 4 Tf " + placed + b"ET")
    kids = b" ".join(b"%d 0 R" % (5 + n) for n in range(pages))
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        3: b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
        + stream
        + b"\nendstream",
        4: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
        b" /Resources << /Font << /F1 4 0 R >> >> /Contents 3 0 R >>"
    )
    objects |= {5 + n: page for n in range(pages)}
    return pdf_from_objects(objects)


def make_wordy_docx(megabytes: int) -> bytes:
    """A small DOCX whose document.xml unpacks to `megabytes` MiB of two-letter paragraphs."""
    import zipfile

    paragraph = b"<w:p><w:r><w:t>ab</w:t></w:r></w:p>"
    body = paragraph * (megabytes * 2**20 // len(paragraph))
    source = zipfile.ZipFile(io.BytesIO(make_docx(["Ada Lovelace"])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                start = data.index(b"<w:body>") + len(b"<w:body>")
                data = data[:start] + body + data[start:]
            target.writestr(info.filename, data)
    return out.getvalue()


def pdf_from_objects(
    objects: dict[int, bytes], *, lying_xref: bool = False, xref: bool = True
) -> bytes:
    """A PDF file of numbered objects (1 the catalog); its cross-reference table true,
    lying (offsets shifted) or missing, as hostile files have them."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in sorted(objects.items()):
        offsets[number] = out.tell() + (13 if lying_xref else 0)
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    start = out.tell()
    if xref:
        size = max(objects) + 1
        out.write(f"xref\n0 {size}\n0000000000 65535 f \n".encode())
        for number in range(1, size):
            out.write(f"{offsets.get(number, 0):010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {max(objects) + 1} /Root 1 0 R >>\n".encode())
    out.write(f"startxref\n{start}\n%%EOF\n".encode())
    return out.getvalue()


def make_flate_bomb_pdf(gib: int = 1) -> bytes:
    """A one-page PDF whose content stream is ~1 MB of Flate that unpacks to `gib` GiB."""
    packer = zlib.compressobj(9)
    stream = b"".join(packer.compress(b"\0" * 2**24) for _ in range(64 * gib)) + packer.flush()
    head = f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode()
    return pdf_from_objects(
        {
            1: b"<< /Type /Catalog /Pages 2 0 R >>",
            2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            4: head + stream + b"\nendstream",
        }
    )
