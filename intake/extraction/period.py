"""The internship period an applicant asks for, as start and end months (`YYYY-MM`).

Conventions (documented in the README):
- Spring = March-May, Summer = June-August, Fall/Autumn = September-November,
  Winter = December-February. "Winter 2017/2018" is Dec 2017-Feb 2018. A bare
  "Winter 2018" is the winter holding January 2018, unless that winter was already over
  when the message was sent, in which case it is Dec 2018-Feb 2019.
- In a run of seasons the year belongs to the first one and the others follow in order:
  "Fall-Winter 2016" is Sep 2016-Feb 2017, "Spring/Summer 2018" is Mar-Aug 2018.
- A month range takes the year written next to it; "November-February 2018" ends in
  Feb 2018 and so starts in Nov 2017.
- No year, "this summer", "next spring": the next such period that has not ended when
  the message was sent (its Date header). No Date and no year: no period.
- "3 to 4 months starting in June": June plus the longest duration named.
- Nothing found, or only periods in past-tense sentences ("Last summer I interned at..."):
  None. Never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from intake.extraction.text import CLAUSE_BREAK, sentences

MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
SEASONS = {
    "spring": (3, 5),
    "summer": (6, 8),
    "fall": (9, 11),
    "autumn": (9, 11),
    "winter": (12, 2),
}
NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_SEASON = r"(?:spring|summer|fall|autumn|winter)"
_YEAR = r"(?:19|20)\d{2}"
_JOIN = r"\s*(?:-|–|—|/|&|\+|and|to|through|thru|or|until|till)\s*"
_DAY = r"(?:\s+\d{1,2}(?:st|nd|rd|th)?)?"
_COUNT = r"(?:\d{1,2}|" + "|".join(NUMBERS) + ")"

SEASON_RE = re.compile(
    rf"\b(?:(?P<rel>this|next|coming|upcoming|following|last|past|previous)\s+)?"
    rf"(?P<seasons>{_SEASON}(?:{_JOIN}{_SEASON})*)"
    rf"(?:\s+(?:of\s+|in\s+)?(?:(?P<year>{_YEAR})|['’](?P<yy>\d{{2}}))"
    rf"(?:\s*[/–—-]\s*(?P<year2>{_YEAR}|\d{{2}}))?)?(?![\w-])",
    re.IGNORECASE,
)
MONTH_RANGE_RE = re.compile(
    rf"\b(?P<m1>{_MONTH}){_DAY},?(?:\s+(?P<y1>{_YEAR}))?"
    rf"{_JOIN}(?:the\s+end\s+of\s+|end\s+of\s+|(?:early|mid|late)-?\s*)?"
    rf"(?P<m2>{_MONTH}){_DAY},?(?:\s+(?P<y2>{_YEAR}))?(?!\w)",
    re.IGNORECASE,
)
NUMERIC_RANGE_RE = re.compile(
    rf"\b(?P<m1>0?[1-9]|1[0-2])/(?P<y1>{_YEAR})\s*(?:-|–|to)\s*(?P<m2>0?[1-9]|1[0-2])/(?P<y2>{_YEAR})\b"
)
# Korean, Chinese, Japanese: "2018년 3월부터 6월까지", "2018年3月至6月", "2018年3月から6月まで"
CJK_RANGE_RE = re.compile(
    rf"(?P<y1>{_YEAR})\s*[년年]\s*(?P<m1>0?[1-9]|1[0-2])\s*[월月]\s*(?:부터|から|起|至|到|~|〜|-|–)\s*"
    rf"(?:(?P<y2>{_YEAR})\s*[년年]\s*)?(?P<m2>0?[1-9]|1[0-2])\s*[월月]"
)
START_RE = re.compile(
    rf"\b(?:start(?:ing)?|begin(?:ning)?|from|as\s+of|commencing)\s+"
    rf"(?:(?:in|on|around)\s+)?(?:(?:the\s+)?(?:beginning|start|middle|end)\s+of\s+|early\s+|"
    rf"mid-?\s*|late\s+)?(?P<m>{_MONTH}){_DAY},?(?:\s+(?P<y>{_YEAR}))?(?!\w)",
    re.IGNORECASE,
)
UNTIL_RE = re.compile(
    rf"\b(?:through|thru|until|till|to)\s+(?:the\s+end\s+of\s+|end\s+of\s+|mid-?\s*)?"
    rf"(?P<m>{_MONTH}){_DAY},?(?:\s+(?P<y>{_YEAR}))?(?!\w)",
    re.IGNORECASE,
)
DURATION_RE = re.compile(
    rf"\b(?P<n1>{_COUNT})(?:\s*(?:-|–|to|or)\s*(?P<n2>{_COUNT}))?[\s-]*months?\b", re.IGNORECASE
)
_INTENT = re.compile(
    r"\b(want|would|like|love|hope|plan|apply|applying|available|availability|interested|prefer"
    r"|looking|seeking|can|could|will|start|starting|commit|join|request|period)\b",
    re.IGNORECASE,
)
_PAST = re.compile(
    r"\b(worked|interned|completed|spent|did\s+an?|was\s+an?\s+intern|ago|previously|"
    r"graduated|(?:last|past|previous)\s+(?:summer|spring|fall|autumn|winter|year|semester|term"
    r"|month|internship)|in\s+the\s+past)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Period:
    text: str
    start: str
    end: str | None

    def to_json(self) -> dict:
        return {"text": self.text, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class _Candidate:
    period: Period
    position: tuple[int, int]
    explicit_year: bool
    months: bool  # a range of months ("March through June"), more precise than a season


def ym(year: int, month: int) -> str:
    year += (month - 1) // 12
    return f"{year:04d}-{(month - 1) % 12 + 1:02d}"


def _month(name: str) -> int:
    return MONTHS[name.lower().rstrip(".")]


def _count(word: str) -> int:
    return int(word) if word.isdigit() else NUMBERS[word.lower()]


def _next_year(start_month: int, end_offset: int, sent: date | None) -> int | None:
    """The year of the first such period that has not ended when the message was sent."""
    if sent is None:
        return None
    end_month_index = sent.year * 12 + start_month - 1 + end_offset
    return sent.year if end_month_index >= sent.year * 12 + sent.month - 1 else sent.year + 1


def _season_span(names: list[str]) -> tuple[int, int]:
    """(start month, months from start to end) for a run of seasons in order."""
    first = SEASONS[names[0]][0]
    offset = 0
    for name in names[1:]:
        start, _ = SEASONS[name]
        offset += (start - (first + offset)) % 12
    last_start = first + offset
    end = SEASONS[names[-1]][1]
    return first, offset + (end - last_start) % 12


# A season with neither a year nor "this/next" is a period only after a preposition or an
# article ("in the fall", "for summer") or before what happens in it ("summer internship"):
# "models that fall apart" is not autumn.
_BEFORE_SEASON = re.compile(
    r"\b(?:in|for|during|over|through|the|a|an|this|next|by|from)\s*$", re.I
)
_AFTER_SEASON = re.compile(
    r"^\s*(?:intern\w*|position|program\w*|semester|term|quarter|session|break|co-?op)\b", re.I
)


def _seasons(m: re.Match, sent: date | None, sentence: str) -> Period | None:
    if (m.group("rel") or "").lower() in ("last", "past", "previous"):
        return None
    bare = not (m.group("rel") or m.group("year") or m.group("yy"))
    before, after = sentence[: m.start()], sentence[m.end() :]
    if bare and not (_BEFORE_SEASON.search(before) or _AFTER_SEASON.match(after)):
        return None
    names = [n.lower() for n in re.findall(_SEASON, m.group("seasons"), re.IGNORECASE)]
    first, length = _season_span(names)
    year = int(m.group("year")) if m.group("year") else None
    if m.group("yy"):
        year = 2000 + int(m.group("yy"))
    if year is None:
        year = _next_year(first, length, sent)
        if year is None:
            return None
    elif first == 12 and not m.group("year2"):
        # Bare "Winter 2018": the winter holding January 2018, unless over when sent.
        year -= 1
        if sent and ym(year, first + length) < f"{sent.year:04d}-{sent.month:02d}":
            year += 1
    return Period(m.group(0).strip(), ym(year, first), ym(year, first + length))


def _month_range(m: re.Match, sent: date | None, _sentence: str) -> Period | None:
    m1, m2 = _month(m.group("m1")), _month(m.group("m2"))
    length = (m2 - m1) % 12
    y1, y2 = m.group("y1"), m.group("y2")
    if y1:
        year = int(y1)
    elif y2:
        year = int(y2) - (1 if m2 < m1 else 0)
    else:
        year = _next_year(m1, length, sent)
        if year is None:
            return None
    if y1 and y2:
        length = (int(y2) - int(y1)) * 12 + m2 - m1
        if length < 0:
            return None
    return Period(m.group(0).strip(), ym(year, m1), ym(year, m1 + length))


def _numeric_range(m: re.Match, _sent: date | None, _sentence: str) -> Period | None:
    start = (int(m.group("y1")), int(m.group("m1")))
    end = (int(m.group("y2") or m.group("y1")), int(m.group("m2")))
    if end < start:
        return None
    return Period(m.group(0), ym(*start), ym(*end))


def _start(m: re.Match, sent: date | None, sentence: str) -> Period | None:
    month = _month(m.group("m"))
    duration = DURATION_RE.search(sentence)
    months = max(_count(n) for n in duration.group("n1", "n2") if n) if duration else None
    length = months - 1 if months else 0
    year = int(m.group("y")) if m.group("y") else _next_year(month, length, sent)
    if year is None:
        return None
    until = UNTIL_RE.search(sentence, m.end())
    if until and not duration:  # "start in June 2018 and stay through September 2018"
        end = (int(until.group("y") or year), _month(until.group("m")))
        if end >= (year, month):
            return Period(sentence[m.start() : until.end()].strip(), ym(year, month), ym(*end))
    text = m.group(0)
    if duration:
        text = sentence[min(duration.start(), m.start()) : max(duration.end(), m.end())]
    text = text.strip().rstrip(".,;:!?")
    return Period(text, ym(year, month), ym(year, month + length) if months else None)


# When someone can move or start work elsewhere is not the internship they ask for.
_ELSEWHERE = re.compile(r"\b(relocat\w*|move|moving)\b", re.IGNORECASE)


def _in_past_clause(sentence: str, start: int, end: int) -> bool:
    """Whether the match talks about the past ("Last summer I interned at...").

    Its own clause decides; a clause with no verb of its own ("in summer 2015") takes the
    tense of its sentence unless the sentence states an intent ("..., ideally June
    through August").
    """
    left = max((m.end() for m in CLAUSE_BREAK.finditer(sentence, 0, start)), default=0)
    right = next((m.start() for m in CLAUSE_BREAK.finditer(sentence, end)), len(sentence))
    clause = sentence[left:right]
    if _PAST.search(clause) or _ELSEWHERE.search(clause):
        return True
    return bool(_PAST.search(sentence)) and not _INTENT.search(sentence)


def _candidates(text: str, sent: date | None) -> list[_Candidate]:
    found = []
    for index, body in enumerate(sentences(text)):
        spans: list[tuple[int, int]] = []
        for regex, handler in _HANDLERS:
            for m in regex.finditer(body):
                if any(a < m.end() and m.start() < b for a, b in spans):
                    continue
                spans.append(m.span())
                period = handler(m, sent, body)
                if period is None or _in_past_clause(body, *m.span()):
                    continue
                explicit = bool(re.search(_YEAR, period.text))
                months = regex is not SEASON_RE
                found.append(_Candidate(period, (index, m.start()), explicit, months))
    return found


_HANDLERS = (
    (CJK_RANGE_RE, _numeric_range),
    (NUMERIC_RANGE_RE, _numeric_range),
    (MONTH_RANGE_RE, _month_range),
    (SEASON_RE, _seasons),
    (START_RE, _start),
)


def find_period(text: str, sent: date | None) -> Period | None:
    """The requested period in `text` (a cover letter, not quoted text), or None. In the
    sentence that names it, or within the season anywhere, months beat a season: "the
    Spring/Summer 2018 period, ideally March through June" asks for March-June 2018."""
    candidates = _candidates(text, sent)
    if not candidates:
        return None
    best = min(candidates, key=lambda c: (not c.explicit_year, c.position))
    if best.months:
        return best.period
    finer = [
        c
        for c in candidates
        if c.months and (c.position[0] == best.position[0] or _overlap(c.period, best.period))
    ]
    return finer[0].period if finer else best.period


def _overlap(a: Period, b: Period) -> bool:
    return a.start <= (b.end or b.start) and (a.end or a.start) >= b.start
