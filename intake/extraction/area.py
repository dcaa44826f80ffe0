"""The internship area asked for (Internship Program): `algorithms` or `software_engineering`.

Only a request counts ("the Algorithms internship", "SWE intern", "backend/web
development"), not a mention ("Coursework: Algorithms", "algorithmic skills"). The subject
line is read first, then the body; the first request found wins.
"""

from __future__ import annotations

import re

ALGORITHMS, SOFTWARE_ENGINEERING = "algorithms", "software_engineering"

_ROLE = (
    r"(?:intern(?:ship)?s?|position|role|track|area|team|group|program|opening|opportunit(?:y|ies))"
)
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (ALGORITHMS, re.compile(rf"(?i)\balgorithms?\s+(?:\w+\s+)?{_ROLE}\b")),
    (ALGORITHMS, re.compile(rf"(?i)\b{_ROLE}\s+(?:in|on|for|with)\s+(?:the\s+)?algorithms?\b")),
    (
        ALGORITHMS,
        re.compile(r"(?i)\((?:the\s+)?algorithms?\)|\[algorithms?\]|algorithms?\s*[-–:]\s*intern"),
    ),
    (
        SOFTWARE_ENGINEERING,
        re.compile(
            rf"(?i)\bsoftware\s+(?:engineering|engineer|development)\s+(?:\w+\s+)?{_ROLE}\b"
        ),
    ),
    (
        SOFTWARE_ENGINEERING,
        re.compile(rf"(?i)\b{_ROLE}\s+(?:in|on|for|with)\s+(?:the\s+)?software\s+engineering\b"),
    ),
    (
        SOFTWARE_ENGINEERING,
        re.compile(
            r"(?i)\bSWE\b|\bback[- ]?end\s*(?:/|and|or|&)\s*web\b|\bweb\s+development\s+intern"
        ),
    ),
    (
        SOFTWARE_ENGINEERING,
        re.compile(
            r"(?i)\((?:the\s+)?software\s+engineering\)|software\s+engineering\s*[-–:]\s*intern"
        ),
    ),
)


def find_area(subject: str, body: str) -> tuple[str, str] | None:
    """(area, the phrase it came from), or None when no area is asked for."""
    for text in (subject, body):
        hits = [(m.start(), area, m.group(0)) for area, p in PATTERNS if (m := p.search(text))]
        if hits:
            _, area, phrase = min(hits)
            return area, phrase.strip()
    return None
