"""Load and validate the posting rules under `rules/`: one TOML file per posting.

A recruiter edits these files, so every mistake is reported as `file:line: message`
(bad TOML, unknown key, unknown required item or basis code, a date that is a string).
The file stem is the posting id. The rules language is taught in rules/README.md.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from intake import resources
from intake.errors import IntakeError
from intake.extraction.eligibility import CODES

DEFAULT_DIR = resources.rules()
ITEMS = ("cover_letter", "resume", "github", "internship_period", "internship_area", "coursework")
Item = Literal[
    "cover_letter", "resume", "github", "internship_period", "internship_area", "coursework"
]
Basis = Literal["us_citizen", "green_card", "us_university_enrolled", "nafta_citizen"]
Status = Literal["complete", "incomplete", "ineligible", "closed", "needs_review"]
# A reply is chosen per outcome, plus one for a follow-up folded into an application and
# one thanking whoever referred (forwarded) a candidate.
ReplyKey = Literal[
    "complete", "incomplete", "ineligible", "closed", "needs_review", "follow_up", "referral"
]
Area = Literal["algorithms", "software_engineering"]
# Status precedence: the first status any flag leads to wins.
PRECEDENCE = ("closed", "ineligible", "incomplete", "needs_review")
DEFAULT_OUTCOMES = {
    **{f"missing_{item}": "incomplete" for item in ITEMS},
    "eligibility_unknown": "incomplete",
    "resume_unreadable": "incomplete",
    "resume_no_text": "needs_review",
    "ineligible": "ineligible",
    "after_deadline": "closed",
    "not_yet_open": "closed",
    "period_filled": "closed",
    "period_not_offered": "needs_review",
    "needs_sponsorship": "needs_review",
    "duplicate_application": "needs_review",
    "possible_duplicate": "needs_review",
    "posting_ambiguous": "needs_review",
    "posting_unmatched": "needs_review",
}
FLAG_CODES = frozenset(DEFAULT_OUTCOMES)

YearMonth = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Phrase = Annotated[str, Field(min_length=2)]
# TOML has a date type; a quoted "2024-06-13" is a string and a likely mistake.
Day = Annotated[date, Field(strict=True)]
TemplateName = Annotated[str, Field(pattern=r"^[a-z0-9_-]+$")]
assert set(Basis.__args__) == set(CODES)  # type: ignore[attr-defined]


class RulesError(IntakeError):
    """A rules file is wrong; `problems` holds one `file:line: message` each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeriodSpec(_Strict):
    """A period the posting talks about, as inclusive months."""

    label: str
    start: YearMonth
    end: YearMonth
    opens: Day | None = None  # applications for this period accepted from this day

    @model_validator(mode="after")
    def _ordered(self) -> PeriodSpec:
        if self.end < self.start:
            raise ValueError(f"period {self.label!r} ends before it starts")
        return self

    def overlaps(self, start: str, end: str | None) -> bool:
        return start <= self.end and (end or start) >= self.start


class Match(_Strict):
    """How to recognise this posting among the others sharing its mailbox."""

    subject: tuple[Phrase, ...] = ()
    body: tuple[Phrase, ...] = ()
    areas: tuple[Area, ...] = ()


class Dates(_Strict):
    opens: Day | None = None
    deadline: Day | None = None
    offered: tuple[PeriodSpec, ...] = ()
    filled: tuple[PeriodSpec, ...] = ()


class EligibilityPolicy(_Strict):
    """Which basis codes qualify; an empty list means the posting states no restriction."""

    accepted: tuple[Basis, ...] = ()


class Posting(_Strict):
    id: str
    title: str = Field(min_length=1)
    mailbox: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    source: str | None = None
    url: str | None = None  # where applicants apply, when that is not by email
    match: Match = Match()
    requires: tuple[Item, ...] = ()
    eligibility: EligibilityPolicy = EligibilityPolicy()
    dates: Dates = Dates()
    outcomes: dict[str, Status] = {}
    replies: dict[ReplyKey, TemplateName] = {}
    path: Path | None = Field(default=None, exclude=True)


def load_posting(path: Path) -> Posting:
    """One rules file, validated; raises RulesError with `file:line:` problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError([f"{path}:1: cannot read: {exc}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise RulesError([f"{path}:{line.group(1) if line else 1}: invalid TOML: {exc}"]) from None
    problems = []
    if data.setdefault("id", path.stem) != path.stem:
        problems.append(
            f"{path}:{_line_of(text, ('id',))}: id {data['id']!r} must be the "
            f"file name {path.stem!r}"
        )
    try:
        posting = Posting.model_validate({**data, "path": path})
    except ValidationError as exc:
        problems += [_describe(path, text, err) for err in exc.errors()]
        raise RulesError(problems) from None
    problems += _check_outcomes(path, text, posting)
    if problems:
        raise RulesError(problems)
    return posting


def _check_outcomes(path: Path, text: str, posting: Posting) -> list[str]:
    return [
        f"{path}:{_line_of(text, ('outcomes', code))}: outcomes.{code}: unknown flag code "
        f"(known: {', '.join(sorted(FLAG_CODES))})"
        for code in posting.outcomes
        if code not in FLAG_CODES
    ]


def _describe(path: Path, text: str, err: dict) -> str:
    loc = [part for part in err["loc"] if part != "path"]
    key = ".".join(str(p) for p in loc)
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif err["type"] == "literal_error":
        message = f"unknown value {err['input']!r}; {message[0].lower()}{message[1:]}"
    elif err["type"].startswith("date") and isinstance(err.get("input"), str):
        message = f"must be a date written without quotes, like 2024-06-13 (got {err['input']!r})"
    elif err["type"] == "missing":
        message = "required key is missing"
    return f"{path}:{_line_of(text, tuple(loc))}: {key}: {message}"


def _line_of(text: str, loc: tuple) -> int:
    """The line that best matches a key path such as ("dates", "offered", 1, "start"):
    the deepest table header or key line whose path is a prefix of it, else line 1."""
    want = [str(part) for part in loc]
    table: list[str] = []
    counts: dict[str, int] = {}
    best, depth = 1, 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if header := re.match(r"^(\[\[?)\s*([^\]]+?)\s*\]", stripped):
            table = [part.strip().strip("\"'") for part in header.group(2).split(".")]
            if header.group(1) == "[[":
                name = ".".join(table)
                counts[name] = counts.get(name, -1) + 1
                table = [*table, str(counts[name])]
            path = table
        elif key := re.match(r"^([A-Za-z0-9_\"'-]+)\s*=", stripped):
            path = [*table, key.group(1).strip("\"'")]
        else:
            continue
        if len(path) > depth and want[: len(path)] == path:
            best, depth = number, len(path)
    return best


def load_all(directory: Path) -> dict[str, Posting]:
    """Every posting in a directory, or RulesError listing every problem in every file."""
    if not directory.is_dir():
        raise RulesError([f"{directory}:1: rules directory not found"])
    postings, problems = {}, []
    for path in sorted(directory.glob("*.toml")):
        try:
            postings[path.stem] = load_posting(path)
        except RulesError as exc:
            problems += exc.problems
    if problems:
        raise RulesError(problems)
    return postings


def for_mailbox(postings: dict[str, Posting], mailbox: str | None) -> list[Posting]:
    """The postings an application arriving in `mailbox` can be for."""
    return [p for p in postings.values() if mailbox is None or p.mailbox == mailbox]
