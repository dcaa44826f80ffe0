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
RETRY_SECONDS = 30.0


class Watcher(threading.Thread):
    def __init__(self, box: MailboxConfig, wake: Callable[[], None], stop: threading.Event):
        super().__init__(name=f"idle:{box.name}", daemon=True)
        self.box, self.wake, self.stop = box, wake, stop
        self.supported: bool | None = None  # None until the server has answered

    def run(self) -> None:
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
            except (IntakeError, *NETWORK_ERRORS) as exc:
                event(
                    log,
                    "idle_error",
                    logging.WARNING,
                    mailbox=self.box.name,
                    error=str(exc),
                    retry_seconds=RETRY_SECONDS,
                )
                self.stop.wait(RETRY_SECONDS)

    def _idle_once(self, client) -> None:
        """One IDLE command, ended after idle_seconds, on new mail, or on stop.

        Mail that arrived before IDLE began is not announced by it, so each IDLE starts
        with one poll: nothing falls between a poll and the next IDLE."""
        client.idle()
        event(log, "idle_started", mailbox=self.box.name, seconds=self.box.idle_seconds)
        self.wake()
        deadline = time.monotonic() + self.box.idle_seconds
        news = False
        try:
            while not news and not self.stop.is_set() and time.monotonic() < deadline:
                responses = client.idle_check(timeout=CHECK_SECONDS)
                news = any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
        finally:
            client.idle_done()
        if news:
            event(log, "idle_new_mail", mailbox=self.box.name)
            self.wake()
