"""The one decision about a message: what it is, whose application, which posting, what
status, and who gets which reply (and why nobody does).

Pure: the message's `Part`, a `History` snapshot of what the database knows that matters
(the application its thread belongs to, the person's earlier applications, the state of
the addresses we might write to) and the `Setup` from the config go in; a `Decision`
comes out. The daemon, `reprocess`, `intake parse` and `intake rules explain` all call
`decide`; the database is read before it (`history.load`) and written once after it
(`store.write`), and the decision itself is stored for the digest and for audit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from intake.decisions.checks import Evaluation, Prior, Route, RuleFlag, all_flags, evaluate, route
from intake.decisions.classify import APPLICATION, FOLLOW_UP, Verdict, classify
from intake.decisions.rules import Posting, for_mailbox
from intake.decisions.safety import BUILT_IN, ReplyPolicy, why_not
from intake.errors import IntakeError
from intake.extraction.extract import ExtractedDocument, Extraction, Part, alone, assemble
from intake.extraction.forwards import ADDRESS
from intake.mail.parse import ParsedMessage

NOTHING = Evaluation(Route(None), None, (), ())
# The neutral reply to an application no posting of its mailbox fits, or several fit, and
# the reply to someone who forwarded or referred a candidate (replies.BUILT_IN).
UNROUTED_TEMPLATE, REFERRAL_TEMPLATE = BUILT_IN


@dataclass(frozen=True)
class Person:
    name: str | None
    email: str | None

    def to_json(self) -> dict:
        return {"name": self.name, "email": self.email}


@dataclass(frozen=True)
class Earlier:
    """An application already stored, as a decision about a new message needs it."""

    id: int
    posting: str | None
    received: datetime | None
    parts: tuple[Part, ...] = ()  # its messages, oldest first (loaded when it can be continued)
    # who wrote it: the applicant's address and the From of each of its messages. Only mail
    # from one of these continues it; a shared GitHub login or name never does.
    authors: frozenset[str] = frozenset()

    def written_by(self, part: Part) -> bool:
        return (part.message.sender_email or "").lower() in self.authors

    def prior(self, part: Part) -> Prior:
        received = self.received.date() if self.received else None
        return Prior(self.id, self.posting, received, same_author=self.written_by(part))


@dataclass(frozen=True)
class History:
    """What the database knows that the decision needs; empty for `intake parse`."""

    thread: Earlier | None = None  # the application this message's thread belongs to
    person: tuple[Earlier, ...] = ()  # the same person's earlier applications, oldest first
    bounced: frozenset[str] = frozenset()  # addresses a reply of ours bounced from
    recent: Mapping[str, int] = field(default_factory=dict)  # replies per address in the window


@dataclass(frozen=True)
class Setup:
    """What the decision needs from the config."""

    postings: Mapping[str, Posting]
    mailbox: str | None = None
    follow_up_days: int = 60
    own_addresses: frozenset[str] = frozenset()
    policy: ReplyPolicy = field(default_factory=ReplyPolicy)
    unrouted_reply: bool = True  # answer an application no posting fits, neutrally

    @property
    def candidates(self) -> list[Posting]:
        return for_mailbox(dict(self.postings), self.mailbox)


@dataclass(frozen=True)
class Reply:
    """One reply the message is due, or the reason it gets none."""

    role: str  # applicant | referrer | sender
    to: Person
    template: str | None  # None: no reply is due
    reason: str | None = None  # why none is due, or why the due reply is suppressed

    @property
    def status(self) -> str:
        """skipped (none due), suppressed (due, but loop safety forbids it) or due."""
        if self.template is None:
            return "skipped"
        return "suppressed" if self.reason else "due"

    def to_json(self) -> dict:
        return {
            "role": self.role,
            "to": self.to.email,
            "template": self.template,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Decision:
    kind: str  # as stored: a message folded into an application is a follow_up
    verdict: Verdict
    part: Part
    applicant: Person | None = None
    referrer: Person | None = None
    extraction: Extraction | None = None  # the application as a whole; None: not one
    evaluation: Evaluation = NOTHING
    target: int | None = None  # the application this message was folded into
    duplicate_of: int | None = None
    replies: tuple[Reply, ...] = ()

    @property
    def documents(self) -> list[ExtractedDocument]:
        """This message's attachments, with the roles the application gave them."""
        final = {d.key: d for d in self.extraction.documents} if self.extraction else {}
        return [final.get(d.key, d) for d in self.part.documents]

    @property
    def flags(self) -> list[RuleFlag]:
        return all_flags(self.extraction, self.evaluation) if self.extraction else []

    def to_json(self) -> dict:
        """The record kept with the message: every signal and check, hit or miss."""
        evaluation = self.evaluation
        return {
            "kind": self.kind,
            "verdict": self.verdict.to_json(),
            "applicant": self.applicant.to_json() if self.applicant else None,
            "referred_by": self.referrer.to_json() if self.referrer else None,
            "posting": evaluation.posting,
            "status": evaluation.status,
            "routing": evaluation.route.scores,
            "checks": [
                {
                    "check": r.name,
                    "hit": r.hit,
                    "code": r.flag.code if r.flag else None,
                    "message": r.flag.message if r.flag else None,
                    "evidence": r.flag.evidence if r.flag else None,
                }
                for r in evaluation.results
            ],
            "flags": [_flag_json(f) for f in self.flags],
            "folded_into": self.target,
            "duplicate_of": self.duplicate_of,
            "replies": [r.to_json() for r in self.replies],
        }


