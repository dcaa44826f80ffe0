"""Load and validate `config.toml`: fail at start, on one line, naming the key.

Secrets never live in the file: a mailbox names the environment variable that
holds its password (`password_env`), and the database URL may come from
`INTAKE_DATABASE_URL`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from intake.errors import ConfigError
from intake.limits import Limits

DEFAULT_PATH = Path("config.toml")
DATABASE_ENV = "INTAKE_DATABASE_URL"
TlsMode = Literal["implicit", "starttls", "none"]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MailboxConfig(_Strict):
    """One IMAP folder to poll. `name` is the table's key (`[mailboxes.careers]`)."""

    name: Name
    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    tls: TlsMode = "implicit"
    verify_certificates: bool = True
    username: str = Field(min_length=1)
    password_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    folder: str = Field(default="INBOX", min_length=1)
    batch_size: int = Field(default=50, ge=1, le=1000)
    max_per_poll: int = Field(default=500, ge=1)
    after_store: Literal["leave", "mark_seen", "move"] = "leave"
    move_to: str | None = None
    timeout_seconds: float = Field(default=60.0, gt=0)
    # The address applicants write to: replies carry it as Reply-To and Return-Path (so
    # bounces come back here), and mail from it is never answered. Defaults to username.
    address: str | None = Field(default=None, pattern=r"^[^@\s<>]+@[^@\s<>]+$")
    # `intake run`: poll every poll_seconds; with idle = true also wait in IMAP IDLE and
    # poll as soon as the server reports new mail, re-issuing IDLE every idle_seconds
    # (servers may drop an IDLE after 30 minutes, NAT boxes sooner).
    # An application that fits no posting of this mailbox (or several equally) gets a
    # neutral "received; a recruiter will route it" (templates/default/received_unrouted).
    reply_unrouted: bool = True
    poll_seconds: float = Field(default=300.0, ge=1)
    idle: bool = False
    idle_seconds: float = Field(default=600.0, ge=1, le=1740)

    @model_validator(mode="after")
    def _move_needs_target(self) -> MailboxConfig:
        if (self.after_store == "move") != bool(self.move_to):
            raise ValueError('set move_to exactly when after_store = "move"')
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.tls == "implicit" else 143)

    @property
    def reply_address(self) -> str | None:
        return self.address or (self.username if "@" in self.username else None)

    def password(self) -> str:
        """Read the password from the environment at the moment it is needed."""
        return _secret(self.password_env, f"mailboxes.{self.name}.password_env")


def _secret(variable: str, key: str) -> str:
    value = os.environ.get(variable)
    if value is None:
        raise ConfigError(f"{key}: environment variable {variable} is not set")
    return value


class SmtpConfig(_Strict):
    """Where replies and digests are sent from."""

    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    tls: TlsMode = "starttls"
    verify_certificates: bool = True
    username: str | None = None
    password_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    from_address: str = Field(min_length=3)
    dry_run: bool = False
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Temporary failures (4xx, connection refused) are retried after 1, 2, 4... times
    # retry_seconds, at most max_retry_seconds apart, until max_attempts.
    retry_seconds: float = Field(default=60.0, gt=0)
    max_retry_seconds: float = Field(default=6 * 3600.0, gt=0)
    max_attempts: int = Field(default=10, ge=1)

    @property
    def effective_port(self) -> int:
        return self.port or {"implicit": 465, "starttls": 587, "none": 25}[self.tls]

    def password(self) -> str | None:
        return _secret(self.password_env, "smtp.password_env") if self.password_env else None


class RepliesConfig(_Strict):
    """Acknowledgements to applicants (they need an [smtp] table to be sent)."""

    enabled: bool = True
    # Loop safety: at most this many replies to one address per window.
    max_per_sender: int = Field(default=3, ge=0)
    window_hours: float = Field(default=24.0, gt=0)
    # A message from the same person about the same posting within this many days is
    # folded into their application; later, it is a new application flagged duplicate.
    follow_up_days: int = Field(default=60, ge=0)
    templates: Path = Path("templates")
    team: str = Field(default="The recruiting team", min_length=1)


class DatabaseConfig(_Strict):
    url: str = "sqlite:///data/intake.db"


