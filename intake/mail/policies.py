"""The standard library's email policies, with each header class built once.

`email.headerregistry.HeaderRegistry` makes a new class with `type()` for every header it
parses or sets: a third of the time of building a reply, and a share of reading every
address header. The classes it makes are stateless, so one per header name serves all.
"""

from __future__ import annotations

from email import headerregistry, policy


class _Registry(headerregistry.HeaderRegistry):
    def __init__(self) -> None:
        super().__init__()
        self._built: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        if key not in self._built:
            self._built[key] = super().__getitem__(name)
        return self._built[key]


DEFAULT = policy.default.clone(header_factory=_Registry())
SMTP = policy.SMTP.clone(header_factory=_Registry())