@dataclass(frozen=True)
class _Case:
    """One application or follow-up being decided, with what the decision draws on."""

    part: Part
    verdict: Verdict
    applicant: Person
    referrer: Person | None
    history: History
    setup: Setup
    now: datetime

    def evaluate(
        self, whole: Extraction, candidates: list[Posting], priors: Iterable[Prior]
    ) -> Evaluation:
        received = (whole.parts[0].date or self.now).date()
        return evaluate(whole, candidates, received, tuple(priors))


def decide(part: Part, history: History, setup: Setup, now: datetime) -> Decision:
    """Everything that is decided about one message. Deadlines are judged against the
    message's Date (so reprocessing old mail gives the same answer), else `now`."""
    verdict = classify(part, phrases(setup.candidates))
    sender = Person(part.message.sender_name, part.message.sender_email)
    if verdict.kind not in (APPLICATION, FOLLOW_UP):
        reason = f"{verdict.kind.replace('_', ' ')}: {verdict.reason}"
        return Decision(
            verdict.kind, verdict, part, replies=(Reply("sender", sender, None, reason),)
        )
    single = alone(part)
    applicant, referrer = people(part, single, setup.own_addresses)
    if not applicant.email and referrer is None:
        raise IntakeError("no sender address")
    case = _Case(part, verdict, applicant, referrer, history, setup, now)
    mine = tuple(e for e in history.person if e.written_by(part))
    thread = history.thread if history.thread and history.thread.written_by(part) else None
    target = thread or _recent(
        mine, route(single, setup.candidates), part, setup.follow_up_days, now
    )
    if target is not None:
        return _fold(case, target)
    if verdict.kind == APPLICATION or single.resume is not None:
        return _apply(case, single)
    reason = "a follow-up that continues nothing we have: a person reads it"
    return Decision(
        FOLLOW_UP,
        verdict,
        part,
        applicant,
        referrer,
        replies=(Reply("sender", sender, None, reason),),
    )


def phrases(postings: list[Posting]) -> tuple[str, ...]:
    """What names the mailbox's postings: titles and their subject and body phrases."""
    return tuple(
        dict.fromkeys(
            phrase
            for p in postings
            for phrase in (p.title, *p.match.subject, *p.match.body)
            if len(phrase) >= 4
        )
    )


