"""Eligibility statements, each with the sentence it came from.

Codes: `us_citizen`, `green_card`, `us_university_enrolled`, `nafta_citizen` (Canadian or
Mexican), and separately `needs_sponsorship`. A statement counts only in a clause that is
neither negated ("I am not a US citizen") nor in the past ("I studied in the US years ago").
A statement about someone else ("my father is a US citizen", "married to a green card
holder") is not the applicant's. The body (new text of this message) is read first; the
resume adds only codes the body does not talk about, so the body wins when the two
disagree. In the resume, enrolment is read from its education entries: a US school with
"Present" or an expected graduation after the message's date is current enrolment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from intake.extraction.institutions import us_institution
from intake.extraction.text import EDUCATION, OTHER_SECTIONS, clauses, heading, sentences

CODES = ("us_citizen", "green_card", "us_university_enrolled", "nafta_citizen")
ELIGIBLE, INELIGIBLE, UNKNOWN = "eligible", "ineligible", "unknown"
NOT_JUDGED = "not_judged"  # the posting states no eligibility rule

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
_SPONSOR = re.compile(
    r"(?i)\b(h-?1-?b|visa|\w*visum|visado|sponsor(?:ship|ed)?|work\s+(?:permit|authori[sz]ation))\b"
)
_NEED = re.compile(
    r"(?i)\b(need|needs|needed|require|requires|required|requiring|sponsor(?:ship)?"
    r"|brauche|bräuchte|benötige|benötigen|besoin|necesito|necesitaría|preciso)\b"
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
# The subject of the clause is someone else: a relative, a friend, "he"/"she", or the
# applicant is "married to"/"the son of" one.
_SOMEONE_ELSE = re.compile(
    r"(?i)\b(?:my|his|her|their|our)\s+(?:(?:step|half|grand|great[- ]grand)[- ]?)?"
    r"(?:father|mother|dad|mom|mum|parents?|wife|husband|spouse|partner|fianc[ée]e?|brothers?"
    r"|sisters?|siblings?|sons?|daughters?|child(?:ren)?|kids?|family|relatives?|cousins?"
    r"|uncles?|aunts?|grand\w+|friends?|boyfriend|girlfriend|roommates?|colleagues?)\b"
    r"|\b(?:he|she|they)(?:'s|\s+(?:is|are|was|has|have|holds?|became))\b"
    r"|\b(?:married\s+to|engaged\s+to|(?:son|daughter|child|spouse|dependent)\s+of)\s+(?:a|an)\b"
)
# "I hold an MS from Georgia Tech", "I received my M.S. ... in 2011": a degree, not a school.
_DEGREE_HELD = re.compile(
    r"(?i)\b(?:hold|holds|held|received|earned|obtained|got|did|completed|graduate of|graduated)\b"
)
_EDUCATION = heading(EDUCATION)
_NEXT_SECTION = heading(OTHER_SECTIONS)
_SCHOOL = re.compile(
    r"(?i)\b(?:university|college|institute|school|universit[éàäa]t?|universidad|universidade"
    r"|école|ecole|politecnico|polytechnic|academy)\b"
)
_EXPECTED = re.compile(r"(?i)\b(?:expected|anticipated|graduating|graduation|class of|est\.?)\b")
_ONGOING = re.compile(r"(?i)\b(?:present|current(?:ly)?|now|ongoing|in progress)\b")
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_SEASON_MONTH = {"spring": 5, "summer": 8, "fall": 12, "autumn": 12, "winter": 12}
_WHEN = re.compile(
    r"(?i)\b(?:(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
    r"|(?P<season>spring|summer|fall|autumn|winter)|(?P<mm>0?[1-9]|1[0-2])\s*/)?"
    r"\s*(?P<year>(?:19|20)\d{2})\b"
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

    def judged(self, accepted: Iterable[str]) -> str:
        """The status against a posting's accepted basis codes (none: not judged)."""
        accepted = set(accepted)
        if not accepted:
            return NOT_JUDGED
        if accepted & set(self.basis):
            return ELIGIBLE
        return INELIGIBLE if self.basis or self.needs_sponsorship else UNKNOWN

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
        match = next((m for p in patterns if (m := p.search(clause))), None)
        if match is None or _SOMEONE_ELSE.search(clause[: match.start()]):
            continue  # "my father is a US citizen": said, but not of the applicant
        pending = code == "green_card" and bool(_PENDING.search(clause))
        found.append(Statement(code, sentence, not (negated or past or pending), source))
    return found


