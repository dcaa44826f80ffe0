"""Sentences and clauses of mail text, for extractors that judge statements in context.

Mail wraps lines at ~72 characters, so a sentence may span lines; a blank line or a
bulleted line starts a new one. "U.S.", "Ph.D." and "e.g." do not end a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_BULLET = re.compile(r"^\s*(?:[-*•·▪◦]|\d{1,2}[.)])\s+")
_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+|$)")
_ABBREVIATION = re.compile(
    r"(?:\b[A-Za-z]\.(?:[A-Za-z]\.)*|\b(?:Dr|Mr|Mrs|Ms|Prof|Sr|Jr|St|vs|etc|approx|incl|Inc"
    r"|Ltd|Univ|Dept|No|Jan|Feb|Mar|Apr|Aug|Sep|Sept|Oct|Nov|Dec)\.|\b(?:e\.g|i\.e)\.?)$"
)
# A resume's section headings, each on a line of its own ("Education", "Work Experience:").
EDUCATION = (
    r"education(?:al background)?(?: (?:and|&) training)?|academic background|academics"
    r"|studies|ausbildung"
)
OTHER_SECTIONS = (
    r"(?:work |professional |research |relevant )?experience|employment|projects"
    r"|(?:technical )?skills|publications|awards|honou?rs|objective|summary|interests"
    r"|certifications|leadership|activities|languages|references|(?:relevant )?coursework"
)


def heading(names: str) -> re.Pattern[str]:
    """Lines that are one of `names` as a section heading."""
    return re.compile(rf"^[ \t]*(?:{names})[ \t]*:?[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)


SECTION_HEADING = heading(f"{EDUCATION}|{OTHER_SECTIONS}")
CLAUSE_BREAK = re.compile(
    r"[;:()]|,\s+(?:but|and|while|whereas|although|though)\b|\s(?:but|while|whereas)\s"
    r"|,\s|\sand\s(?=(?:I|i|am|have|now|currently|want|would|wish|hope|plan|will|can|my|looking|"
    r"interested)\b)"
)


def _units(text: str, wrapped: bool) -> Iterator[str]:
    """Paragraphs with wrapped lines joined; bulleted or list-like lines stand alone.

    Documents (resumes) are not wrapped: there every line is a unit of its own.
    """
    current: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or _BULLET.match(line) or not wrapped:
            if current:
                yield " ".join(current)
            current = [stripped] if stripped else []
            continue
        current.append(stripped)
    if current:
        yield " ".join(current)


def sentences(text: str, *, wrapped: bool = True) -> Iterator[str]:
    """Sentences of `text`, whitespace collapsed; `wrapped` for mail bodies."""
    for unit in _units(text, wrapped):
        start = 0
        for match in _END.finditer(unit):
            if _ABBREVIATION.search(unit[: match.end()]) and match.end() < len(unit):
                continue
            if sentence := unit[start : match.end()].strip():
                yield sentence
            start = match.end()
        if rest := unit[start:].strip():
            yield rest


def clauses(sentence: str) -> list[str]:
    """Parts of a sentence that can carry their own negation or tense."""
    return [part for part in CLAUSE_BREAK.split(sentence) if part and part.strip()]
