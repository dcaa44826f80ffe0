"""IMAP IDLE (RFC 2177): learn about new mail within seconds instead of at the next poll.

A watcher holds its own connection in IDLE and, when the server reports EXISTS, asks
the daemon to poll that mailbox now; the poll itself is the ordinary one, so there is
one code path that stores mail. IDLE is re-issued every `idle_seconds` (servers may
drop it after 30 minutes). Without IDLE support the watcher says so and stops: the
scheduled polling goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from intake.config import MailboxConfig
from intake.errors import IntakeError
from intake.logs import event
from intake.mail.mailbox import NETWORK_ERRORS, connect

log = logging.getLogger(__name__)
CHECK_SECONDS = 1.0  # how often a waiting watcher looks at the stop flag
CLOSED_AFTER = 3  # idle_check answering nothing without waiting this often: EOF
FIRST_RETRY_SECONDS = 1.0  # after an error, reconnect this soon, doubling up to RETRY_SECONDS
RETRY_SECONDS = 30.0


class Watcher(threading.Thread):
    def __init__(self, box: MailboxConfig, wake: Callable[[], None], stop: threading.Event):
        super().__init__(name=f"idle:{box.name}", daemon=True)
        self.box, self.wake, self.stop = box, wake, stop
        self.supported: bool | None = None  # None until the server has answered

    def run(self) -> None:
        """IDLE until stopped. A broken IDLE (the connection cut, a response imapclient
        cannot read) is followed by a poll at once, since what the server was saying may
        be news, and a new connection after FIRST_RETRY_SECONDS, doubling while it fails."""
        delay = FIRST_RETRY_SECONDS
        while not self.stop.is_set():
            try:
                with connect(self.box) as mailbox:
                    client = mailbox.client
                    self.supported = client.has_capability("IDLE")
                    if not self.supported:
                        event(
                            log,
                            "idle_unsupported",
                            mailbox=self.box.name,
                            action="polling every poll_seconds",
                        )
                        return
                    client.select_folder(self.box.folder, readonly=True)
                    while not self.stop.is_set():
                        self._idle_once(client)
                        delay = FIRST_RETRY_SECONDS  # IDLE works: a later error retries soon
            except (IntakeError, *NETWORK_ERRORS) as exc:
                event(
                    log,
                    "idle_error",
                    logging.WARNING,
                    mailbox=self.box.name,
                    error=str(exc),
                    retry_seconds=delay,
                )
                self.wake()
                self.stop.wait(delay)
                delay = min(delay * 2, RETRY_SECONDS)

    def _idle_once(self, client) -> None:
        """One IDLE command, ended after idle_seconds, on new mail, or on stop.

        Mail that arrived before IDLE began is not announced by it, so each IDLE starts
        with one poll: nothing falls between a poll and the next IDLE."""
        client.idle()
        event(log, "idle_started", mailbox=self.box.name, seconds=self.box.idle_seconds)
        self.wake()
        deadline = time.monotonic() + self.box.idle_seconds
        news, instant = False, 0
        try:
            while not news and not self.stop.is_set() and time.monotonic() < deadline:
                asked = time.monotonic()
                responses = client.idle_check(timeout=CHECK_SECONDS)
                news = any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
                # imapclient returns nothing, at once, when the connection has ended
                waited = responses or time.monotonic() - asked > CHECK_SECONDS / 2
                instant = 0 if waited else instant + 1
                if instant >= CLOSED_AFTER:
                    raise IntakeError(f"{self.box.name}: the IDLE connection was closed")
        finally:
            client.idle_done()
        if news:
            event(log, "idle_new_mail", mailbox=self.box.name)
            self.wake()
