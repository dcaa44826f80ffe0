"""What kind of message this is: an application only on positive evidence.

Delivery reports and auto-replies are recognised first, by their headers (`robots`).
Everything else is scored: each signal in `SIGNALS` (one table, one weight each) that
fires adds its weight, and a message is an application only when the score reaches
`APPLY_SCORE`. Below it, the families of the signals that fired say what it is instead:
spam (an upstream spam verdict, failed authentication, marketing), bulk (list and
bulk-mailer headers, unsubscribe links, tracking pixels), a follow-up, a question for a
person, or other mail.
Pure: a `Part` (what extraction read of the message) in, a `Verdict` out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from intake.decisions.robots import auto_reply_evidence, bounce_evidence
from intake.mail.parse import ParsedMessage

if TYPE_CHECKING:
    from intake.extraction.extract import Part

APPLICATION, FOLLOW_UP, QUESTION, SPAM, BULK, AUTO_REPLY, BOUNCE, OTHER = (
    "application",
    "follow_up",
    "question",
    "spam",
    "bulk",
    "auto_reply",
    "bounce",
    "other",
)
APPLY_SCORE = 4
# An application needs one of these, whatever the score: the words, a resume or a letter.
STRONG = ("applying_language", "resume_attached", "resume_pasted", "cover_letter_attached")

_REPLY_SUBJECT = re.compile(r"^\s*(re|aw|sv|antw|r)\s*(\[\d+\])?\s*:", re.IGNORECASE)


# Yahoo Mail puts a reference to itself ("<...ref@mail.yahoo.com>") on new messages too.
_NOT_A_REFERENCE = re.compile(r"\.ref@mail\.yahoo\.com>$", re.IGNORECASE)


def is_reply(msg: ParsedMessage) -> bool:
    references = [r for r in msg.references if not _NOT_A_REFERENCE.search(r)]
    return bool(msg.in_reply_to or references or _REPLY_SUBJECT.search(msg.subject))


@dataclass(frozen=True)
class Facts:
    """What the signals look at: the part (the candidate's words and documents) and the
    phrases that name the mailbox's postings."""

    part: Part
    phrases: tuple[str, ...] = ()

    @property
    def message(self) -> ParsedMessage:
        return self.part.message

    @property
    def words(self) -> str:
        """Subject and the candidate's new text."""
        return f"{self.part.subject}\n{self.part.body}"

    @property
    def everything(self) -> str:
        """The whole message as received, HTML included (for bulk-mail signs); of a
        forward only the forwarder's note (what they forward may be a notification)."""
        if self.part.forward is not None:
            return self.part.forward.note
        return f"{self.message.text}\n{self.message.html}"


@dataclass(frozen=True)
class Signal:
    name: str
    weight: int
    family: str  # apply | against | spam | bulk
    description: str
    test: Callable[[Facts], str | None]  # the evidence when it fires


SIGNALS: list[Signal] = []


def signal(name: str, weight: int, family: str, description: str):
    """Register a signal; its test returns the evidence (a short quote) or None."""

    def register(test: Callable[[Facts], str | None]):
        SIGNALS.append(Signal(name, weight, family, description, test))
        return test

    return register


def _quote(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text)
    return re.sub(r"\s+", " ", found.group(0)).strip()[:80] if found else None


_APPLYING = re.compile(
    r"\b(I(?:'m|’m| am) (?:hereby )?applying|I(?:'d|’d| would| wish to| want to) (?:like to )?apply"
    r"|I(?:'d|’d| would) like to (?:apply|join|be considered)|(?:please )?(?:find|see)"
    r" (?:attached|enclosed|below)?\s*my (?:resume|cv|résumé|application|cover letter)"
    r"|(?:please )?find (?:attached|enclosed)|(?:my )?(?:resume|cv|résumé) is attached"
    r"|attached (?:is|are|please find) my|I(?:'m|’m| am) (?:writing|excited|interested)"
    r" (?:to apply|in applying|to express my interest)"
    r"|(?:application|applying|I apply) for (?:the|a|an|your)\b|^\s*application\s*[:-]"
    r"|bewerbung|candidature|candidatura|solicitud|postulación)",
    re.IGNORECASE | re.MULTILINE,
)
_FOLLOW_UP = re.compile(
    r"\b(follow(?:ing)?[- ]up on my (?:application|email|message)|status of my application"
    # "any news?", "an update on my application", not "any news about the position?"
    r"|(?:any|an) (?:update|news)s?\b(?! (?:on|about|regarding) (?:the|your|this) \w+)"
    r"|forgot to attach"
    r"|I (?:have )?(?:already )?(?:applied|sent (?:you )?my application)"
    r" (?:on|last|earlier|a few|two|three)"
    r"|as requested,? (?:here|please find|attached)|re-?sending my|heard back"
    r"|(?:thank you|thanks) (?:again )?for (?:the|taking the time|your time|meeting|speaking"
    r"|having me|inviting me)"
    r"[^.]{0,60}\b(?:interview|call|conversation|meeting|chat|visit))\b",
    re.IGNORECASE,
)
# Asking first, applying later: "before I apply", "I plan to submit an application".
_ASKS_FIRST = re.compile(
    r"\b(before (?:I |we )?(?:apply|applying|submit\w*)"
    r"|(?:plan|planning|intend|intending|going) to (?:submit|send|apply)"
    r"|(?:wanted|would like|want) to ask|I have a (?:quick |short )?question"
    r"|(?:how|where|when) (?:do|can|could|should) (?:I|we|one) (?:apply|send|submit)"
    r"|(?:a |one )?(?:quick |short )?question (?:about|regarding|on))",
    re.IGNORECASE,
)
_JOB_WORDS = re.compile(
    r"\b(application|applying|internship|intern|position|opening|role|job|candidate|resume|cv"
    r"|résumé|vacancy|hiring)\b",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"\A\s*(?:dear|hello|hi|hey|good (?:morning|afternoon|evening)|greetings|to whom)\b[^\n]{0,60}",
    re.IGNORECASE,
)
_CODE_LINK = re.compile(
    r"\b(?:github\.com|gist\.github\.com|gitlab\.com|bitbucket\.org|codeberg\.org)/[\w.-]+"
    r"|\bgit\s?hub\b[^\n]{0,25}@[\w-]+",
    re.IGNORECASE,
)
_AGENCY = re.compile(
    r"\b(recruit(?:ing|ment) (?:agency|firm|partner)|staffing (?:agency|firm|company|partner)"
    r"|talent (?:agency|partner|acquisition firm)|our candidates|placement fee|headhunt\w*"
    r"|we (?:have|represent) (?:several |a number of |many |top |pre-vetted )?"
    r"(?:candidates|engineers|developers))\b",
    re.IGNORECASE,
)
# Questions are sentences of three words or more ending in "?" (links removed first).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")
# Each starts only after a space or a bracket: a long run without one is scanned once.
_URLS = re.compile(r"(?<![^\s<(\[])(?:https?://|www\.)\S+|(?<![^\s<(\[])[^\s@<>]+@[^\s<>]+")
_BULK_MAILER = re.compile(
    r"mailchimp|sendgrid|mailgun|marketo|hubspot|constant ?contact|sendinblue|brevo|mailjet"
    r"|campaign ?monitor|klaviyo|salesforce marketing|exacttarget|acoustic|eloqua"
    r"|mass ?mail|bulk ?mail",
    re.IGNORECASE,
)
_BULK_HEADERS = (
    "x-campaign",
    "x-campaignid",
    "x-mc-user",
    "x-mailchimp",
    "x-sg-eid",
    "x-sg-id",
    "x-mailgun-sid",
    "x-mailgun-tag",
    "x-ses-outgoing",
    "x-csa-complaints",
    "x-marketoid",
    "x-mailer-recptid",
    "x-google-group-id",
    "x-mailman-version",
    "x-beenthere",
    "x-listmember",
)
_UNSUBSCRIBE = re.compile(
    r"unsubscribe|opt[ -]out|view (?:this (?:e-?mail|message) )?(?:in|on) (?:your|a|the)? ?"
    r"(?:web )?browser|view (?:it )?online|manage (?:your )?(?:email )?(?:preferences|subscription)"
    r"|update your (?:email )?preferences|to stop receiving|you (?:are )?receiv(?:e|ed|ing) this"
    r" (?:e-?mail|message) because|abbestellen|se désabonner|darse de baja|отписаться|退订",
    re.IGNORECASE,
)
_PIXEL = re.compile(
    r"<img\b[^>]*?(?:width\s*=\s*[\"']?[01]\s*(?:px)?[\"']?[^>]*?height\s*=\s*[\"']?[01]\b"
    r"|height\s*=\s*[\"']?[01]\s*(?:px)?[\"']?[^>]*?width\s*=\s*[\"']?[01]\b"
    r"|style\s*=\s*[\"'][^\"']*width:\s*[01]px;?\s*height:\s*[01]px)",
    re.IGNORECASE,
)
_SPAM_VERDICT = {
    "x-spam-flag": re.compile(r"^\s*yes", re.IGNORECASE),
    "x-spam-status": re.compile(r"^\s*yes", re.IGNORECASE),
    "x-spam": re.compile(r"^\s*(?:yes|spam|true)", re.IGNORECASE),
    "x-spam-verdict": re.compile(r"spam", re.IGNORECASE),
    "x-barracuda-spam-status": re.compile(r"^\s*yes", re.IGNORECASE),
    "x-ms-exchange-organization-scl": re.compile(r"^\s*[5-9]\b"),
    "x-spam-level": re.compile(r"^\s*\*{5,}"),
}
_AUTH_FAILURE = re.compile(r"\b(dmarc=fail|spf=fail|dkim=fail)\b", re.IGNORECASE)
_MARKETING = re.compile(
    r"\b(\d{1,2}% off|free shipping|limited[- ]time|act now|buy now|order now|special offer"
    r"|lowest prices?|click here|you(?:'ve| have) (?:won|been selected)|winner|lottery|jackpot"
    r"|claim your|risk[- ]free|100% free|viagra|cialis|pharmacy|casino|loan offer|investment"
    r" opportunity|earn \$|work from home|wire transfer|western union|bitcoin|crypto"
    r"|refinanc\w+|weight loss|meet singles|invoice[s]? (?:for|issued)|增值税|发票|代开"
    r"|скидк\w*|заработ\w*|préstamo|lotería|ganador|empréstimo|crédito (?:fácil|rápido|aprovado)"
    r"|dinheiro rápido|sem consulta|juros baixos)",
    re.IGNORECASE,
)


@signal("applying_language", 4, "apply", "says it applies: 'I am applying', 'find my resume'")
def _applying(facts: Facts) -> str | None:
    if _ASKS_FIRST.search(facts.words) and not facts.part.documents:
        return None  # "before I apply, a question": the application is still to come
    return _quote(_APPLYING, facts.words)


@signal("resume_attached", 4, "apply", "an attachment is a resume by its name or its text")
def _resume(facts: Facts) -> str | None:
    return next((d.filename or "resume" for d in facts.part.documents if d.role == "resume"), None)


@signal("document_attached", 1, "apply", "a PDF or DOCX nothing else says is a resume")
def _document(facts: Facts) -> str | None:
    unclaimed = (
        d for d in facts.part.documents if d.role == "other" and d.content.format in ("pdf", "docx")
    )
    return next((d.filename or "document" for d in unclaimed), None)


@signal("resume_pasted", 3, "apply", "a resume pasted into the body (section headings)")
def _pasted(facts: Facts) -> str | None:
    return "resume sections in the body" if facts.part.pasted_resume else None


@signal("cover_letter_attached", 2, "apply", "an attachment is a cover letter")
def _letter(facts: Facts) -> str | None:
    documents = facts.part.documents
    return next((d.filename or "cover letter" for d in documents if d.role == "cover_letter"), None)


@signal("posting_named", 2, "apply", "names a posting of this mailbox (title or match phrase)")
def _posting(facts: Facts) -> str | None:
    words = facts.words.lower()
    return next((p for p in facts.phrases if p.lower() in words), None)


@signal("job_words", 1, "apply", "the subject talks of an application, internship, position...")
def _job_words(facts: Facts) -> str | None:
    return _quote(_JOB_WORDS, facts.part.subject)


@signal("code_link", 1, "apply", "a link to GitHub, a gist, GitLab or Bitbucket")
def _code(facts: Facts) -> str | None:
    return _quote(_CODE_LINK, facts.part.body) or next(
        (u for u in facts.part.urls if _CODE_LINK.search(u)), None
    )


@signal("period", 1, "apply", "asks for an internship period")
def _period(facts: Facts) -> str | None:
    return facts.part.period.text if facts.part.period else None


@signal("greeting", 1, "apply", "opens with a personal greeting ('Dear ...', 'Hello ...')")
def _greeting(facts: Facts) -> str | None:
    return _quote(_GREETING, facts.part.body)


@signal("follow_up_language", -6, "follow_up", "asks about an earlier application")
def _follow_up(facts: Facts) -> str | None:
    return _quote(_FOLLOW_UP, facts.words)


@signal("asks_question", -3, "question", "a short question about a job, nothing attached")
def _question(facts: Facts) -> str | None:
    body = _URLS.sub(" ", facts.part.body)
    if facts.part.documents or len(body.split()) >= 250 or _applying(facts):
        return None
    if not (_JOB_WORDS.search(facts.words) or _posting(facts)):
        return None
    asked = (q.strip() for q in _SENTENCE_END.split(body) if q.rstrip().endswith("?"))
    return next((" ".join(q.split())[:80] for q in asked if len(q.split()) >= 3), None)


@signal("agency_pitch", -5, "other", "a recruiting agency or vendor offering candidates")
def _agency(facts: Facts) -> str | None:
    return _quote(_AGENCY, facts.part.body)


@signal("automated", -10, "bulk", "Auto-Submitted: auto-generated, X-Auto-Response-Suppress")
def _automated(facts: Facts) -> str | None:
    """Mail a system sent (RFC 3834 auto-generated, Exchange's X-Auto-Response-Suppress: a
    sender that does not want automatic answers), not an answer to us."""
    headers = facts.message.headers
    value = headers.get("auto-submitted", "").strip().lower()
    if value and not value.startswith(("no", "auto-replied")):
        return f"Auto-Submitted: {value}"
    suppress = headers.get("x-auto-response-suppress", "").strip()
    return f"X-Auto-Response-Suppress: {suppress}" if suppress else None


@signal("list_headers", -6, "bulk", "List-Id, List-Unsubscribe, List-Post or Precedence: bulk")
def _list(facts: Facts) -> str | None:
    headers = facts.message.headers
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    return next(
        (name for name in ("list-id", "list-unsubscribe", "list-post") if name in headers), None
    )


@signal("bulk_mailer", -5, "bulk", "sent by a bulk or marketing mailer (its headers)")
def _mailer(facts: Facts) -> str | None:
    headers = facts.message.headers
    found = next((name for name in _BULK_HEADERS if name in headers), None)
    mailer = headers.get("x-mailer", "") + " " + headers.get("user-agent", "")
    return found or _quote(_BULK_MAILER, mailer)


@signal("unsubscribe_link", -4, "bulk", "'unsubscribe', 'view in browser', 'manage preferences'")
def _unsubscribe(facts: Facts) -> str | None:
    return _quote(_UNSUBSCRIBE, facts.everything)


@signal("tracking_pixel", -2, "bulk", "a 1x1 image in the HTML (open tracking)")
def _pixel(facts: Facts) -> str | None:
    return _quote(_PIXEL, facts.message.html)


@signal("spam_verdict", -10, "spam", "an upstream filter said spam (X-Spam-Flag, X-Spam-Status...)")
def _verdict(facts: Facts) -> str | None:
    headers = facts.message.headers
    return next(
        (
            f"{name}: {headers[name][:40]}"
            for name, yes in _SPAM_VERDICT.items()
            if name in headers and yes.search(headers[name])
        ),
        None,
    )


@signal("auth_failure", -6, "spam", "Authentication-Results: dmarc, spf or dkim failed")
def _auth(facts: Facts) -> str | None:
    return _quote(_AUTH_FAILURE, facts.message.headers.get("authentication-results", ""))


@signal("undisclosed_recipients", -3, "against", "sent to undisclosed recipients (no To)")
def _undisclosed(facts: Facts) -> str | None:
    to = facts.message.headers.get("to", "")
    if "undisclosed" in to.lower():
        return to.strip()[:60]
    return "no To header" if not facts.message.to and "to" not in facts.message.headers else None


@signal("marketing_language", -3, "spam", "sales, prizes, pills, loans, invoices")
def _marketing(facts: Facts) -> str | None:
    return _quote(_MARKETING, facts.message.subject + "\n" + facts.everything)


@signal("no_human_text", -3, "against", "no words for a person to read and nothing attached")
def _empty(facts: Facts) -> str | None:
    if facts.part.documents or len(facts.part.body.split()) >= 5:
        return None
    return "fewer than five words"


@dataclass(frozen=True)
class Hit:
    signal: str
    weight: int
    family: str
    evidence: str | None  # None: did not fire

    @property
    def fired(self) -> bool:
        return self.evidence is not None


@dataclass(frozen=True)
class Verdict:
    kind: str
    score: int = 0
    reason: str = ""
    signals: tuple[Hit, ...] = field(default_factory=tuple)

    @property
    def fired(self) -> tuple[Hit, ...]:
        return tuple(h for h in self.signals if h.fired)

    def families(self) -> set[str]:
        return {h.family for h in self.fired}

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "score": self.score,
            "reason": self.reason,
            "signals": [
                {"signal": h.signal, "weight": h.weight, "evidence": h.evidence}
                for h in self.signals
            ],
        }


