"""Recruiters' accounts: argon2 hashes (argon2-cffi's defaults, rehashed when those
change), the postings each sees, and the sign-in check with its rate limit. Pure of the
web: `intake users` and the sign-in page both call these with a session."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from intake.errors import ConfigError
from intake.storage import models

HASHER = PasswordHasher()
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,99}$")
MIN_PASSWORD = 10
# Verified when the username is unknown, so a wrong name takes as long as a wrong password.
_DUMMY = HASHER.hash("intake: no such account")


@dataclass(frozen=True)
class Lockout:
    """The rate limit: after `attempts` failures in a row, wait `minutes` from the last."""

    attempts: int = 5
    minutes: float = 15.0


def add(session: Session, username: str, password: str, postings: list[str] | None) -> None:
    if not USERNAME.match(username):
        raise ConfigError(f"{username!r}: a username is lower-case letters, digits and ._@-")
    if find_or_none(session, username) is not None:
        raise ConfigError(f"there is already an account {username!r}")
    _strong(password)
    session.add(
        models.Recruiter(username=username, password_hash=HASHER.hash(password), postings=postings)
    )


def find(session: Session, username: str) -> models.Recruiter:
    account = find_or_none(session, username)
    if account is None:
        raise ConfigError(f"no account {username!r} (`intake users list`)")
    return account


def set_password(session: Session, username: str, password: str) -> None:
    _strong(password)
    account = find(session, username)
    account.password_hash = HASHER.hash(password)
    account.failed_signins, account.last_failed_at = 0, None
    session.add(account)


def _strong(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"a password has at least {MIN_PASSWORD} characters")


def sign_in(
    session: Session, username: str, password: str, now: datetime, lockout: Lockout
) -> models.Recruiter | None:
    """The account when the password is right and the account is not locked out; None
    otherwise (the caller says the same thing in every case). Failures are counted."""
    account = find_or_none(session, username.strip().lower())
    if account is None:
        _verify(_DUMMY, password)
        return None
    if locked(account, now, lockout):
        return None
    if not _verify(account.password_hash, password):
        account.failed_signins += 1
        account.last_failed_at = now
        session.add(account)
        return None
    if HASHER.check_needs_rehash(account.password_hash):
        account.password_hash = HASHER.hash(password)
    account.failed_signins, account.last_failed_at = 0, None
    session.add(account)
    return account


def locked(account: models.Recruiter, now: datetime, lockout: Lockout) -> bool:
    if account.failed_signins < lockout.attempts or account.last_failed_at is None:
        return False
    last = account.last_failed_at
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    return now < last + timedelta(minutes=lockout.minutes)


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def sees(account: models.Recruiter, posting: str | None) -> bool:
    """Whether the account may see an application for `posting` (None: no posting fits;
    only accounts that see every posting route those)."""
    return account.postings is None or (posting is not None and posting in account.postings)


def find_or_none(session: Session, username: str) -> models.Recruiter | None:
    return session.exec(
        select(models.Recruiter).where(models.Recruiter.username == username)
    ).first()
