"""The quarantine: stored messages that could not be processed (`status = failed`), for
`intake quarantine list|show|retry`."""

from __future__ import annotations

from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlmodel import Session, col, select

from intake.errors import IntakeError
from intake.mail.parse import decode_words
from intake.storage import models

NOT_DOWNLOADED = "not downloaded: "  # the reason of a message stored as its headers only
SHOWN_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Message-ID")


def listed(session: Session, limit: int | None = None) -> list[models.RawMessage]:
    """Quarantined messages, newest first."""
    query = select(models.RawMessage).where(models.RawMessage.status == "failed")
    return list(session.exec(query.order_by(col(models.RawMessage.id).desc()).limit(limit)))


def quarantined(session: Session, raw_id: int) -> models.RawMessage:
    """One quarantined message, or an error saying why it is not one."""
    raw = session.get(models.RawMessage, raw_id)
    if raw is None:
        raise IntakeError(f"no stored message {raw_id}")
    if raw.status != "failed":
        raise IntakeError(f"message {raw_id} is not quarantined (status {raw.status})")
    return raw


def refusal(raw: models.RawMessage) -> str | None:
    """Why a quarantined message cannot be processed again, if it cannot."""
    if (raw.error or "").startswith(NOT_DOWNLOADED):
        return (
            f"message {raw.id} was never downloaded (larger than limits.message_mb): only its "
            "headers are stored, so there is nothing to process"
        )
    if raw.purged_at is not None:
        return f"message {raw.id}: its raw bytes were deleted by retention"
    return None


def headers(raw: bytes) -> list[tuple[str, str]]:
    """The headers an operator recognises a message by, decoded, in a fixed order."""
    try:
        parsed = BytesHeaderParser(policy=compat32).parsebytes(raw)
    except Exception:
        return []
    return [(name, _decoded(parsed[name])) for name in SHOWN_HEADERS if parsed[name] is not None]


def _decoded(value: object) -> str:
    """Decoded for a terminal: hostile mail may hold escape sequences, so every control
    character (CR/LF and ESC included) becomes a space."""
    text = decode_words(str(value))
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
