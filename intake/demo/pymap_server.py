"""pymap as the demo and the tests run it: its command line, with the throwaway loopback
account's password compared as it is (pysasl's Cleartext) instead of by 500,000 rounds of
PBKDF2. Each login cost ~0.3 s of pymap's CPU, and two mailboxes polling at once waited
for each other's. Never a way to serve real accounts."""

from __future__ import annotations

from pymap import main as pymap
from pymap.config import IMAPConfig
from pysasl.hashing import Cleartext


def _cleartext(cls: type, passlib_cfg: str | None) -> Cleartext:
    return Cleartext()


if __name__ == "__main__":
    IMAPConfig._get_hash_context = classmethod(_cleartext)  # type: ignore[method-assign]
    pymap.main()
