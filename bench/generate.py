"""Realistic, reproducible job-application emails for benchmarks.

Benchmarks need thousands of applications that look like the mail the mailboxes receive
(cover letters, PDF and DOCX resumes with GitHub links, follow-ups, the odd hostile message)
and are the same for a seed, so that runs compare. Rendering documents is the slow part, so a
small pool of resumes is made once per seed and reused, personalised per message, while the
mail around them varies: 10,000 messages take seconds rather than minutes.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import functools
import html
import io
import itertools
import random
import re
import struct
import textwrap
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape as xml_escape

from intake.mail.policies import SMTP

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas

PDF_POOL, DOCX_POOL = 40, 15
FONTS = {  # style: font, size, indent
    "name": ("Helvetica-Bold", 18, 0),
    "heading": ("Helvetica-Bold", 11, 0),
    "bold": ("Helvetica-Bold", 10, 0),
    "bullet": ("Helvetica", 10, 10),
}
PAGE_ROWS, WRAP = 46, 95  # rows of 14 pt on a letter page; characters of 10 pt in a row
ZIP_LOCAL, ZIP_END = struct.Struct("<IHHHHHIIIHH"), struct.Struct("<IHHHHIIH")
ZIP_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHI")  # then the local header's offset
END = datetime(2026, 12, 1, tzinfo=UTC)
SPAN = timedelta(days=61)  # the two months before END
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Of the well-formed messages: 75 : 12 : 8 with a PDF, a DOCX, no attachment (a follow-up, a
# resume pasted into the body, or none at all).
KINDS = ("pdf", "docx", "follow_up", "pasted", "missing")
KIND_WEIGHTS = (75, 12, 3.2, 3.2, 1.6)
HOSTILE_KINDS = (
    "truncated_pdf",
    "pdf_named_docx",
    "broken_base64",
    "unknown_charset",
    "raw_8bit_header",
    "html_spam",
)

# Fixed-width placeholders: a PDF keeps its byte offsets (xref) when one is replaced by a
# value padded with spaces to the same length, so personalising a resume costs a replace.
NAME = "@@NAME" + "@" * 42
MAIL = "@@MAIL" + "@" * 58
LOGIN = "@@LOGIN" + "@" * 32  # GitHub logins are at most 39 characters
PROFILE = "https://github.com/" + LOGIN
GITHUB_URL = re.compile(r"(?:https://)?github\.com/[\w/-]*\w")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split(" | "))


FIRST = _words(
    "Aarav Abigail Adebayo Aiko Alejandro Alex Amara Amelia Ananya Andrei Aryan Ava Bao "
    "Beatriz Benjamin Camila Carlos Chen Chiara Chloe Daniel David Diego Dmitri Elena Eli "
    "Emeka Emily Emma Ethan Fatima Felipe Gabriel Grace Hana Hannah Hiroshi Ibrahim Ines "
    "Isabel Ivan Jack Jamal James Javier Ji-woo Joao Jordan José Julia Kai Karim Kenji Kofi "
    "Lars Laura Leila Leo Liam Lucas Lucía Maya Mei Mateo Michael Mohammed Nadia Naomi Nikhil "
    "Noah Nour Oliver Olivia Omar Pablo Priya Rafael Rahul Rania Ravi Rohan Sakura Samuel "
    "Sara Sebastian Sofia Søren Tariq Thomas Tomás Valentina Victor Wei William Yara Yusuf "
    "Zainab Zoë"
)
LAST = _words(
    "Abbasi Adeyemi Agarwal Alvarez Andersen Bauer Becker Bianchi Brown Castillo Chen "
    "Chowdhury Clarke Costa Cruz Dang Davies Delgado Dubois Eriksson Evans Fernandes Fischer "
    "Garcia Gonzalez Gupta Haddad Hansen Hernandez Hoang Horvath Hughes Ibrahim Ito Ivanova "
    "Jensen Johnson Kapoor Kato Kaur Kim Kowalski Kumar Larsen Lee Lewis Lopez Martin "
    "Martinez Mehta Mendoza Meyer Miller Moreau Morgan Moreno Müller Murphy Nakamura Nguyen "
    "Nielsen Novak Nowak Okafor Okonkwo Olsen Ortiz Osei Park Patel Pereira Petrov Popescu "
    "Quinn Ramirez Rao Reyes Richter Rivera Rossi Russo Saito Sanchez Santos Schmidt Schulz "
    "Shah Silva Singh Smith Sokolova Suzuki Tanaka Taylor Thompson Torres Tran Vargas Walker "
    "Wang Weber Williams Wilson Wong Wu Yamamoto Yang Yilmaz Zhang Zhao"
)
WEBMAIL = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "proton.me")
TIMEZONES = tuple(
    timezone(timedelta(minutes=m))
    for m in (-480, -420, -360, -300, -240, 0, 60, 120, 330, 480, 540)
)

US_UNIVERSITIES = _split(
    "Stanford University | Carnegie Mellon University | Massachusetts Institute of Technology | "
    "University of Washington | Georgia Institute of Technology | "
    "The University of Texas at Austin | University of California, Berkeley | Cornell University | "
    "Columbia University | New York University | Johns Hopkins University | Purdue University | "
    "University of California, San Diego | Princeton University | Brown University | "
    "University of Pennsylvania | Rice University | Arizona State University | "
    "University of Maryland, College Park | Boston University | Northeastern University | "
    "University of Southern California | Duke University | University of Minnesota | "
    "University of California, Los Angeles | Rutgers University | "
    "California Institute of Technology"
)
OTHER_UNIVERSITIES = _split(
    "University of Toronto | McGill University | University of Waterloo | ETH Zurich | "
    "University of Cambridge | Technical University of Munich | Tsinghua University | "
    "Indian Institute of Technology Bombay | National University of Singapore | "
    "Universidad Nacional Autónoma de México"
)
CITIES = _split(
    "San Jose, CA | Berkeley, CA | Seattle, WA | Pittsburgh, PA | Cambridge, MA | Austin, TX | "
    "New York, NY | Atlanta, GA | Chicago, IL | Toronto, ON"
)

AREAS = ("machine learning", "neuroscience", "software engineering", "data science")
FIELDS = {
    "machine learning": ("Computer Science", "Electrical Engineering", "Statistics"),
    "neuroscience": ("Neuroscience", "Computational Neuroscience", "Cognitive Science"),
    "software engineering": ("Computer Science", "Software Engineering", "Computer Engineering"),
    "data science": ("Data Science", "Statistics", "Applied Mathematics"),
}
COURSES = {
    "machine learning": _split(
        "Machine Learning | Deep Learning | Probabilistic Graphical Models | Linear Algebra | "
        "Convex Optimization | Reinforcement Learning | Computer Vision | Algorithms"
    ),
    "neuroscience": _split(
        "Computational Neuroscience | Systems Neuroscience | Neural Data Analysis | "
        "Cellular Neurophysiology | Machine Learning | Dynamical Systems | Statistics"
    ),
    "software engineering": _split(
        "Data Structures | Algorithms | Operating Systems | Distributed Systems | Databases | "
        "Computer Networks | Compilers | Software Engineering"
    ),
    "data science": _split(
        "Statistical Inference | Machine Learning | Data Visualization | Databases | "
        "Time Series Analysis | Bayesian Statistics | Algorithms | Linear Algebra"
    ),
}
TOPICS = {
    "machine learning": _split(
        "sparse representations | continual learning without catastrophic forgetting | "
        "sequence learning | anomaly detection in streaming data | few-shot learning"
    ),
    "neuroscience": _split(
        "dendritic computation in pyramidal neurons | grid cells and sensorimotor learning | "
        "cortical columns | sparse coding in cortex | predictive processing in the neocortex"
    ),
    "software engineering": _split(
        "distributed systems | streaming analytics pipelines | web development | "
        "developer tooling | high-performance C++"
    ),
    "data science": _split(
        "time series forecasting | causal inference | anomaly detection on sensor data | "
        "experiment design | large-scale data pipelines"
    ),
}
SKILLS = {
    "machine learning": "Python, PyTorch, JAX, NumPy, scikit-learn, C++, CUDA, Git",
    "neuroscience": "Python, MATLAB, NEURON, Brian2, NumPy, PyTorch, R, Git",
    "software engineering": "Python, Go, Java, C++, TypeScript, React, PostgreSQL, Docker, Git",
    "data science": "Python, pandas, SQL, R, Spark, scikit-learn, Tableau, Git",
}
COMPANIES = _split(
    "Google | Microsoft | Amazon | Meta | NVIDIA | Intel | IBM Research | Salesforce | Uber | "
    "Airbnb | Stripe | Databricks | a logistics startup | Allen Institute | "
    "the university's AI lab | a hospital research group | Bosch Center for AI"
)
TITLES = _split(
    "Software Engineering Intern | Machine Learning Intern | Research Assistant | "
    "Data Science Intern | Teaching Assistant | Undergraduate Researcher | Research Intern"
)
BULLETS = (
    "Built a streaming anomaly detection service in Python processing 40k events per second",
    "Implemented a sparse distributed representation encoder and benchmarked it against "
    "dense embeddings on three public datasets",
    "Reduced model training time by 35% by rewriting the data loader and profiling GPU use",
    "Designed and ran experiments on continual learning, reported in a lab-wide seminar",
    "Wrote a C++ extension for a spiking network simulator, adding dendritic segments",
    "Analysed two-photon calcium imaging recordings from mouse visual cortex",
    "Maintained CI for an open-source library with 2,000 stars on GitHub",
    "Developed REST APIs and a React dashboard used by 200 internal users",
    "Cleaned and joined 12 TB of sensor data with Spark; built forecasting models",
    "Mentored four undergraduate students and graded assignments for 120 students",
    "Ported a temporal memory algorithm from Python to C++, 8x faster",
    "Wrote unit and property-based tests that found six concurrency bugs",
)
PROJECTS = (
    "Grid-cell path integration model in PyTorch, with a write-up and notebooks",
    "A small HTM-style sequence memory in Rust, tested on the Numenta Anomaly Benchmark",
    "Real-time bus delay predictor: a web app with a Go backend and a Postgres database",
    "Sparse convolutional networks robust to noise: replication study",
    "A compiler for a toy functional language, with a type checker and a bytecode VM",
    "Open-source contributions to scikit-learn and NumPy (documentation and bug fixes)",
)
AWARDS = (
    "Dean's List (six semesters)",
    "Best Poster Award, regional neuroscience symposium",
    "Finalist, university hackathon",
    "Undergraduate research fellowship",
    "NSF Graduate Research Fellowship honorable mention",
)

# The postings of rules/*.toml, with the mailbox address and wording their rules match
# (subject phrases in [match].subject, body phrases in [match].body).
POSTINGS = (
    {
        "id": "numenta-research-internship",
        "to": "interns@numenta.com",
        "role": "Research Internship",
        "intern": True,
        "weight": 0.34,
        "areas": ("machine learning", "neuroscience"),
        "subjects": (
            "Research Internship application - {period}",
            "Application for the Research Internship",
            "Research Intern application: {name}",
            "Research Internship ({period})",
        ),
    },
    {
        "id": "numenta-internship-program",
        "to": "interns@numenta.com",
        "role": "Software Engineering internship",
        "intern": True,
        "weight": 0.22,
        "areas": ("software engineering", "data science"),
        "subjects": (
            "Internship Program application - Software Engineering",
            "Software Engineering Intern - {period}",
            "SWE internship application ({name})",
            "Algorithms internship - {name}",
        ),
    },
    {
        "id": "numenta-ml-engineer",
        "to": "careers@numenta.com",
        "role": "Machine Learning Engineer / Scientist position",
        "intern": False,
        "weight": 0.34,
        "areas": ("machine learning", "data science", "neuroscience"),
        "subjects": (
            "Application: Machine Learning Engineer",
            "Machine Learning Scientist application - {name}",
            "ML Engineer position",
            "Application for Machine Learning Engineer / Scientist",
        ),
    },
    {
        "id": "generic-ml-engineer",
        "to": "ml-jobs@numenta.com",
        "role": "Machine Learning Engineer role",
        "intern": False,
        "weight": 0.10,
        "areas": ("machine learning", "data science"),
        "subjects": (
            "Machine Learning Engineer application",
            "Application - Machine Learning Engineer - {name}",
        ),
    },
)
PERIODS = (  # (as the letter says it, as a subject line says it)
    ("from June 2027 to August 2027", "Summer 2027"),
    ("for Summer 2027, 12 weeks", "Summer 2027"),
    ("for Summer 2027 (12 weeks, starting in June)", "Summer 2027"),
    ("from May 2027 through August 2027", "May-August 2027"),
    ("from January 2027 to March 2027", "January-March 2027"),
    ("for Spring 2027", "Spring 2027"),
    ("for Fall 2027, about 4 months", "Fall 2027"),
    ("for Winter 2026/2027 (December to February)", "Winter 2026/2027"),
)
GREETINGS = (
    "Dear Hiring Manager,",
    "Dear Numenta team,",
    "Hello,",
    "Dear Numenta Recruiting Team,",
    "To whom it may concern,",
    "Hi there,",
)
GITHUB_SENTENCES = (
    "My code is on GitHub ({}).",
    "You can find my projects at {}.",
    "My GitHub: {} - the pinned repositories are the most recent.",
    "Some of my work is at {} if you would like to take a look.",
)
CLOSINGS = (
    "Thank you for your time and consideration.",
    "I look forward to hearing from you.",
    "Thanks for considering my application.",
)
ELIGIBILITY = (  # (weight, sentence); {university} is the applicant's
    (30, "I am a US citizen."),
    (8, "I am a permanent resident of the United States (green card holder)."),
    (22, "I am currently enrolled at {university}."),
    (5, "I am a Canadian citizen."),
    (15, "I am an international student and I will need visa sponsorship."),
    (20, ""),
)


@dataclass(frozen=True)
class Resume:
    """One pooled resume: its text lines (with placeholders) and what a letter may say."""

    area: str
    level: str  # "B.S." | "M.S." | "Ph.D."
    field: str
    university: str
    us: bool
    courses: tuple[str, ...]
    company: str
    lines: tuple[tuple[str, str], ...]  # (style, text)
    link: bool  # "GitHub" is a link annotation / hyperlink to PROFILE


Members = tuple[tuple[str, bytes, bytes | None, int], ...]  # DOCX zip: name, raw, packed, crc


@dataclass(frozen=True)
class Document:
    resume: Resume
    data: bytes = b""  # a PDF
    members: Members = ()  # a DOCX; packed is None for members holding placeholders


@dataclass(frozen=True)
class Pool:
    pdfs: tuple[Document, ...]
    docxs: tuple[Document, ...]


@dataclass(frozen=True)
class Person:
    first: str
    name: str
    address: str
    login: str
    phone: str
    tz: timezone


@dataclass(frozen=True)
class Sent:
    """An application already generated, for a later follow-up to answer."""

    person: Person
    posting: dict
    subject: str
    message_id: str
    date: datetime
    body: str


@dataclass(frozen=True)
class Context:
    """What one message is built from."""

    index: int
    pool: Pool
    person: Person
    posting: dict
    when: datetime
    message_id: str


@dataclass(frozen=True)
class Generated:
    kind: str
    data: bytes


# -- resumes -------------------------------------------------------------------------------


def _resume(rng: random.Random, pages: int) -> Resume:
    area = rng.choice(AREAS)
    level = rng.choices(("B.S.", "M.S.", "Ph.D."), (5, 3, 3))[0]
    field = rng.choice(FIELDS[area])
    us = rng.random() < 0.75
    university = rng.choice(US_UNIVERSITIES if us else OTHER_UNIVERSITIES)
    courses = tuple(rng.sample(COURSES[area], 5))
    link = rng.random() < 0.85
    contact = f"{rng.choice(CITIES)}  |  (408) 555-01{rng.randrange(100):02d}"
    lines: list[tuple[str, str]] = [
        ("name", NAME),
        ("contact", contact + ("  |  GitHub" if link else "")),
        ("text", MAIL),
    ]
    if link and rng.random() < 0.3:
        lines.append(("text", "github.com/" + LOGIN))
    lines += [
        ("heading", "EDUCATION"),
        ("bold", university),
        (
            "text",
            f"{level} in {field}, expected May {rng.choice((2027, 2028))}  |  "
            f"GPA 3.{rng.randrange(4, 10)}/4.0",
        ),
        ("text", "Relevant coursework: " + ", ".join(courses)),
        ("heading", "EXPERIENCE"),
    ]
    companies = rng.sample(COMPANIES, min(len(COMPANIES), 1 + pages + rng.randrange(2)))
    for n, company in enumerate(companies):
        year = 2026 - n
        lines.append(("bold", f"{rng.choice(TITLES)}, {company}"))
        lines.append(("text", f"June {year} - {'present' if n == 0 else f'August {year}'}"))
        lines += [("bullet", b) for b in rng.sample(BULLETS, rng.randrange(2, 5))]
    lines.append(("heading", "PROJECTS"))
    lines += [("bullet", p) for p in rng.sample(PROJECTS, min(len(PROJECTS), pages + 1))]
    if level == "Ph.D." or pages > 1:
        lines.append(("heading", "PUBLICATIONS"))
        for n in range(2 * pages):
            kind = rng.choice(("a computational model", "an empirical study", "a benchmark"))
            venue = rng.choice(("NeurIPS", "ICML", "Cosyne", "SfN", "ICLR", "bioRxiv"))
            coauthors = ", ".join(f"{rng.choice(FIRST)[0]}. {rng.choice(LAST)}" for _ in "ab")
            title = f"{rng.choice(TOPICS[area]).capitalize()}: {kind}"
            lines.append(("bullet", f"{title}. With {coauthors}. {venue} {2026 - n // 2}."))
    if _rows(lines) < PAGE_ROWS * (pages - 1) + 6:
        lines.append(("heading", "SELECTED PROJECTS AND ACTIVITIES"))
        filler = itertools.cycle(rng.sample((*BULLETS, *PROJECTS), len(BULLETS) + len(PROJECTS)))
        while _rows(lines) < PAGE_ROWS * (pages - 1) + 6:
            lines.append(("bullet", next(filler)))
    lines.append(("heading", "AWARDS"))
    lines += [("bullet", a) for a in rng.sample(AWARDS, 2)]
    lines += [("heading", "SKILLS"), ("text", "Languages and tools: " + SKILLS[area])]
    return Resume(area, level, field, university, us, courses, companies[0], tuple(lines), link)


def _rows(lines: list[tuple[str, str]]) -> int:
    """About how many rows of a page the lines take (see _pdf)."""
    return sum(
        len(textwrap.wrap(t, WRAP)) if s in ("bullet", "text") else 2 if s == "heading" else 1
        for s, t in lines
    )


def _pdf(resume: Resume) -> bytes:
    """The resume with reportlab, uncompressed so that _personal_pdf can find placeholders."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=letter, invariant=1, pageCompression=0)
    pdf.setTitle("Resume")
    y = 720.0
    for style, text in resume.lines:
        font, size, indent = FONTS.get(style, ("Helvetica", 10, 0))
        y -= 8 if style == "heading" else 0
        wrapped = textwrap.wrap(text, WRAP) if style in ("bullet", "text") else [text]
        for n, piece in enumerate(wrapped):
            if y < 72:
                pdf.showPage()
                y = 720.0
            pdf.setFont(font, size)
            bullet = ("\u2022 " if n == 0 else "  ") if style == "bullet" else ""
            pdf.drawString(72 + indent, y, bullet + piece)
            if style == "contact" and resume.link:
                _link_last_word(pdf, piece, y, font, size)
            y -= size + 4 if style == "name" else 14
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _link_last_word(pdf: Canvas, line: str, y: float, font: str, size: int) -> None:
    """A link annotation to PROFILE over the last word of a line drawn at x = 72 ("GitHub")."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    head, word = line.rsplit(" ", 1)
    x = 72 + stringWidth(head + " ", font, size)
    box = (x - 1, y - 3, x + stringWidth(word, font, size) + 1, y + size)
    pdf.linkURL(PROFILE, box, relative=0)


def _pdf_string(text: str) -> bytes:
    """`text` as reportlab writes it inside a PDF string: WinAnsi, octal escapes."""
    out = bytearray()
    for byte in text.encode("cp1252", errors="replace"):
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif 32 <= byte < 127:
            out.append(byte)
        else:
            out += b"\\%03o" % byte
    return bytes(out)


def _personal_pdf(data: bytes, person: Person) -> bytes:
    """The pooled PDF with the person's name, address and GitHub login, same length."""
    uri = f"({PROFILE})".encode()
    new_uri = f"(https://github.com/{person.login})".encode()
    data = data.replace(uri, new_uri + b" " * (len(uri) - len(new_uri)))
    for placeholder, value in ((NAME, person.name), (MAIL, person.address), (LOGIN, person.login)):
        raw = _pdf_string(value)[: len(placeholder)]
        data = data.replace(placeholder.encode(), raw + b" " * (len(placeholder) - len(raw)))
    return data


