"""What each attachment is (resume, cover letter, transcript, recommendation, certificate),
from its name and its text, never from its position in the message.

Pure. Each role collects points from a table of cues (one row each: role, weight, where it
looks, pattern); a document takes the role with most points, if it has at least
`MIN_POINTS`. The resume is then the document with the most resume points. (When no
document looks like one, an application takes its first unclassified PDF or DOCX, a scan
named "scan.pdf" say: see `extract.assemble`.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from intake.extraction.text import SECTION_HEADING

RESUME, COVER_LETTER, TRANSCRIPT, RECOMMENDATION, CERTIFICATE, OTHER = (
    "resume",
    "cover_letter",
    "transcript",
    "recommendation",
    "certificate",
    "other",
)
ROLES = (RESUME, COVER_LETTER, TRANSCRIPT, RECOMMENDATION, CERTIFICATE)
MIN_POINTS = 3
DOCUMENT_FORMATS = ("pdf", "docx", "text", "html")


@dataclass(frozen=True)
class Cue:
    role: str
    points: int
    where: str  # name | text
    pattern: re.Pattern[str]


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.MULTILINE)


_GRADE_LINE = _re(r"^.*\b[A-Z]{2,5}\s?-?\d{3,4}[A-Z]?\b.*\s(?:[A-DF][+-]?|P|S|CR)\s*(?:\d|$)")
CUES: tuple[Cue, ...] = (
    Cue(RESUME, 5, "name", _re(r"resume|résumé|\bcv\b|cv[_\-. ]|^cv|curriculum|vitae|lebenslauf")),
    Cue(RESUME, 2, "text", _re(r"\b(?:19|20)\d\d\s*(?:-|–|—|to)\s*(?:present|current|now)\b")),
    Cue(RESUME, 1, "text", _re(r"\A(?:.*\n){0,6}.*\b[\w.+-]+@[\w-]+\.[\w.-]+")),
    Cue(COVER_LETTER, 5, "name", _re(r"cover|motivation|anschreiben|lettre")),
    Cue(COVER_LETTER, 2, "name", _re(r"letter")),
    Cue(COVER_LETTER, 2, "text", _re(r"^\s*(?:dear|to the hiring|hello|hi)\b")),
    Cue(COVER_LETTER, 2, "text", _re(r"\bI(?:'m| am) (?:writing|applying|excited|interested)")),
    Cue(COVER_LETTER, 1, "text", _re(r"^\s*(?:sincerely|best regards|kind regards|yours)\b")),
    Cue(TRANSCRIPT, 5, "name", _re(r"transcript|grades|marksheet|grade.?report|academic.?record")),
    Cue(TRANSCRIPT, 3, "text", _re(r"\b(?:unofficial |official |academic )?transcript\b")),
    Cue(
        TRANSCRIPT,
        3,
        "text",
        _re(
            r"\b(?:cumulative|term|semester|overall) gpa\b|credits? (?:attempted|earned)"
            r"|credit hours|grade points|quality points"
        ),
    ),
    Cue(RECOMMENDATION, 5, "name", _re(r"recommend|reference|\blor\b|empfehlung|zeugnis")),
    Cue(
        RECOMMENDATION,
        4,
        "text",
        _re(
            r"letter of recommendation|(?:highly|strongly|warmly|I) recommend|without reservation"
            r"|it is my pleasure to (?:recommend|write)"
        ),
    ),
    Cue(RECOMMENDATION, 2, "text", _re(r"to whom it may concern|\bI have known\b")),
    Cue(
        RECOMMENDATION,
        2,
        "text",
        _re(
            r"\bin my (?:class|course|lab|group)\b|as (?:his|her|their) (?:advisor|professor"
            r"|supervisor|instructor|manager)"
        ),
    ),
    Cue(CERTIFICATE, 5, "name", _re(r"certificate|certification|zertifikat")),
    Cue(
        CERTIFICATE,
        4,
        "text",
        _re(
            r"certificate of (?:completion|achievement|accomplishment)|this is to certify"
            r"|has successfully completed|certify that"
        ),
    ),
)


def points(filename: str | None, text: str) -> dict[str, int]:
    """Points for each role, from the cue table plus the shape of the text: section
    headings for a resume, rows of course codes and grades for a transcript."""
    found = {role: 0 for role in ROLES}
    for cue in CUES:
        subject = (filename or "") if cue.where == "name" else text
        if subject and cue.pattern.search(subject):
            found[cue.role] += cue.points
    headings = {m.group(0).strip().rstrip(":").lower() for m in SECTION_HEADING.finditer(text)}
    found[RESUME] += min(2 * len(headings), 6) if len(headings) >= 2 else len(headings)
    if len(_GRADE_LINE.findall(text)) >= 4:
        found[TRANSCRIPT] += 4
    return found


@dataclass(frozen=True)
class Candidate:
    """What the role decision needs to know of one attachment."""

    filename: str | None
    format: str  # as sniffed by documents.sniff
    text: str


def assign(documents: Sequence[Candidate]) -> list[str]:
    """The role of each attachment, in order; at most one cover letter. Several attachments
    may be resumes (Resume_v2.pdf, Resume_old.pdf): `pick` chooses one."""
    scored = [points(d.filename, d.text) for d in documents]
    roles = [
        _best(s) if d.format in DOCUMENT_FORMATS else OTHER
        for d, s in zip(documents, scored, strict=True)
    ]
    letters = [i for i, role in enumerate(roles) if role == COVER_LETTER]
    for extra in letters[1:]:
        roles[extra] = OTHER
    return roles


_OLD = re.compile(r"\b(?:old|older|previous|outdated|draft|backup)\b|[_ -](?:old|alt)\b", re.I)


def pick(documents: Sequence[tuple[str | None, bool]]) -> int | None:
    """Which of several resumes (file name, readable) is the resume: a readable one before
    an unreadable one, one not named old/previous/draft, else the last one."""
    if not documents:
        return None
    return max(
        range(len(documents)),
        key=lambda i: (documents[i][1], not _OLD.search(documents[i][0] or ""), i),
    )


def _best(scores: dict[str, int]) -> str:
    role = max(ROLES, key=lambda r: scores[r])  # ties go to the earlier role in ROLES
    return role if scores[role] >= MIN_POINTS else OTHER
