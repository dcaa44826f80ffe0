"""Structured logs: one line per event (`poll`, `message`, `reply`...) with its fields.

`event(log, "message", mailbox="careers", uid=7, outcome="complete")` prints
`2026-11-25T08:00:00Z INFO message mailbox=careers uid=7 outcome=complete`, or with
`--log-format json` one JSON object per line for log shippers. Records from libraries
(no event name) are printed with their message.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any


def event(log: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
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
            line = head + f"{record.name}: {record.getMessage()}"
        else:
            line = head + " ".join([record.event, *(f"{k}={_text(v)}" for k, v in fields.items())])
        return line + (f"\n{self.formatException(record.exc_info)}" if record.exc_info else "")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname}
        fields = getattr(record, "fields", None)
        if fields is None:
            data.update(logger=record.name, event="log", message=record.getMessage())
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
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))
