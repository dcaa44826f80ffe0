"""Real servers on loopback for the demo and the tests: pymap (IMAP) and aiosmtpd (SMTP).

Nothing is mocked: the pipeline talks to these exactly as it talks to a production
server. Ports are chosen free at start, so several instances run side by side.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from imapclient import IMAPClient

from intake.errors import IntakeError


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    username: str
    password: str


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_greeting(host: str, port: int, timeout: float = 15.0) -> None:
    """Wait for the IMAP `* OK` greeting: an open port alone can hide a dead login process."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2) as sock:
                if sock.recv(256).startswith(b"* OK"):
                    return
        except OSError as exc:
            last_error = exc
        time.sleep(0.05)
    raise IntakeError(f"no IMAP greeting from {host}:{port} after {timeout:g}s ({last_error})")


def stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class PymapServer:
    """pymap's in-memory backend in a child process, one user, plain IMAP on loopback.
    `port`: listen there (a new server where a stopped one was; its mail is gone)."""

    def __init__(
        self, username: str = "intake", password: str = "demo-password", port: int | None = None
    ) -> None:
        self.account = ImapAccount("127.0.0.1", port or free_port(), username, password)
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> PymapServer:
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "intake.demo.pymap_server",
                "--host",
                self.account.host,
                "--port",
                str(self.account.port),
                "--no-tls",
                "--no-service",
                "admin",
                "dict",
                "--demo-user",
                self.account.username,
                "--demo-password",
                self.account.password,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_greeting(self.account.host, self.account.port)
        except IntakeError:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._proc:
            stop_process(self._proc)
            if self._proc.stderr:
                self._proc.stderr.close()


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


HANG_UP = "hang up"  # a refusal that closes the connection instead of answering


@dataclass
class _Collector:
    messages: list[ReceivedMail] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)
    refuse: dict[tuple[str, str], str] = field(default_factory=dict)  # (stage, rcpt) -> reply

    async def handle_RCPT(self, server, _session, envelope, address, _options) -> str:
        if reply := self._refusal(server, "rcpt", [address]):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, _session, envelope) -> str:
        if reply := self._refusal(server, "data", envelope.rcpt_tos):
            return reply
        with self.lock:
            self.messages.append(
                ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
            self.lock.notify_all()
        return "250 OK"

    def _refusal(self, server, stage: str, recipients: list[str]) -> str | None:
        reply = next((r for a in recipients if (r := self.refuse.get((stage, a.lower())))), None)
        if reply == HANG_UP:
            server.transport.close()
            return "421 4.4.2 closing"  # written to a closed connection: never read
        return reply


class SmtpSink:
    """An aiosmtpd server on loopback that keeps every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.host = "127.0.0.1"
        self.port = free_port()
        self._collector = _Collector()
        self._controller = Controller(self._collector, hostname=self.host, port=self.port)

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._collector.lock:
            return list(self._collector.messages)

    def clear(self) -> None:
        with self._collector.lock:
            self._collector.messages.clear()
            self._collector.refuse.clear()

    def refuse(
        self, address: str, reply: str = "550 5.1.1 no such user", stage: str = "rcpt"
    ) -> None:
        """From now on, answer mail to `address` at `stage` ("rcpt": RCPT TO; "data": the
        end of DATA, as a content filter does) with `reply`, a 4xx or 5xx line, or close
        the connection there without a word (`HANG_UP`)."""
        self._collector.refuse[(stage, address.lower())] = reply

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        with self._collector.lock:
            self._collector.lock.wait_for(lambda: len(self._collector.messages) >= count, timeout)
            return list(self._collector.messages)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()


@contextlib.contextmanager
def logged_in(account: ImapAccount):
    client = IMAPClient(account.host, port=account.port, ssl=False, timeout=30)
    try:
        client.login(account.username, account.password)
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def append_messages(account: ImapAccount, folder: str, raws: Iterable[bytes]) -> None:
    """APPEND messages to a folder, creating it if needed (the way real mail arrives)."""
    with logged_in(account) as client:
        if not client.folder_exists(folder):
            client.create_folder(folder)
        for raw in raws:
            client.append(folder, raw)


def recreate_folder(account: ImapAccount, folder: str) -> None:
    """Delete and create a folder: the server must hand out a new UIDVALIDITY."""
    with logged_in(account) as client:
        if client.folder_exists(folder):
            client.delete_folder(folder)
        client.create_folder(folder)