def people(part: Part, single: Extraction, own: frozenset[str]) -> tuple[Person, Person | None]:
    """(the applicant, who referred them): the forwarded person and the forwarder, unless
    someone forwards their own application. A candidate's address missing from the
    forwarded header is taken from their resume."""
    msg = part.message
    sender = Person(msg.sender_name, msg.sender_email)
    forward = part.forward
    if forward is None:
        return Person(natural_name(sender.name, part.body), _answer_to(msg, own)), None
    email = forward.email or _resume_address(single, {sender.email, *own, *msg.to})
    candidate = Person(natural_name(forward.name, part.body), email)
    referrer = Person(natural_name(sender.name, forward.note), sender.email)
    if _same_person(candidate, sender):
        return Person(candidate.name or referrer.name, sender.email), None
    return candidate, referrer


def _answer_to(msg: ParsedMessage, own: frozenset[str]) -> str | None:
    """Where the author wants answers: their Reply-To (RFC 5322 section 3.6.2; a personal
    responder answers there, RFC 3834 section 4), unless it is one of our own addresses."""
    reply_to = (msg.reply_to or "").lower()
    if reply_to and reply_to not in own and reply_to not in msg.to:
        return reply_to
    return msg.sender_email


_SIGNED = re.compile(
    r"(?:regards|best|thanks|thank you|sincerely|cheers|wishes|yours)[,!.]?\s*"
    r"([A-Z][\w'-]+(?: [A-Z][\w'-]+){1,2})(?![\w'-])",
    re.IGNORECASE,
)
_COMMENT = re.compile(r"\s*[(\[][^)\]]*[)\]]")


def natural_name(name: str | None, text: str) -> str | None:
    """A name as the person writes it: "García, María" (Outlook's "Last, First") is María
    García, "Lavoie Mathieu" is Mathieu Lavoie when that is how they sign, a comment such
    as "(Student)" is left out, and a display name that is only an address's local part
    ("karthik.subra93") gives way to the name under the signature."""
    name = _COMMENT.sub("", name or "").strip()
    if not name or (" " not in name and re.search(r"[\d._]", name)):
        signed = _SIGNED.findall(text[-400:])
        return signed[-1] if signed and signed[-1][0].isupper() else (name or None)
    last, comma, first = name.partition(",")
    if comma and last.strip() and first.strip() and "," not in first and len(first.split()) <= 2:
        name = f"{first.strip()} {last.strip()}"
    words = name.split()
    if len(words) == 2:
        flipped = f"{words[1]} {words[0]}"
        if flipped.lower() in text.lower() and name.lower() not in text.lower():
            return flipped
    return name


def _resume_address(single: Extraction, exclude: set[str | None]) -> str | None:
    resume = single.resume_json()
    text = resume["text"] if resume else ""
    return next((a.lower() for a in ADDRESS.findall(text) if a.lower() not in exclude), None)


def _same_person(a: Person, b: Person) -> bool:
    if a.email and b.email and a.email == b.email:
        return True
    names = [re.sub(r"[^a-z]", "", (p.name or "").lower()) for p in (a, b)]
    return (bool(names[0]) and names[0] == names[1]) or bool(
        a.email and b.email and a.email.split("@")[0] == b.email.split("@")[0]
    )


def _recent(
    person: tuple[Earlier, ...], routed: Route, part: Part, days: int, now: datetime
) -> Earlier | None:
    """The person's latest application for the same posting within the follow-up window
    (`person`: only those the message's author wrote)."""
    posting = routed.posting.id if routed.posting else None
    since = (part.date or now) - timedelta(days=days)
    for earlier in reversed(person):
        if posting and earlier.posting not in (posting, None):
            continue
        if earlier.received is None or earlier.received >= since:
            return earlier
    return None