class RulesConfig(_Strict):
    dir: Path = Path("rules")


class DocumentsConfig(_Strict):
    """How attachments are read. OCR of scanned resumes is opt-in: it needs the
    `tesseract` program (Debian: tesseract-ocr) and takes seconds per page."""

    ocr: bool = False
    ocr_languages: str = Field(default="eng", pattern=r"^[a-z_]+(\+[a-z_]+)*$")
    ocr_seconds: float = Field(default=60.0, gt=0)
    workers: int = Field(default=0, ge=0)  # messages read at once; 0: one per core


class DaemonConfig(_Strict):
    """`intake run`: how often the outbox is tried (replies also go right after a poll)."""

    send_seconds: float = Field(default=60.0, ge=1)


class DigestConfig(_Strict):
    """The recruiters' digest: when, in which time zone, to whom, and where it is kept."""

    schedule: str = "0 8 * * 1-5"  # cron: minute hour day month weekday; "": never
    timezone: str = "UTC"
    recipients: tuple[Annotated[str, Field(pattern=r"^[^@\s<>]+@[^@\s<>]+$")], ...] = ()
    dir: Path = Path("data/digests")
    excerpt_chars: int = Field(default=300, ge=0)
    max_cards: int = Field(default=200, ge=1)  # per list: the rest are counted

    @model_validator(mode="after")
    def _valid_schedule(self) -> DigestConfig:
        from apscheduler.triggers.cron import CronTrigger

        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r} (try Europe/Berlin)") from None
        if self.schedule:
            try:
                CronTrigger.from_crontab(self.schedule, timezone=zone)
            except ValueError as exc:
                raise ValueError(f"schedule {self.schedule!r}: {exc}") from None
        return self


class WebConfig(_Strict):
    """The recruiters' workspace (`intake web`): where it listens (loopback; TLS comes
    from a reverse proxy), the address the digest links to, and the environment variable
    holding the key that signs session cookies (a secret: never in this file)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    secret_env: str = Field(default="INTAKE_WEB_SECRET", min_length=1)
    session_hours: float = Field(default=12.0, gt=0)
    secure_cookies: bool = False  # true behind an HTTPS proxy: cookies never sent in clear
    max_failed_signins: int = Field(default=5, ge=1)  # then the account waits lockout_minutes
    lockout_minutes: float = Field(default=15.0, gt=0)

    def secret(self) -> str:
        """The session key, or a ConfigError naming the variable to set."""
        value = os.environ.get(self.secret_env, "")
        if len(value) < 32:
            raise ConfigError(
                f"environment variable {self.secret_env} (web.secret_env) must hold at least "
                "32 characters to sign session cookies (for example: "
                'python -c "import secrets; print(secrets.token_urlsafe(32))")'
            )
        return value


class WorkersConfig(_Strict):
    """Who does the work: the in-process daemon (one per database, the default), or a
    fleet of `intake run` workers on any number of machines sharing a PostgreSQL database
    through procrastinate's jobs."""

    engine: Literal["daemon", "procrastinate"] = "daemon"
    concurrency: int = Field(default=2, ge=1)  # jobs at once in one worker
    # a worker silent this long (no heartbeat) loses its jobs, and its mailboxes, to others
    lease_seconds: float = Field(default=30.0, ge=5)


class RetentionConfig(_Strict):
    """How long personal data is kept, in days (0: for ever, the default: deleting mail is
    irreversible, so an operator opts in). `intake purge` applies it, and `intake run`
    daily. Only closed and ineligible applications lose their mail (open ones wait for a
    recruiter); the rows stay, so a message is recognised when polled again."""

    raw_mail_days: int = Field(default=0, ge=0)  # raw mail of closed and ineligible applications
    documents_days: int = Field(default=0, ge=0)  # their documents' text and cover letters
    other_mail_days: int = Field(default=0, ge=0)  # mail that made no application, quarantine

    @property
    def deletes(self) -> bool:
        """Whether any of it is ever deleted (some *_days is not 0)."""
        return any(self.model_dump().values())


