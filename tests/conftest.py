"""Session-scoped real servers on loopback: Dovecot and pymap for IMAP, aiosmtpd for SMTP.

With pytest-xdist each worker starts its own servers; each test gets a fresh folder.
When `CI` is set the Dovecot lane must run: a missing Dovecot is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from intake.demo.servers import ImapAccount, PymapServer, SmtpSink, logged_in
from tests.postgres import PostgresServer, binaries
from tests.servers import DovecotServer, dovecot_binary


@dataclass(frozen=True)
class ImapServer:
    kind: str
    account: ImapAccount


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def lane(name: str, available: bool) -> None:
    """A lane that needs a program from Debian: a failure in CI when it is missing (a lane
    never skips silently there), a skip elsewhere; one that runs is recorded, and the run
    ends by naming the lanes that ran (pytest_terminal_summary)."""
    if not available:
        if in_ci():
            pytest.fail(f"CI is set but {name} is not installed: the {name} lane must run")
        pytest.skip(f"{name} is not installed (make test installs it)")
    from tests.judging import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"lane-{name}.txt").touch()


@pytest.fixture
def tesseract() -> None:
    """The OCR tests need the tesseract program (make test installs it; CI requires it)."""
    from intake.extraction.documents import Ocr

    lane("tesseract", Ocr.available())


@pytest.fixture
def chromium() -> str:
    """Debian's chromium, for what only a real browser shows (make test installs it)."""
    found = shutil.which("chromium")
    lane("chromium", found is not None)
    return found


@pytest.fixture(scope="session", params=["dovecot", "pymap"])
def imap_server(request) -> Iterator[ImapServer]:
    lane(request.param, request.param == "pymap" or dovecot_binary() is not None)
    if request.param == "dovecot":
        with DovecotServer() as server:
            yield ImapServer("dovecot", server.account("test"))
    else:
        with PymapServer() as server:
            yield ImapServer("pymap", server.account)


@pytest.fixture
def imap_folder(imap_server) -> str:
    """A new, empty folder for one test, so tests share a server without interfering."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    with logged_in(imap_server.account) as client:
        client.create_folder(name)
    return name


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Real PostgreSQL for the claim that several workers can share one (CI requires it)."""
    lane("postgresql", binaries() is not None)
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database on each backend, for suites that must behave alike on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'intake.db'}"
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def smtp(smtp_sink) -> SmtpSink:
    smtp_sink.clear()
    return smtp_sink


REPORTS = ("accuracy", "chaos")  # test-artifacts/NAME-*.txt, written by the workers


def pytest_terminal_summary(terminalreporter) -> None:
    """Show the labelled sets' per-field accuracy, the chaos campaign's counts and how many
    inputs the fuzz tests tried (all written by workers) at the end of the run."""
    from tests.judging import ARTIFACTS

    for name in REPORTS:
        for report in sorted(ARTIFACTS.glob(f"{name}-*.txt")):
            terminalreporter.write_sep("-", name)
            terminalreporter.write(report.read_text())
    lanes = sorted(path.stem.removeprefix("lane-") for path in ARTIFACTS.glob("lane-*.txt"))
    terminalreporter.write_sep("-", "lanes")
    terminalreporter.write_line(f"ran: {', '.join(lanes) or 'none of the server lanes'}")
    tried = sorted(ARTIFACTS.glob("fuzz-*.count"))
    if tried:
        terminalreporter.write_sep("-", "fuzz: inputs tried")
        for path in tried:
            terminalreporter.write_line(f"{path.read_text():>6}  {path.stem.removeprefix('fuzz-')}")


def pytest_sessionstart(session) -> None:
    """A report from an earlier run must never be shown as this run's (the controller
    clears them once, before any worker writes)."""
    from tests.judging import ARTIFACTS

    if hasattr(session.config, "workerinput"):
        return
    for name in REPORTS:
        for report in ARTIFACTS.glob(f"{name}-*.txt"):
            report.unlink()
    for report in [*ARTIFACTS.glob("fuzz-*.count"), *ARTIFACTS.glob("lane-*.txt")]:
        report.unlink()