def _apply(case: _Case, single: Extraction) -> Decision:
    """A new application: the rules of the posting it fits, and its replies."""
    priors = [e.prior(case.part) for e in case.history.person]
    evaluation = case.evaluate(single, case.setup.candidates, priors)
    posting = evaluation.route.posting
    duplicate_of = next(
        (p.application_id for p in priors if posting and p.posting == posting.id and p.same_author),
        None,
    )
    if posting is not None:
        template = evaluation.reply
        none = f"the rules of {posting.id} choose no reply for status {evaluation.status}"
    else:
        template = UNROUTED_TEMPLATE if case.setup.unrouted_reply else None
        none = "no posting fits and replies to unrouted applications are off for this mailbox"
    referral = (posting.replies.get("referral") if posting else None) or REFERRAL_TEMPLATE
    return Decision(
        kind=APPLICATION,
        verdict=case.verdict,
        part=case.part,
        applicant=case.applicant,
        referrer=case.referrer,
        extraction=single,
        evaluation=evaluation,
        duplicate_of=duplicate_of,
        replies=_replies(case, template, none, referral),
    )


def _fold(case: _Case, target: Earlier) -> Decision:
    """A follow-up joins its application: the rules run again on the whole."""
    whole = assemble([*target.parts, case.part])
    posting = case.setup.postings.get(target.posting or "")
    candidates = [posting] if posting else case.setup.candidates
    evaluation = case.evaluate(
        whole, candidates, (e.prior(case.part) for e in case.history.person if e.id < target.id)
    )
    routed = evaluation.route.posting
    template = routed.replies.get("follow_up") if routed else None
    none = f"the rules of {routed.id} choose no follow-up reply" if routed else "no posting"
    return Decision(
        kind=FOLLOW_UP,
        verdict=case.verdict,
        part=case.part,
        applicant=case.applicant,
        referrer=case.referrer,
        extraction=whole,
        evaluation=evaluation,
        target=target.id,
        replies=_replies(replace(case, referrer=None), template, none, None),
    )


def _replies(
    case: _Case, template: str | None, none: str, referral: str | None
) -> tuple[Reply, ...]:
    """The applicant's reply and, for a referral, the referrer's thanks; never to mail an
    upstream filter or failed authentication marks as spam (the reply would be backscatter)."""
    spam = [h for h in case.verdict.fired if h.family == "spam" and h.weight <= -6]
    veto = f"not answered: {spam[0].evidence} (a reply could be backscatter)" if spam else None
    if case.applicant.email:
        found = [_reply(case, "applicant", case.applicant, template, none, veto)]
    else:
        unknown = "the candidate's address is not in the message"
        found = [Reply("applicant", case.applicant, None, unknown)]
    if case.referrer is not None:
        found.append(_reply(case, "referrer", case.referrer, referral, none, veto))
    return tuple(found)


def _reply(
    case: _Case, role: str, person: Person, template: str | None, none: str, veto: str | None
) -> Reply:
    if template is None:
        return Reply(role, person, None, none)
    to = (person.email or "").lower()
    history, setup = case.history, case.setup
    reason = why_not(
        to, setup.own_addresses, to in history.bounced, history.recent.get(to, 0), setup.policy
    )
    return Reply(role, person, template, reason or veto)


def contract(decision: Decision, mailbox: str | None) -> dict:
    """The `intake parse --json` object: what was extracted and what was decided."""
    extraction = decision.extraction or alone(decision.part)
    evaluation = decision.evaluation
    return {
        "kind": decision.kind,
        "mailbox": mailbox,
        "posting": evaluation.posting,
        "status": evaluation.status,
        **extraction.to_json(),
        "applicant": decision.applicant.to_json() if decision.applicant else None,
        "referred_by": decision.referrer.to_json() if decision.referrer else None,
        "flags": [_flag_json(f) for f in all_flags(extraction, evaluation)],
        "score": decision.verdict.score,
        "replies": [r.to_json() for r in decision.replies],
    }


def _flag_json(flag: RuleFlag) -> dict:
    return {"code": flag.code, "message": flag.message, "evidence": flag.evidence}