def classify(part: Part, phrases: Iterable[str] = ()) -> Verdict:
    """The kind of one message, with every signal (fired or not) and the score."""
    msg = part.message
    if evidence := bounce_evidence(msg):
        return Verdict(BOUNCE, reason=evidence)
    if evidence := auto_reply_evidence(msg):
        return Verdict(AUTO_REPLY, reason=evidence)
    facts = Facts(part, tuple(phrases))
    hits = tuple(Hit(s.name, s.weight, s.family, s.test(facts)) for s in SIGNALS)
    score = sum(h.weight for h in hits if h.fired)
    fired = {h.signal for h in hits if h.fired}
    kind, reason = _kind(score, fired, {h.family for h in hits if h.fired}, part)
    return Verdict(kind, score, reason, hits)


def _kind(score: int, fired: set[str], families: set[str], part: Part) -> tuple[str, str]:
    strong = [name for name in STRONG if name in fired]
    if score >= APPLY_SCORE and strong:
        return APPLICATION, f"score {score} >= {APPLY_SCORE}, with {strong[0]}"
    below = (
        f"score {score} < {APPLY_SCORE}"
        if score < APPLY_SCORE
        else "no applying words, resume or letter"
    )
    if "spam" in families and (score < 0 or {"spam_verdict", "auth_failure"} & fired):
        return SPAM, f"{below}; spam signs"
    if "bulk" in families:
        return BULK, f"{below}; bulk or list mail"
    if "follow_up" in families:
        return FOLLOW_UP, f"{below}; asks about an earlier application"
    if "question" in families:
        return QUESTION, f"{below}; a question for a person"
    if is_reply(part.message) and part.forward is None:
        return FOLLOW_UP, f"{below}; a reply"
    return OTHER, f"{below}; nothing says it is an application"


def table() -> list[tuple[str, int, str]]:
    """The signal table, for the README and `intake rules explain`."""
    return [(s.name, s.weight, s.description) for s in SIGNALS]
