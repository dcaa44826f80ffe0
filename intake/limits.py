"""What one message may cost: the limits that hold for the whole message (config `[limits]`).

A careers address is an open door: a message's cost must follow these numbers, never its
size or how its parts were crafted. The work budget covers MIME decoding, HTML conversion
and every document (run in the worker, see `extract.read_isolated`); text is capped
before any matching; a message larger than `message_mb` is never downloaded whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

Positive = Annotated[float, Field(gt=0)]


@dataclass(frozen=True)
class Limits:
    message_mb: Annotated[int, Field(ge=1)] = 30  # larger: stored as headers and a reason only
    message_seconds: Positive = 60.0  # wall time to read the whole message
    memory_mb: Annotated[int, Field(ge=256)] = 1024  # address space of the worker reading it
    document_seconds: Positive = 20.0  # one document, within the message's budget
    documents: Annotated[int, Field(ge=1)] = 10  # documents read per message (not inline images)
    attachment_mb: Annotated[int, Field(ge=1)] = 25  # a larger attachment is not read
    document_chars: Annotated[int, Field(ge=1000)] = 100_000  # text kept per document
    message_chars: Annotated[int, Field(ge=1000)] = 300_000  # the body and all documents together

    @property
    def message_bytes(self) -> int:
        return self.message_mb * 2**20


DEFAULT_LIMITS = Limits()
