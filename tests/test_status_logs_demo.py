"""`intake status`, the structured log formats, and the embedded demo end to end."""

from __future__ import annotations

import io
import json
import logging

from click.testing import CliRunner
from rich.console import Console

from intake.cli import cli
from intake.decisions.rules import DEFAULT_DIR
from intake.demo.run import run_demo
from intake.demo.servers import free_port
from intake.logs import JsonFormatter, TextFormatter, event


def record(name: str | None, **fields) -> logging.LogRecord:
    rec = logging.LogRecord(
        "intake.x", logging.INFO, __file__, 1, name or "plain %s", ("text",), None
    )
    if name:
        rec.event, rec.fields = name, fields
    return rec


def test_text_log_is_one_line_of_key_values_with_quoting():
    line = TextFormatter().format(
        record("message", mailbox="careers", uid=7, message_id="<a b@x>", outcome="complete")
    )
    assert line.endswith(
        ' INFO message mailbox=careers uid=7 message_id="<a b@x>" outcome=complete'
    )
    assert "\n" not in TextFormatter().format(record("x", error="two\nlines"))
    assert TextFormatter().format(record(None)).endswith("INFO intake.x: plain text")


def test_json_log_is_one_object_per_line():
    data = json.loads(JsonFormatter().format(record("poll", mailbox="careers", backlog=0)))
    assert data["event"] == "poll" and data["mailbox"] == "careers" and data["backlog"] == 0
    assert json.loads(JsonFormatter().format(record(None)))["message"] == "plain text"


def test_event_helper_carries_its_fields(caplog):
    with caplog.at_level(logging.INFO):
        event(logging.getLogger("intake.t"), "reply_sent", to="a@b.c")
    assert caplog.records[0].fields == {"to": "a@b.c"}


def test_status_reports_a_failed_poll_per_mailbox(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_TEST_PW", "x")
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "intake.db"}"\n[rules]\ndir = "{DEFAULT_DIR}"\n'
        f'[mailboxes.careers]\nhost = "127.0.0.1"\nport = {free_port()}\ntls = "none"\n'
        'username = "u"\npassword_env = "INTAKE_TEST_PW"\ntimeout_seconds = 2\n'
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(path), "poll", "--once"]).exit_code == 1
    text = runner.invoke(cli, ["--config", str(path), "status"], catch_exceptions=False).output
    assert "mailbox careers: never polled; last poll 20" in text
    assert "last error" in text and "cannot connect" in text
    assert "outbox: empty" in text and "quarantined: 0" in text and "digest: never" in text
    data = json.loads(runner.invoke(cli, ["--config", str(path), "status", "--json"]).output)
    assert data["mailboxes"][0]["mailbox"] == "careers"
    assert "cannot connect" in data["mailboxes"][0]["last_error"]


def test_demo_shows_acknowledgements_the_completed_follow_up_and_the_digest():
    out = io.StringIO()
    run_demo(console=Console(file=out, width=200))
    text = out.getvalue()
    assert "Polling again" in text
    assert "acknowledgements sent (captured by the SMTP sink)" in text
    marta = text[text.index("To: Marta Kowalska") :]
    assert "your resume, attached as a PDF or DOCX file" in marta
    assert "Thank you for your follow-up" in marta and "now complete" in marta
    assert "Digest of 13 applications written to" in text
