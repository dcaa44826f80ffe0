"""The workspace served by uvicorn on loopback in a thread, and a signed-in HTTP client."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import uvicorn

from intake import config
from intake.decisions.rules import load_all
from intake.demo.servers import free_port
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.web import accounts
from intake.web.app import Workspace, make_app

SECRET_ENV = "INTAKE_TEST_WEB_SECRET"
SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"


class Clock:
    """A clock the test moves (sign-in lockouts)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def serving(cfg: config.Config, clock: Clock | None = None) -> Iterator[str]:
    """The workspace for `cfg` on a free loopback port; yields its base URL."""
    work = Workspace(cfg, make_engine(cfg.database_url), load_all(cfg.rules_dir), clock or Clock())
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(make_app(work), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the workspace did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def add_account(cfg: config.Config, name: str, postings: list[str] | None = None) -> None:
    with open_session(make_engine(cfg.database_url)) as session:
        accounts.add(session, name, PASSWORD, postings)
        session.commit()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def signed_in(base: str, name: str, password: str = PASSWORD) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    token = csrf_of(client.get("/signin").text)
    answer = client.post(
        "/signin", data={"csrf": token, "username": name, "password": password, "next": "/"}
    )
    assert answer.status_code == 303, answer.text
    return client
