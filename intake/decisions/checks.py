"""Which posting a message is for, and what that posting's rules say about it.

A check is one small pure function `(Context) -> RuleFlag | None`, registered by name
with `@check`. The posting's TOML decides which checks matter (its `requires`, `dates`,
`eligibility`) and which status each flag leads to (`outcomes`). Every check that ran is
recorded, hit or miss, so `intake rules explain` can say why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from intake.decisions.rules import DEFAULT_OUTCOMES, ITEMS, PRECEDENCE, Posting
from intake.extraction.extract import Extraction

_CODE_HOST = re.compile(
    r"\b(?:gitlab\.com|bitbucket\.org|codeberg\.org|sourceforge\.net|git\.sr\.ht)/[\w.-]+", re.I
)
_COURSEWORK = re.compile(r"\b(course\s?work|courses|relevant classes|classes taken)\b", re.I)
MIN_COVER_LETTER_WORDS = 30


@dataclass(frozen=True)
class RuleFlag:
    code: str
    message: str
    evidence: str | None = None


@dataclass(frozen=True)
class Prior:
    """An earlier application by the same person, as the database knows it: by the same
    author (address), or only linked by a GitHub login or name from another address."""

    application_id: int
    posting: str | None
    received: date | None
    same_author: bool = True


@dataclass(frozen=True)
class Context:
    extraction: Extraction
    posting: Posting
    received: date
    history: tuple[Prior, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    name: str
    flag: RuleFlag | None

    @property
    def hit(self) -> bool:
        return self.flag is not None


CHECKS: dict[str, Callable[[Context], RuleFlag | None]] = {}


def check(name: str):
    """Register a check under `name` (also the flag code it raises, unless it says otherwise)."""

    def register(func: Callable[[Context], RuleFlag | None]):
        CHECKS[name] = func
        return func

    return register


def _has(ctx: Context, item: str) -> bool:
    ex = ctx.extraction
    cover = ex.cover_letter or ""
    resume = ex.resume_json()
    texts = cover + "\n" + (resume["text"] if resume else "")
    return {
        "cover_letter": lambda: len(cover.split()) >= MIN_COVER_LETTER_WORDS,
        "resume": lambda: resume is not None,
        "github": lambda: bool(ex.github) or bool(_CODE_HOST.search(texts)),
        "internship_period": lambda: ex.period is not None,
        "internship_area": lambda: ex.area is not None,
        "coursework": lambda: bool(_COURSEWORK.search(texts)),
    }[item]()


MISSING_MESSAGES = {
    "cover_letter": "no cover letter (a few paragraphs on why this posting)",
    "resume": "no resume attached (PDF or DOCX)",
    "github": "no link to GitHub or another public code repository",
    "internship_period": "no internship period (for example: Summer 2018, or January-March)",
    "internship_area": "no internship area (Algorithms or Software Engineering)",
    "coursework": "no list of relevant coursework",
}


def _missing(item: str) -> Callable[[Context], RuleFlag | None]:
    def run(ctx: Context) -> RuleFlag | None:
        if item not in ctx.posting.requires or _has(ctx, item):
            return None
        return RuleFlag(f"missing_{item}", MISSING_MESSAGES[item])

    return run


for _item in ITEMS:
    check(f"missing_{_item}")(_missing(_item))


def _resume_flag(code: str) -> Callable[[Context], RuleFlag | None]:
    def run(ctx: Context) -> RuleFlag | None:
        flag = next((f for f in ctx.extraction.flags if f.code == code), None)
        return RuleFlag(code, flag.message) if flag else None

    return run


# The resume could not be read (ask for another copy), or is a scan (a person reads it).
for _code in ("resume_unreadable", "resume_no_text"):
    check(_code)(_resume_flag(_code))


@check("eligibility")
def eligibility(ctx: Context) -> RuleFlag | None:
    accepted = set(ctx.posting.eligibility.accepted)
    if not accepted:
        return None
    result = ctx.extraction.eligibility
    qualifying = [e for e in result.evidence if e.code in accepted]
    if qualifying:
        return None
    if result.basis or result.needs_sponsorship:
        said = result.evidence[0].text if result.evidence else result.sponsorship_evidence
        return RuleFlag(
            "ineligible",
            f"none of {', '.join(sorted(accepted))}; stated: "
            f"{', '.join(result.basis) or 'needs visa sponsorship'}",
            said,
        )
    return RuleFlag(
        "eligibility_unknown", f"no statement of eligibility ({', '.join(sorted(accepted))})"
    )


@check("needs_sponsorship")
def needs_sponsorship(ctx: Context) -> RuleFlag | None:
    result = ctx.extraction.eligibility
    if not result.needs_sponsorship:
        return None
    return RuleFlag("needs_sponsorship", "asks for visa sponsorship", result.sponsorship_evidence)


@check("dates")
def dates(ctx: Context) -> RuleFlag | None:
    spec = ctx.posting.dates
    if spec.deadline and ctx.received > spec.deadline:
        return RuleFlag("after_deadline", f"received {ctx.received}, deadline {spec.deadline}")
    if spec.opens and ctx.received < spec.opens:
        return RuleFlag("not_yet_open", f"received {ctx.received}, opens {spec.opens}")
    return None


@check("period")
def period(ctx: Context) -> RuleFlag | None:
    asked, spec = ctx.extraction.period, ctx.posting.dates
    if asked is None:
        return None
    for filled in spec.filled:
        if filled.overlaps(asked.start, asked.end):
            return RuleFlag("period_filled", f"{filled.label} is filled", asked.text)
    if not spec.offered:
        return None
    offered = [p for p in spec.offered if p.overlaps(asked.start, asked.end)]
    if not offered:
        labels = ", ".join(p.label for p in spec.offered)
        return RuleFlag("period_not_offered", f"offered: {labels}", asked.text)
    not_open = [p for p in offered if p.opens and ctx.received < p.opens]
    if len(not_open) == len(offered):
        first = not_open[0]
        return RuleFlag(
            "period_not_offered",
            f"applications for {first.label} open on {first.opens}",
            asked.text,
        )
    return None


@check("duplicate_application")
def duplicate_application(ctx: Context) -> RuleFlag | None:
    earlier = [p for p in ctx.history if p.posting == ctx.posting.id and p.same_author]
    if not earlier:
        return None
    return RuleFlag(
        "duplicate_application", f"already applied (application #{earlier[0].application_id})"
    )


@check("possible_duplicate")
def possible_duplicate(ctx: Context) -> RuleFlag | None:
    """The same GitHub login or name as an application from another address: perhaps the
    same person, perhaps someone naming them. A recruiter decides; nothing is merged."""
    linked = [p.application_id for p in ctx.history if not p.same_author]
    if not linked:
        return None
    listed = ", ".join(f"#{n}" for n in linked)
    return RuleFlag(
        "possible_duplicate",
        f"the same GitHub login or name as application {listed}, from another address",
    )


def status_of(flags: list[RuleFlag], outcomes: dict[str, str]) -> str:
    statuses = {outcomes.get(f.code, DEFAULT_OUTCOMES.get(f.code, "needs_review")) for f in flags}
    return next((s for s in PRECEDENCE if s in statuses), "complete")


@dataclass(frozen=True)
class Route:
    posting: Posting | None
    scores: dict[str, int] = field(default_factory=dict)
    flag: RuleFlag | None = None


_FULL_TIME = re.compile(r"\b(full[- ]time|permanent|senior|staff|principal|lead)\b", re.IGNORECASE)
_INTERN = re.compile(r"\bintern", re.IGNORECASE)
# Asking for an internship, not just naming the word ("this address is for internships").
_INTERN_ASKED = re.compile(
    r"\b(?:apply\w*|application|interested|candidate|position|role|opening|join)\b[^.;]{0,60}"
    r"\bintern|\bintern\w*\b[^.;]{0,40}\b(?:position|role|program|application|opening)\b",
    re.IGNORECASE,
)


def _full_time(subject: str, body: str) -> bool:
    """The applicant asks for a full-time, permanent or senior position, not an internship."""
    asks_intern = _INTERN.search(subject) or _INTERN_ASKED.search(body)
    return bool(_FULL_TIME.search(f"{subject}\n{body}")) and not asks_intern


def score(extraction: Extraction, posting: Posting) -> int:
    """How strongly a message points at a posting: subject phrases, body phrases, area,
    period. An application for a full-time position fits no internship."""
    subject = extraction.parts[0].subject.lower()
    body = (extraction.cover_letter or "").lower()
    if _INTERN.search(posting.title) and _full_time(subject, body):
        return 0
    points = 3 * sum(phrase.lower() in subject for phrase in posting.match.subject)
    points += sum(phrase.lower() in body for phrase in posting.match.body)
    if extraction.area and extraction.area in posting.match.areas:
        points += 3
    asked = extraction.period
    if asked and any(p.overlaps(asked.start, asked.end) for p in posting.dates.offered):
        points += 2
    return points


def route(extraction: Extraction, candidates: list[Posting]) -> Route:
    """The posting an application is for. The only posting of a mailbox takes all its
    mail; among several, the highest score wins, a tie is flagged `posting_ambiguous`
    and no points at all `posting_unmatched` (a full-time application to interns@):
    never guessed."""
    if not candidates:
        return Route(None)
    scores = {p.id: score(extraction, p) for p in candidates}
    if len(candidates) == 1:
        return Route(candidates[0], scores)
    ranked = sorted(candidates, key=lambda p: scores[p.id], reverse=True)
    best = scores[ranked[0].id]
    if best == 0:
        names = " or ".join(p.id for p in ranked)
        return Route(None, scores, RuleFlag("posting_unmatched", f"names none of {names}"))
    if best > scores[ranked[1].id]:
        return Route(ranked[0], scores)
    tied = [p.id for p in ranked if scores[p.id] == best]
    return Route(None, scores, RuleFlag("posting_ambiguous", f"could be {' or '.join(tied)}"))


@dataclass(frozen=True)
class Evaluation:
    route: Route
    status: str | None
    flags: tuple[RuleFlag, ...]
    results: tuple[CheckResult, ...]

    @property
    def posting(self) -> str | None:
        return self.route.posting.id if self.route.posting else None

    @property
    def reply(self) -> str | None:
        """The reply template the posting's rules choose for this outcome."""
        if self.status is None:
            return None
        posting = self.route.posting
        return posting.replies.get(self.status) if posting else None


def evaluate(
    extraction: Extraction,
    candidates: list[Posting],
    received: date,
    history: tuple[Prior, ...] = (),
) -> Evaluation:
    """Route, then run every registered check against the posting. Pure."""
    routed = route(extraction, candidates)
    if routed.posting is None:
        flags = (routed.flag,) if routed.flag else ()
        status = "needs_review" if routed.flag else None
        return Evaluation(routed, status, flags, ())
    ctx = Context(extraction, routed.posting, received, history)
    results = tuple(CheckResult(name, run(ctx)) for name, run in CHECKS.items())
    flags = [r.flag for r in results if r.flag]
    return Evaluation(routed, status_of(flags, routed.posting.outcomes), tuple(flags), results)


def all_flags(extraction: Extraction, evaluation: Evaluation) -> list[RuleFlag]:
    """The rules' flags, plus extraction flags the rules did not already raise."""
    decided = {f.code for f in evaluation.flags}
    extra = [RuleFlag(f.code, f.message) for f in extraction.flags if f.code not in decided]
    return [*evaluation.flags, *extra]