def _enrollment(sentence: str, when: datetime | None) -> Statement | None:
    """Enrolled at a US school, said in the body: judged on the sentence, since school
    names contain commas ("University of California, San Diego"), with tense, negation
    and subject from the clause that says "student", "enrolled", "PhD"... A degree one
    holds or received, or a year already past, is not current enrolment."""
    word = _ENROLLED.search(sentence)
    if not word or not us_institution(sentence):
        return None
    clause = next((c for c in clauses(sentence) if word.group(0) in c), sentence)
    if _SOMEONE_ELSE.search(clause[: clause.find(word.group(0))]):
        return None
    years = [int(y) for y in re.findall(r"\b(?:19|20)\d\d\b", clause)]
    done = _DEGREE_HELD.search(clause) or (when and years and max(years) < when.year)
    current = not (_NEGATION.search(clause) or _PAST.search(clause) or done)
    return Statement("us_university_enrolled", sentence, current, "body")


def statements(text: str, source: str = "body", when: datetime | None = None) -> list[Statement]:
    """Every eligibility statement in `text`, positive or not, in order; in a resume,
    enrolment comes from its education entries, judged against `when`."""
    found: list[Statement] = []
    for sentence in sentences(text, wrapped=source == "body"):
        for clause in clauses(sentence):
            found.extend(_clause_statements(clause, sentence, source))
        if source == "body" and (enrolled := _enrollment(sentence, when)):
            found.append(enrolled)
    if source == "resume":
        found.extend(education(text, when))
    return found


def education(resume: str, when: datetime | None) -> Iterator[Statement]:
    """Enrolment at a US school from a resume's education entries: each entry is the
    school's line with the line before and up to three after (degree, dates); it is
    current with "Present", or an expected graduation (or the end of a date range) not
    before the message's date."""
    lines = [line.strip() for line in _education_section(resume).splitlines() if line.strip()]
    schools = [i for i, line in enumerate(lines) if _SCHOOL.search(line) or us_institution(line)]
    for n, i in enumerate(schools):
        school = us_institution(lines[i])
        if not school:
            continue
        first = i - 1 if i > 0 and (n == 0 or schools[n - 1] < i - 1) else i
        last = min(i + 4, schools[n + 1] if n + 1 < len(schools) else len(lines))
        entry = " | ".join(lines[first:last])
        current = _current(entry, when)
        if current is not None:
            yield Statement("us_university_enrolled", entry, current, "resume")


def _education_section(resume: str) -> str:
    """The Education section (to the next heading), or the whole resume if it has none."""
    start = _EDUCATION.search(resume)
    if start is None:
        return resume
    end = _NEXT_SECTION.search(resume, start.end())
    return resume[start.end() : end.start() if end else len(resume)]


def _current(entry: str, when: datetime | None) -> bool | None:
    """True: studying there at `when`; False: finished; None: the entry gives no dates."""
    if _ONGOING.search(entry):
        return True
    dates = [(m.start(), _year_month(m)) for m in _WHEN.finditer(entry)]
    if not dates:
        return None
    expected = _EXPECTED.search(entry)
    after = [d for pos, d in dates if expected and pos >= expected.start()]
    end = after[0] if after else dates[-1][1]
    if when is None:
        return bool(expected)
    return end >= (when.year, when.month)


def _year_month(match: re.Match) -> tuple[int, int]:
    year = int(match.group("year"))
    if match.group("month"):
        return year, _MONTH_NAMES.index(match.group("month").lower()[:3]) + 1
    if match.group("season"):
        return year, _SEASON_MONTH[match.group("season").lower()]
    if match.group("mm"):
        return year, int(match.group("mm"))
    return year, 12  # a bare year: the student may graduate any time that year


def sponsorship(text: str, *, wrapped: bool = True) -> tuple[bool, str | None]:
    """Whether the applicant says they need visa sponsorship, with the sentence."""
    for sentence in sentences(text, wrapped=wrapped):
        for clause in clauses(sentence):
            if _SPONSOR.search(clause) and _NEED.search(clause):
                return not _NEGATION.search(clause), sentence
    return False, None


def assess(
    body: str, resume: str = "", accepted: Iterable[str] = CODES, when: datetime | None = None
) -> Eligibility:
    """Combine body and resume statements into a status against the accepted basis codes;
    `when` (the message's date) says whether an expected graduation is still ahead."""
    said = statements(body, "body", when)
    mentioned = {s.code for s in said}
    said += [s for s in statements(resume, "resume", when) if s.code not in mentioned]
    positive = [s for s in said if s.positive]
    basis = tuple(code for code in CODES if any(s.code == code for s in positive))
    needs, needs_text = sponsorship(body)
    if not needs_text:
        needs, needs_text = sponsorship(resume, wrapped=False)
    evidence = tuple({(s.code): s for s in reversed(positive)}.values())[::-1]
    found = Eligibility(UNKNOWN, basis, evidence, needs, needs_text if needs else None)
    return replace(found, status=found.judged(accepted))
