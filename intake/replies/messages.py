"""Acknowledgements: whether to reply, which template, and the RFC 3834-correct message.

Pure: the caller supplies what the database knows (earlier replies to this address,
bouncing addresses). Headers are set here from validated values, never from template
output, and no applicant-supplied text can inject a header (CR/LF are removed).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import cache
from pathlib import Path

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    select_autoescape,
)

from intake import resources
from intake.decisions.rules import Posting
from intake.decisions.safety import BUILT_IN
from intake.errors import ConfigError
from intake.mail.policies import SMTP

DEFAULT_TEMPLATES = resources.templates()
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def reply_message_id(application_id: int, template: str, trigger: str, domain: str) -> str:
    """Deterministic: the same application, outcome and triggering message give the same id,
    so a crash between sending and recording can only repeat the same reply."""
    digest = hashlib.sha256(f"{application_id}|{template}|{trigger}".encode()).hexdigest()[:24]
    return f"<intake.{digest}@{domain}>"


@cache
def environment(directory: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(str(directory)),
        autoescape=select_autoescape(enabled_extensions=("html.j2", "html"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(
    directory: Path, posting: str | None, template: str, context: dict
) -> tuple[str, str | None]:
    """(text, html or None) from `<posting>/<template>.txt.j2`, falling back to `default/`."""
    text = _template(directory, posting, template, "txt")
    if text is None:
        raise TemplateNotFound(_candidates(posting, template, "txt"))
    page = _template(directory, posting, template, "html")  # the HTML part is optional
    return text.render(context), page.render(context) if page else None


@cache
def _template(directory: Path, posting: str | None, template: str, part: str) -> Template | None:
    """The template found for a reply part, looked up once per process (a posting's own
    template missing is a failed file lookup each time otherwise). Templates are read
    when first used: a change takes effect when the daemon restarts, as config does."""
    try:
        return environment(directory).select_template(_candidates(posting, template, part))
    except TemplateNotFound:
        return None


def _candidates(posting: str | None, template: str, part: str) -> list[str]:
    folders = [posting, "default"] if posting else ["default"]
    return [f"{folder}/{template}.{part}.j2" for folder in folders]


def check_templates(directory: Path, postings: dict[str, Posting]) -> None:
    """Every template a rules file names exists (for its posting or in default/), and so
    do the built-in ones."""
    if not directory.is_dir():
        raise ConfigError(f"replies.templates: {directory}: templates directory not found")
    problems = [
        f"{directory}: no template default/{name}.txt.j2 (intake's own replies need it)"
        for name in BUILT_IN
        if not (directory / "default" / f"{name}.txt.j2").is_file()
    ]
    for posting in postings.values():
        for key, name in posting.replies.items():
            try:
                environment(directory).select_template(_candidates(posting.id, name, "txt"))
            except TemplateNotFound:
                problems.append(
                    f"{posting.path}: replies.{key}: no template {posting.id}/{name}.txt.j2 "
                    f"or default/{name}.txt.j2 under {directory}"
                )
    if problems:
        raise ConfigError("\n".join(problems))


def clean(value: str | None) -> str:
    """A header value with every control character (CR, LF...) replaced by a space."""
    return _CONTROL.sub(" ", value or "").strip()


def reply_subject(subject: str) -> str:
    subject = clean(subject) or "your application"
    return subject if re.match(r"^\s*re\s*:", subject, re.IGNORECASE) else f"Re: {subject}"


@dataclass(frozen=True)
class Envelope:
    from_address: str  # "Numenta Careers <careers@numenta.com>"
    reply_to: str  # the mailbox's address
    to_name: str | None
    to_address: str
    subject: str  # the applicant's subject
    in_reply_to: str | None
    references: tuple[str, ...]
    message_id: str
    date: datetime


def build(envelope: Envelope, text: str, html: str | None) -> bytes:
    """The reply, with RFC 3834 and threading headers; bytes ready for SMTP."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = clean(envelope.from_address)
    # decide() never lets a non-ASCII address through; a suppressed row still renders
    to = clean(envelope.to_address).encode("ascii", "replace").decode()
    msg["To"] = formataddr((clean(envelope.to_name), to))
    msg["Reply-To"] = clean(envelope.reply_to)
    msg["Subject"] = reply_subject(envelope.subject)
    msg["Date"] = format_datetime(envelope.date)
    msg["Message-ID"] = envelope.message_id
    if envelope.in_reply_to:
        msg["In-Reply-To"] = clean(envelope.in_reply_to)
        refs = [*envelope.references, envelope.in_reply_to]
        msg["References"] = " ".join(dict.fromkeys(clean(r) for r in refs if r))
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["Precedence"] = "auto_reply"
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


# What to send, for each flag that makes an application incomplete.
NEEDED = {
    "missing_cover_letter": "a cover letter: a few paragraphs on why this position",
    "missing_resume": "your resume, attached as a PDF or DOCX file",
    "missing_github": "a link to your GitHub profile (or another public code repository)",
    "missing_internship_period": "the period of your internship (for example: June-August 2017)",
    "missing_internship_area": "the area you apply for: Algorithms or Software Engineering",
    "missing_coursework": "a list of your relevant coursework",
    "resume_unreadable": "a readable copy of your resume (we could not open the file you sent)",
    "eligibility_unknown": "a sentence on your eligibility: {accepted}",
}
REASONS = {
    "ineligible": "the position is open only to {accepted}",
    "after_deadline": "the posting stopped accepting applications before your message arrived",
    "not_yet_open": "the posting does not accept applications yet",
    "period_filled": "the internship period you asked for is already filled",
}
BASIS_WORDS = {
    "us_citizen": "US citizens",
    "green_card": "green card holders",
    "us_university_enrolled": "students enrolled at a US university",
    "nafta_citizen": "citizens of Canada or Mexico (NAFTA)",
}


def context(
    posting: Posting | None,
    codes: list[str],
    applicant_name: str | None,
    resume_filename: str | None,
    team: str,
    *,
    referrer_name: str | None = None,
    candidate_name: str | None = None,
    candidate_known: bool = True,
) -> dict:
    """The variables every template gets, in applicants' words rather than flag codes.
    `referrer_name`: who forwarded the application (in the candidate's reply);
    `candidate_name`, `candidate_known`: whom a referrer's thanks is about."""
    accepted = [BASIS_WORDS[b] for b in posting.eligibility.accepted] if posting else []
    words = {
        "accepted": ", ".join(accepted[:-1])
        + (" or " if len(accepted) > 1 else "")
        + (accepted[-1] if accepted else "")
    }
    return {
        "applicant_name": clean(applicant_name) or "applicant",
        "posting_title": posting.title if posting else None,
        "posting_url": posting.url if posting else None,
        "resume_filename": resume_filename,
        "missing": [NEEDED[c].format(**words) for c in dict.fromkeys(codes) if c in NEEDED],
        "reasons": [REASONS[c].format(**words) for c in dict.fromkeys(codes) if c in REASONS],
        "team": team,
        "referrer_name": clean(referrer_name) or None,
        "candidate_name": clean(candidate_name) or "the candidate",
        "candidate_known": candidate_known,
    }
