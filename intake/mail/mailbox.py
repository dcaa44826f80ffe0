"""The IMAP edge (imapclient): select a folder, list new UIDs, fetch bodies, tidy up.

Nothing here knows about the database; the pipeline decides what to fetch and when
the checkpoint moves. Every server failure becomes a MailboxError naming the mailbox.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from intake.config import MailboxConfig
from intake.errors import MailboxError

NETWORK_ERRORS = (IMAPClientError, OSError, socket.timeout, ssl.SSLError, EOFError)


def tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Mailbox:
    """One logged-in IMAP connection on one configured folder."""

    def __init__(self, box: MailboxConfig, client: IMAPClient) -> None:
        self.box = box
        self.client = client

    def _where(self) -> str:
        return (
            f"mailbox {self.box.name} ({self.box.host}:{self.box.effective_port}/{self.box.folder})"
        )

    def select(self) -> int:
        """Select the folder (read-only when we leave mail untouched) and return UIDVALIDITY."""
        readonly = self.box.after_store == "leave"
        try:
            info = self.client.select_folder(self.box.folder, readonly=readonly)
        except NETWORK_ERRORS as exc:
            raise MailboxError(f"{self._where()}: cannot select folder: {exc}") from exc
        return int(info[b"UIDVALIDITY"])

    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs above `last_uid`, ascending. `n:*` always matches the newest message, so
        the result is filtered (RFC 3501 6.4.8)."""
        try:
            found = self.client.search(["UID", f"{last_uid + 1}:*"])
        except NETWORK_ERRORS as exc:
            raise MailboxError(f"{self._where()}: UID SEARCH failed: {exc}") from exc
        return sorted(uid for uid in found if uid > last_uid)

    def sizes(self, uids: list[int]) -> dict[int, int]:
        """RFC822.SIZE by UID: what a message would cost to download, asked first."""
        response = self._fetch(uids, "RFC822.SIZE")
        return {uid: int(data[b"RFC822.SIZE"]) for uid, data in response.items()}

    def fetch(self, uids: list[int]) -> dict[int, bytes]:
        """Raw bytes by UID, fetched with BODY.PEEK[] so \\Seen is untouched."""
        return self._sections(uids, "BODY.PEEK[]", b"BODY[]")

    def fetch_headers(self, uids: list[int]) -> dict[int, bytes]:
        """Only the header block by UID (a message too large to download)."""
        return self._sections(uids, "BODY.PEEK[HEADER]", b"BODY[HEADER]")

    def _sections(self, uids: list[int], item: str, key: bytes) -> dict[int, bytes]:
        response = self._fetch(uids, item)
        return {uid: data[key] for uid, data in response.items() if key in data}

    def _fetch(self, uids: list[int], item: str) -> dict[int, dict]:
        if not uids:
            return {}
        try:
            return self.client.fetch(uids, [item])
        except NETWORK_ERRORS as exc:
            raise MailboxError(f"{self._where()}: FETCH failed: {exc}") from exc

    def finish(self, uids: list[int]) -> None:
        """Apply `after_store` to messages that are safely in the database."""
        if not uids or self.box.after_store == "leave":
            return
        try:
            if self.box.after_store == "mark_seen":
                self.client.add_flags(uids, [b"\\Seen"], silent=True)
            elif self.client.has_capability("MOVE"):
                self.client.move(uids, self.box.move_to)
            else:  # RFC 4315 UID EXPUNGE removes only ours; plain EXPUNGE is the last resort
                self.client.copy(uids, self.box.move_to)
                self.client.delete_messages(uids, silent=True)
                if self.client.has_capability("UIDPLUS"):
                    self.client.uid_expunge(uids)
                else:
                    self.client.expunge()
        except NETWORK_ERRORS as exc:
            raise MailboxError(
                f"{self._where()}: after_store={self.box.after_store} failed: {exc}"
            ) from exc


@contextmanager
def connect(box: MailboxConfig) -> Iterator[Mailbox]:
    """Log in according to the mailbox's TLS mode; certificates verified unless disabled."""
    where = f"mailbox {box.name} ({box.host}:{box.effective_port})"
    password = box.password()
    context = tls_context(box.verify_certificates)
    try:
        client = IMAPClient(
            box.host,
            port=box.effective_port,
            ssl=box.tls == "implicit",
            ssl_context=context,
            timeout=box.timeout_seconds,
        )
    except NETWORK_ERRORS as exc:
        raise MailboxError(f"{where}: cannot connect: {exc}") from exc
    try:
        if box.tls == "starttls":
            client.starttls(context)
        client.login(box.username, password)
    except NETWORK_ERRORS as exc:
        _quietly_close(client)
        raise MailboxError(f"{where}: login failed: {exc}") from exc
    try:
        yield Mailbox(box, client)
    finally:
        _quietly_close(client)


def _quietly_close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # the connection may already be gone; nothing left to save
        with contextlib.suppress(Exception):
            client.shutdown()