class Config(_Strict):
    database: DatabaseConfig = DatabaseConfig()
    rules: RulesConfig = RulesConfig()
    mailboxes: tuple[MailboxConfig, ...] = ()
    smtp: SmtpConfig | None = None
    replies: RepliesConfig = RepliesConfig()
    documents: DocumentsConfig = DocumentsConfig()
    limits: Limits = Limits()
    daemon: DaemonConfig = DaemonConfig()
    # made when used: validating a schedule imports APScheduler, which `--help` never needs
    digest: DigestConfig = Field(default_factory=DigestConfig)
    retention: RetentionConfig = RetentionConfig()
    web: WebConfig = WebConfig()
    workers: WorkersConfig = WorkersConfig()
    base_dir: Path = Path(".")

    def require_secrets(self, boxes: list[MailboxConfig], smtp: bool) -> None:
        """Every environment variable these mailboxes (and, with `smtp`, the SMTP server)
        need is set: checked before anything starts, all missing ones named at once."""
        wanted = [(b.password_env, f"mailboxes.{b.name}.password_env") for b in boxes]
        if smtp and self.smtp and self.smtp.password_env and not self.smtp.dry_run:
            wanted.append((self.smtp.password_env, "smtp.password_env"))
        missing = [f"{var} ({key})" for var, key in wanted if os.environ.get(var) is None]
        if missing:
            noun = "variable is" if len(missing) == 1 else "variables are"
            raise ConfigError(f"environment {noun} not set: {', '.join(missing)}")

    def mailboxes_named(self, names: tuple[str, ...] | None) -> list[MailboxConfig]:
        """The mailboxes named (all when none are), or an error listing the known ones."""
        if not self.mailboxes:
            raise ConfigError(f"{self.base_dir}: no [mailboxes.NAME] table in the config")
        return [self.mailbox(name) for name in names] if names else list(self.mailboxes)

    def mailbox(self, name: str) -> MailboxConfig:
        for box in self.mailboxes:
            if box.name == name:
                return box
        known = ", ".join(b.name for b in self.mailboxes) or "none configured"
        raise ConfigError(f"no mailbox named {name!r} (known: {known})")

    @property
    def rules_dir(self) -> Path:
        """The posting rules; a relative path is relative to the config file."""
        return (self.base_dir / self.rules.dir).resolve()

    @property
    def digest_dir(self) -> Path:
        return (self.base_dir / self.digest.dir).resolve()

    @property
    def templates_dir(self) -> Path:
        return (self.base_dir / self.replies.templates).resolve()

    @property
    def database_url(self) -> str:
        """The URL to connect to; relative SQLite paths are relative to the config file."""
        url = os.environ.get(DATABASE_ENV) or self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            url = prefix + str((self.base_dir / url[len(prefix) :]).resolve())
        return url


def load(path: Path) -> Config:
    """Read and validate a config file, or raise ConfigError with one readable line."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (copy config.example.toml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return from_dict(data, path)


def from_dict(data: dict, path: Path) -> Config:
    """Validate parsed TOML; mailbox tables are keyed by their name."""
    boxes = data.get("mailboxes", {})
    if not isinstance(boxes, dict):
        raise ConfigError(f"{path}: mailboxes: must be tables like [mailboxes.careers]")
    for name, box in boxes.items():
        if not isinstance(box, dict):
            raise ConfigError(f"{path}: mailboxes.{name}: must be a table [mailboxes.{name}]")
    shaped = dict(data)
    shaped["mailboxes"] = [{"name": name, **box} for name, box in boxes.items()]
    shaped["base_dir"] = path.parent
    try:
        return Config.model_validate(shaped)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc, shaped)}") from None


def _describe(exc: ValidationError, data: dict) -> str:
    """First pydantic error as `dotted.key: problem`, with mailbox names not indexes."""
    err = exc.errors()[0]
    loc = list(err["loc"])
    if len(loc) >= 2 and loc[0] == "mailboxes" and isinstance(loc[1], int):
        loc[1] = data["mailboxes"][loc[1]]["name"]
    key = ".".join(str(part) for part in loc) or "(top level)"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif err["type"] == "missing":
        message = "required key is missing"
    elif "input" in err and not isinstance(err["input"], dict) and err["type"] != "model_type":
        message += f" (got {err['input']!r})"
    return f"{key}: {message}"
