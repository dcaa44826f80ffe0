"""Structured logs: one line per event (`poll`, `message`, `reply`...) with its fields.

`event(log, "message", mailbox="careers", uid=7, outcome="complete")` prints
`2026-11-25T08:00:00Z INFO message mailbox=careers uid=7 outcome=complete`, or with
`--log-format json` one JSON object per line for log shippers. Records from libraries
(no event name) are printed with their message.

Logs carry row ids, mailbox names, UIDs and counts, never an applicant's name, address
or subject, at any level: those stay in the database, where `intake forget` can reach
them. As a safety net, anything shaped like an address is masked in every line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

ADDRESS = re.compile(r"[^\s<>()\[\],;:\"'@]+@[^\s<>()\[\],;:\"'@]+\.[A-Za-z]{2,}")
MASK = "<address>"
# Libraries that log protocol lines at DEBUG (mail content included): never below INFO.
CHATTY = ("imapclient", "mail.log", "aiosmtpd", "pymap")


def redact(text: str | None) -> str | None:
    """`text` with every email address masked (a server's reason may quote one)."""
    return ADDRESS.sub(MASK, text) if text else text


def event(log: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    fields = {k: redact(v) if isinstance(v, str) else v for k, v in fields.items()}
    log.log(level, name, extra={"event": name, "fields": fields})


def _text(value: Any) -> str:
    text = str(value)
    return (
        json.dumps(text, ensure_ascii=False)
        if (not text or any(c in text for c in ' "=\n'))
        else text
    )


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        head = f"{_timestamp(record)} {record.levelname} "
        if fields is None:
            line = head + f"{record.name}: {redact(record.getMessage())}"
        else:
            line = head + " ".join([record.event, *(f"{k}={_text(v)}" for k, v in fields.items())])
        return line + (f"\n{self.formatException(record.exc_info)}" if record.exc_info else "")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname}
        fields = getattr(record, "fields", None)
        if fields is None:
            data.update(logger=record.name, event="log", message=redact(record.getMessage()))
        else:
            data.update(event=record.event, **fields)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def setup(level: int, fmt: str = "text") -> None:
    """Log to stderr in the chosen format (replacing earlier handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries(level)


def quiet_libraries(level: int) -> None:
    """APScheduler only warns; the protocol chatter of mail libraries never goes below
    INFO, since at DEBUG it is the mail itself."""
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(level, logging.INFO))
