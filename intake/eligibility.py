"""Eligibility statements, each with the sentence it came from.

Codes: `us_citizen`, `green_card`, `us_university_enrolled`, `nafta_citizen` (Canadian or
Mexican), and separately `needs_sponsorship`. A statement counts only in a clause that is
neither negated ("I am not a US citizen") nor in the past ("I studied in the US years ago").
The body (new text of this message) is read first; the resume adds only codes the body
does not talk about, so the body wins when the two disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from intake.institutions import us_institution
from intake.text import clauses, sentences

CODES = ("us_citizen", "green_card", "us_university_enrolled", "nafta_citizen")
ELIGIBLE, INELIGIBLE, UNKNOWN = "eligible", "ineligible", "unknown"

_US = r"(?:U\.?\s?S\.?(?:\s?A\.?)?|United\s+States(?:\s+of\s+America)?|[Aa]merican)"
_CITIZEN = r"(?i:citizen(?:ship)?s?|national(?:ity)?|passport)"
PATTERNS: dict[str, tuple[re.Pattern[str], ...]] = {
    "us_citizen": (
        re.compile(rf"\b{_US}\s*[-/]?\s*(?:\w+\s+){{0,2}}?{_CITIZEN}\b"),
        re.compile(rf"(?i:citizen(?:ship)?\s+of\s+the\s+|citizen(?:ship)?\s+of\s+){_US}"),
        re.compile(rf"(?i:\bdual\b)[^.;]{{0,20}}\b{_US}\b"),
    ),
    "green_card": (
        re.compile(r"(?i)\bgreen[\s-]?card\b"),
        re.compile(r"(?i)\b(?:lawful\s+|legal\s+)?permanent\s+resident\b(?!\s+of\s+(?!the\s+U))"),
    ),
    "nafta_citizen": (
        re.compile(
            r"(?i)\b(?:canadian|mexican)\s+(?:\w+\s+)?(?:citizen(?:ship)?|national|passport)"
        ),
        re.compile(r"(?i)\bcitizen(?:ship)?\s+of\s+(?:canada|mexico)\b"),
        re.compile(r"(?i)\b(?:canada|mexico)\s*[-/]?\s*(?:\w+\s+)?citizen"),
        re.compile(r"(?i)\bI(?:'m|’m|\s+am)\s+(?:a\s+)?(?:canadian|mexican)\s*(?:[.,;]|$)"),
    ),
}
_ENROLLED = re.compile(
    r"(?i)\b(enrolled|studying|student|candidate|pursuing|junior|senior|sophomore|freshman|"
    r"undergrad(?:uate)?|ph\.?\s?d|master'?s|m\.?sc?|b\.?sc?|attending|currently\s+at|"
    r"first[- ]year|second[- ]year|third[- ]year|fourth[- ]year|final[- ]year|expected)\b"
)
_RESUME_CURRENT = re.compile(
    r"(?i)\b(expected|anticipated|candidate|present|current(?:ly)?|in\s+progress|ongoing)\b"
)
_SPONSOR = re.compile(
    r"(?i)\b(h-?1-?b|visa|sponsor(?:ship|ed)?|work\s+(?:permit|authori[sz]ation))\b"
)
_NEED = re.compile(
    r"(?i)\b(need|needs|needed|require|requires|required|requiring|sponsor(?:ship)?)\b"
)
_NEGATION = re.compile(
    r"(?i)(\b(?:not|never|no|neither|nor|without|non|cannot|isn't|aren't|don't|doesn't|"
    r"won't|wouldn't|no\s+longer)\b|n't\b|\bnon-)"
)
_PENDING = re.compile(
    r"(?i)\b(pending|applying|applied|waiting|in\s+process|process\s+of|hope\s+to)\b"
)
_PAST = re.compile(
    r"(?i)\b(was|were|used\s+to|studied|graduated|had|ago|previously|formerly|former|"
    r"alumn\w*|completed|finished|attended)\b"
)


@dataclass(frozen=True)
class Statement:
    code: str
    text: str
    positive: bool
    source: str  # body | resume


@dataclass(frozen=True)
class Eligibility:
    status: str
    basis: tuple[str, ...]
    evidence: tuple[Statement, ...]
    needs_sponsorship: bool
    sponsorship_evidence: str | None = None

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "basis": list(self.basis),
            "evidence": [
                {"code": s.code, "text": s.text, "source": s.source} for s in self.evidence
            ],
        }


def _clause_statements(clause: str, sentence: str, source: str) -> list[Statement]:
    found = []
    negated, past = bool(_NEGATION.search(clause)), bool(_PAST.search(clause))
    for code, patterns in PATTERNS.items():
        if any(p.search(clause) for p in patterns):
            pending = code == "green_card" and bool(_PENDING.search(clause))
            found.append(Statement(code, sentence, not (negated or past or pending), source))
    return found


def _enrollment(sentence: str, source: str) -> Statement | None:
    """Enrolled at a US school: judged on the sentence, since school names contain commas
    ("University of California, San Diego"), with tense and negation from the clause that
    says "student", "enrolled", "PhD"..."""
    word = _ENROLLED.search(sentence)
    if not word or not us_institution(sentence):
        return None
    clause = next((c for c in clauses(sentence) if word.group(0) in c), sentence)
    current = not (_NEGATION.search(clause) or _PAST.search(clause))
    if source == "resume":
        current = current and bool(_RESUME_CURRENT.search(sentence))
    return Statement("us_university_enrolled", sentence, current, source)


def statements(text: str, source: str = "body") -> list[Statement]:
    """Every eligibility statement in `text`, positive or not, in order."""
    found: list[Statement] = []
    for sentence in sentences(text, wrapped=source == "body"):
        for clause in clauses(sentence):
            found.extend(_clause_statements(clause, sentence, source))
        if enrolled := _enrollment(sentence, source):
            found.append(enrolled)
    return found


def sponsorship(text: str, *, wrapped: bool = True) -> tuple[bool, str | None]:
    """Whether the applicant says they need visa sponsorship, with the sentence."""
    for sentence in sentences(text, wrapped=wrapped):
        for clause in clauses(sentence):
            if _SPONSOR.search(clause) and _NEED.search(clause):
                return not _NEGATION.search(clause), sentence
    return False, None


def assess(body: str, resume: str = "", accepted: Iterable[str] = CODES) -> Eligibility:
    """Combine body and resume statements into a status against the accepted basis codes."""
    said = statements(body, "body")
    mentioned = {s.code for s in said}
    said += [s for s in statements(resume, "resume") if s.code not in mentioned]
    positive = [s for s in said if s.positive]
    basis = tuple(code for code in CODES if any(s.code == code for s in positive))
    needs, needs_text = sponsorship(body)
    if not needs_text:
        needs, needs_text = sponsorship(resume, wrapped=False)
    accepted = set(accepted)
    if accepted & set(basis):
        status = ELIGIBLE
    elif basis or needs:
        status = INELIGIBLE
    else:
        status = UNKNOWN
    evidence = tuple({(s.code): s for s in reversed(positive)}.values())[::-1]
    return Eligibility(status, basis, evidence, needs, needs_text if needs else None)