def _docx(resume: Resume) -> Members:
    """A DOCX of the resume, as zip members; those with placeholders are left unpacked."""
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    for style, text in resume.lines:
        if style == "name":
            document.add_heading(text, level=0)
        elif style == "heading":
            document.add_heading(text.title(), level=1)
        elif style == "bullet":
            document.add_paragraph(text, style="List Bullet")
        elif style == "bold":
            document.add_paragraph().add_run(text).bold = True
        elif style == "contact" and resume.link:
            paragraph = document.add_paragraph(text[: -len("GitHub")])
            rel = document.part.relate_to(PROFILE, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
            hyperlink = OxmlElement("w:hyperlink")
            hyperlink.set(qn("r:id"), rel)
            run, word = OxmlElement("w:r"), OxmlElement("w:t")
            word.text = "GitHub"
            run.append(word)
            hyperlink.append(run)
            paragraph._p.append(hyperlink)
        else:
            document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    members = []
    with zipfile.ZipFile(out) as archive:
        for info in archive.infolist():
            raw = archive.read(info)
            personal = b"@@" in raw
            members.append(
                (info.filename, raw, None if personal else _deflate(raw), zlib.crc32(raw))
            )
    return tuple(members)


def _deflate(raw: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(raw) + packer.flush()


def _personal_docx(members: Members, person: Person) -> bytes:
    """A zip written by hand, so only the members holding placeholders are compressed again."""
    values = {
        NAME: xml_escape(person.name),
        MAIL: xml_escape(person.address),
        LOGIN: person.login,
    }
    out, central = io.BytesIO(), io.BytesIO()
    stamp = (0, (2026 - 1980) << 9 | 1 << 5 | 1)  # 00:00, 2026-01-01
    for name, raw, packed, crc in members:
        if packed is None:
            text = raw.decode()
            for placeholder, value in values.items():
                text = text.replace(placeholder, value)
            raw = text.encode()
            packed, crc = _deflate(raw), zlib.crc32(raw)
        encoded = name.encode()
        sizes = (crc, len(packed), len(raw), len(encoded))
        central.write(ZIP_CENTRAL.pack(0x02014B50, 20, 20, 0, 8, *stamp, *sizes, *(0,) * 5))
        central.write(struct.pack("<I", out.tell()) + encoded)
        out.write(ZIP_LOCAL.pack(0x04034B50, 20, 0, 8, *stamp, *sizes, 0) + encoded + packed)
    offset, directory, n = out.tell(), central.getvalue(), len(members)
    out.write(directory + ZIP_END.pack(0x06054B50, 0, 0, n, n, len(directory), offset, 0))
    return out.getvalue()


@functools.lru_cache(maxsize=4)
def _pool(seed: int) -> Pool:
    rng = random.Random(f"pool-{seed}")
    pdfs = []
    for _ in range(PDF_POOL):
        resume = _resume(rng, rng.choices((1, 2, 3), (5, 4, 1))[0])
        pdfs.append(Document(resume, _pdf(resume)))
    docxs = []
    for _ in range(DOCX_POOL):
        resume = _resume(rng, rng.choices((1, 2), (3, 1))[0])
        docxs.append(Document(resume, members=_docx(resume)))
    return Pool(tuple(pdfs), tuple(docxs))


# -- people and letters --------------------------------------------------------------------


def _ascii(text: str) -> str:
    text = text.replace("ø", "o").replace("Ø", "O")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def _person(rng: random.Random, index: int, seed: int) -> Person:
    # Every (first, last) pair once per cycle; later cycles add a middle initial.
    cycle, slot = divmod(index, len(FIRST) * len(LAST))
    slot = (slot * 7919 + seed * 104729) % (len(FIRST) * len(LAST))  # a fixed shuffle
    first, last = FIRST[slot % len(FIRST)], LAST[slot // len(FIRST)]
    middle = f" {chr(65 + (cycle - 1) % 26)}." if cycle else ""
    name = f"{first}{middle} {last}"
    a, b = _ascii(first), _ascii(last)
    login = rng.choice((f"{a}{b}", f"{a}-{b}", f"{a[0]}{b}", f"{b}{a[:3]}", f"{a}-codes"))
    return Person(
        first=first,
        name=name,
        address=f"{a}.{b}+{index}@{rng.choice(WEBMAIL)}",
        login=f"{login}{index}",
        phone=f"({rng.choice((408, 415, 617, 206, 512, 412))}) 555-01{rng.randrange(100):02d}",
        tz=rng.choice(TIMEZONES),
    )


def _github(rng: random.Random, person: Person) -> str:
    base = f"github.com/{person.login}"
    return rng.choices(
        (f"https://{base}", base, f"https://{base}/{rng.choice(('htm-notes', 'thesis', 'sdr'))}"),
        (70, 15, 15),
    )[0]


def _eligibility(rng: random.Random, resume: Resume) -> str:
    weights = [w for w, _ in ELIGIBILITY]
    sentence = rng.choices([s for _, s in ELIGIBILITY], weights)[0]
    if "{university}" in sentence and not resume.us:
        sentence = "I will need visa sponsorship to work in the United States."
    return sentence.format(university=resume.university)


def _letter(
    rng: random.Random, person: Person, posting: dict, resume: Resume, period: str, attached: str
) -> list[str]:
    """A cover letter as paragraphs (each a string; a signature keeps its line breaks)."""
    area = resume.area if resume.area in posting["areas"] else rng.choice(posting["areas"])
    year = rng.choice(("second-year", "third-year", "final-year", "first-year"))
    role = posting["role"]
    paragraphs = [rng.choice(GREETINGS)]
    if posting["intern"]:
        if posting["id"] == "numenta-internship-program" and rng.random() < 0.3:
            role = "Algorithms internship"
        paragraphs.append(
            f"My name is {person.name} and I am a {year} {resume.level} student in "
            f"{resume.field} at {resume.university}. I am writing to apply for the {role} at "
            f"Numenta {period}."
        )
    else:
        paragraphs.append(
            f"I am writing to apply for the {role} at Numenta. I am completing my "
            f"{resume.level} in {resume.field} at {resume.university} and could start in "
            f"{rng.choice(('January', 'February', 'March'))} 2027."
        )
    topic, done = rng.choice(TOPICS[area]), rng.choice(BULLETS)
    paragraphs.append(
        f"My main interest is {area}, in particular {topic}. At {resume.company} I "
        f"{done[0].lower()}{done[1:]}, and I have followed Numenta's work on the neocortex "
        "and sparse representations for years."
    )
    extra = []
    if rng.random() < 0.5:
        extra.append("Relevant coursework includes " + ", ".join(resume.courses[:3]) + ".")
    if eligibility := _eligibility(rng, resume):
        extra.append(eligibility)
    if rng.random() < 0.7:
        extra.append(rng.choice(GITHUB_SENTENCES).format(_github(rng, person)))
    extra.append(attached)
    paragraphs += [" ".join(extra), rng.choice(CLOSINGS)]
    sign = rng.choice(("Best regards", "Sincerely", "Best", "Thanks", "Kind regards"))
    paragraphs.append(
        f"{sign},\n{person.name}" + rng.choice(("", f"\n{person.phone}", f"\n{resume.university}"))
    )
    return paragraphs


def _plain(paragraphs: list[str], wrap: bool) -> str:
    if wrap:
        paragraphs = ["\n".join(textwrap.wrap(p, 76)) if "\n" not in p else p for p in paragraphs]
    return "\n\n".join(paragraphs) + "\n"


def _html(paragraphs: list[str], outlook: bool) -> str:
    def link(match: re.Match[str]) -> str:
        url = match.group(0)
        return f'<a href="{url if url.startswith("https") else "https://" + url}">{url}</a>'

    def inline(text: str) -> str:
        return GITHUB_URL.sub(link, html.escape(text)).replace("\n", "<br>")

    if outlook:
        body = "".join(f'<p class="MsoNormal">{inline(p)}<o:p></o:p></p>\n' for p in paragraphs)
        return (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            f'</head><body lang="EN-US"><div class="WordSection1">\n{body}</div></body></html>\n'
        )
    body = "<div><br></div>".join(f"<div>{inline(p)}</div>" for p in paragraphs)
    return f'<div dir="ltr">{body}</div>\n'


def _pasted(resume: Resume, person: Person) -> str:
    lines = ["", "----- RESUME -----", ""]
    for style, text in resume.lines:
        text = text.replace(NAME, person.name).replace(MAIL, person.address)
        text = text.replace(LOGIN, person.login)
        lines.append(
            f"- {text}" if style == "bullet" else text.upper() if style == "heading" else text
        )
    return "\n".join(lines) + "\n"


# -- messages ------------------------------------------------------------------------------


def _message_id(rng: random.Random, seed: int, index: int, address: str) -> str:
    domain = address.rsplit("@", 1)[1]
    host = {
        "gmail.com": "mail.gmail.com",
        "outlook.com": "BY5PR08MB.namprd08.prod.outlook.com",
        "hotmail.com": "DM6PR11MB.namprd11.prod.outlook.com",
    }.get(domain, domain)
    return f"<{rng.getrandbits(64):016x}.{seed}.{index}@{host}>"


def _headers(
    msg: EmailMessage, rng: random.Random, person: Person, to: str, when: datetime
) -> None:
    local = when.astimezone(person.tz)
    msg["Received"] = (
        f"from mail-{rng.randrange(1, 250)}.example.net ([203.0.113.{rng.randrange(1, 255)}]) "
        f"by mx.numenta.com with ESMTPS id {rng.getrandbits(40):010x} for <{to}>; "
        + format_datetime(when)
    )
    msg["From"] = formataddr((person.name, person.address))
    msg["To"] = rng.choice((to, f'"{to}" <{to}>', f"Numenta Careers <{to}>"))
    msg["Date"] = format_datetime(local)
    if rng.random() < 0.3:
        msg["X-Mailer"] = rng.choice(("Microsoft Outlook 16.0", "Apple Mail (2.3774.500.171)"))


def _boundary(rng: random.Random) -> str:
    """A MIME boundary from our generator (the library's are drawn from the global random)."""
    return f"{rng.getrandbits(96):024x}"


def _application(rng: random.Random, ctx: Context, kind: str) -> tuple[bytes, Sent]:
    person, when, posting = ctx.person, ctx.when, ctx.posting
    doc = rng.choice(ctx.pool.docxs if kind == "docx" else ctx.pool.pdfs)
    resume = doc.resume
    if kind == "pdf":
        attached = rng.choice(
            ("I have attached my resume.", "Please find my CV attached.", "My resume is attached.")
        )
    elif kind == "docx":
        attached = "My resume is attached as a Word document."
    elif kind == "pasted":
        attached = "I have pasted my resume below."
    else:
        attached = "I will send my resume in a separate email."
    period, label = rng.choice(PERIODS)
    paragraphs = _letter(rng, person, posting, resume, period, attached)
    text = _plain(paragraphs, wrap=rng.random() < 0.4)
    if kind == "pasted":
        text += _pasted(resume, person)
    subject = rng.choice(posting["subjects"]).format(name=person.name, period=label)
    msg = EmailMessage(policy=SMTP)
    _headers(msg, rng, person, posting["to"], when)
    msg["Subject"] = subject
    msg["Message-ID"] = ctx.message_id
    msg.set_content(text)
    if rng.random() < 0.3:
        msg.make_alternative(boundary=_boundary(rng))
        msg.add_alternative(_html(paragraphs, outlook=rng.random() < 0.4), subtype="html")
    stem = rng.choice(
        (
            f"{person.name.replace(' ', '_')}_Resume",
            "Resume",
            "CV",
            f"{person.name.split()[-1]}_CV_2026",
        )
    )
    if kind in ("pdf", "docx"):
        msg.make_mixed(boundary=_boundary(rng))
    if kind == "pdf":
        msg.add_attachment(
            _personal_pdf(doc.data, person), "application", "pdf", filename=f"{stem}.pdf"
        )
    elif kind == "docx":
        msg.add_attachment(
            _personal_docx(doc.members, person), *DOCX_TYPE.split("/"), filename=f"{stem}.docx"
        )
    sent = Sent(person, posting, subject, ctx.message_id, when, text)
    return msg.as_bytes(), sent


def _follow_up(rng: random.Random, ctx: Context, earlier: Sent) -> bytes:
    person = earlier.person
    local = earlier.date.astimezone(person.tz)
    quoted = "\n".join("> " + line if line else ">" for line in earlier.body.splitlines()[:12])
    text = (
        f"Hi,\n\nI wanted to follow up on my application for the {earlier.posting['role']}, "
        f"sent on {local:%B} {local.day}. I am still very interested and happy to send any "
        f"further material.\n\nBest,\n{person.first}\n\n"
        f"On {local:%a, %b} {local.day}, {local:%Y at %H:%M}, {person.name} <{person.address}> "
        f"wrote:\n{quoted}\n"
    )
    msg = EmailMessage(policy=SMTP)
    _headers(msg, rng, person, earlier.posting["to"], ctx.when)
    msg["Subject"] = "Re: " + earlier.subject
    msg["Message-ID"] = ctx.message_id
    msg["In-Reply-To"] = earlier.message_id
    msg["References"] = earlier.message_id
    msg.set_content(text)
    return msg.as_bytes()


# -- hostile messages (bytes by hand) ------------------------------------------------------


def _raw(headers: list[tuple[str, str | bytes]], body: bytes) -> bytes:
    lines = [
        name.encode() + b": " + (v if isinstance(v, bytes) else v.encode()) for name, v in headers
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).rstrip(b"\n")


def _mixed(boundary: str, letter: str, name: str, ctype: str, payload: bytes) -> bytes:
    return (
        (
            f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n\n{letter}\n--{boundary}\n"
            f'Content-Type: {ctype}; name="{name}"\nContent-Transfer-Encoding: base64\n'
            f'Content-Disposition: attachment; filename="{name}"\n\n'
        ).encode()
        + payload
        + f"\n--{boundary}--\n".encode()
    )


def _hostile(rng: random.Random, ctx: Context, kind: str) -> bytes:
    person, posting, when = ctx.person, ctx.posting, ctx.when
    pdf = _personal_pdf(rng.choice(ctx.pool.pdfs).data, person)
    letter = (
        f"Dear Numenta team,\n\nI would like to apply for the {posting['role']} "
        f"{rng.choice(PERIODS)[0]}. My resume is attached and my code is at "
        f"https://github.com/{person.login}.\n\nBest regards,\n{person.name}\n"
    )
    headers: list[tuple[str, str | bytes]] = [
        ("From", formataddr((person.name, person.address))),
        ("To", posting["to"]),
        ("Subject", f"Application: {posting['role']}"),
        ("Date", format_datetime(when.astimezone(person.tz))),
        ("Message-ID", ctx.message_id),
        ("MIME-Version", "1.0"),
    ]
    boundary = f"hostile{rng.getrandbits(64):016x}"
    multipart = ("Content-Type", f'multipart/mixed; boundary="{boundary}"')
    if kind == "truncated_pdf":
        body = _mixed(boundary, letter, "Resume.pdf", "application/pdf", _b64(pdf[: len(pdf) // 2]))
        return _raw([*headers, multipart], body)
    if kind == "pdf_named_docx":
        return _raw(
            [*headers, multipart], _mixed(boundary, letter, "Resume.docx", DOCX_TYPE, _b64(pdf))
        )
    if kind == "broken_base64":
        lines = _b64(pdf).split(b"\n")
        lines[len(lines) // 2] = b"JVBERi0x!!not*base64%%" + lines[len(lines) // 2][:33]
        body = b"\n".join(lines)[:-3]  # and no longer a multiple of four
        return _raw(
            [*headers, multipart], _mixed(boundary, letter, "Resume.pdf", "application/pdf", body)
        )
    if kind == "unknown_charset":
        headers[2] = ("Subject", "=?x-klingon-8?q?Bewerbung_Praktikum?= Research Internship")
        text = letter.replace("Dear", "Liebes").replace("Best regards", "Grüße aus München")
        return _raw(
            [
                *headers,
                ("Content-Type", 'text/plain; charset="x-klingon-8"'),
                ("Content-Transfer-Encoding", "8bit"),
            ],
            text.encode("latin-1", errors="replace"),
        )
    if kind == "raw_8bit_header":
        headers[0] = ("From", f"{person.name} <{person.address}>".encode())
        headers.append(("Organization", "Université de Montréal".encode()))
        headers[2] = ("Subject", f"Candidature – {posting['role']} été 2027 ✓".encode())
        return _raw(
            [*headers, multipart],
            _mixed(boundary, letter, "CV_été.pdf", "application/pdf", _b64(pdf)),
        )
    # html_spam
    domain = f"promo-rewards{rng.randrange(100)}.biz"
    headers[0] = ("From", f"Prize Center <winner{ctx.index}@{domain}>")
    headers[4] = ("Message-ID", ctx.message_id.split("@")[0] + f"@{domain}>")
    headers[2] = ("Subject", "Congratulations! You have won")
    headers[3] = ("Date", "Someday, 99 Foo 2026 25:61:00 +9999")
    page = (
        "<html><body><h1>Congratulations! You have won</h1><p>You have been selected to "
        f'receive a $1,000 gift card. <a href="http://promo-rewards.biz/claim?id={ctx.index}">'
        "Claim your prize now</a>.</p><p>To unsubscribe click here.</p></body></html>\n"
    )
    return _raw(
        [
            *headers,
            ("Precedence", "bulk"),
            ("List-Unsubscribe", "<mailto:unsub@promo-rewards.biz>"),
            ("Content-Type", "text/html; charset=utf-8"),
        ],
        page.encode(),
    )


# -- the stream ----------------------------------------------------------------------------


def _kind(rng: random.Random, index: int, hostile_every: int) -> str:
    """pdf, docx, follow_up, pasted, missing, or hostile-<one of HOSTILE_KINDS> in turn."""
    if hostile_every > 0 and (index + 1) % hostile_every == 0:
        turn = (index + 1) // hostile_every - 1
        return "hostile-" + HOSTILE_KINDS[turn % len(HOSTILE_KINDS)]
    return rng.choices(KINDS, KIND_WEIGHTS)[0]


def _earlier(
    rng: random.Random, sent: list[Sent], dates: list[datetime], when: datetime
) -> Sent | None:
    """An application sent at least three days before `when`, to follow up on."""
    last = bisect.bisect_right(dates, when - timedelta(days=3))
    return rng.choice(sent[max(0, last - 2000) : last]) if last else None


def _generate(count: int, seed: int, hostile_every: int) -> Iterator[Generated]:
    pool = _pool(seed)
    rng = random.Random(f"mail-{seed}")
    weights = [p["weight"] for p in POSTINGS]
    sent: list[Sent] = []
    dates: list[datetime] = []  # of `sent`, ascending
    for index in range(count):
        when = END - SPAN + SPAN * ((index + rng.random()) / count)
        kind = _kind(rng, index, hostile_every)
        earlier = _earlier(rng, sent, dates, when) if kind == "follow_up" else None
        if kind == "follow_up" and earlier is None:
            kind = "pasted"
        person = earlier.person if earlier else _person(rng, index, seed)
        posting = earlier.posting if earlier else rng.choices(POSTINGS, weights)[0]
        message_id = _message_id(rng, seed, index, person.address)
        ctx = Context(index, pool, person, posting, when, message_id)
        if earlier:
            yield Generated(kind, _follow_up(rng, ctx, earlier))
        elif kind.startswith("hostile-"):
            yield Generated(kind, _hostile(rng, ctx, kind.removeprefix("hostile-")))
        else:
            data, record = _application(rng, ctx, kind)
            sent.append(record)
            dates.append(when)
            yield Generated(kind, data)


def applications(count: int, seed: int = 0, hostile_every: int = 50) -> Iterator[bytes]:
    """`count` RFC 5322 messages (bytes, CRLF or LF fine), reproducible for a seed."""
    for generated in _generate(count, seed, hostile_every):
        yield generated.data


def main() -> None:
    """Write messages as .eml files, for eyeballing, and say how long it took:
    python bench/generate.py --count 10000 --seed 1 --out /tmp/mail"""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    for index, generated in enumerate(_generate(args.count, args.seed, 50)):
        (args.out / f"{index:05d}-{generated.kind}.eml").write_bytes(generated.data)
    elapsed = time.perf_counter() - began
    print(f"wrote {args.count} messages to {args.out} in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
