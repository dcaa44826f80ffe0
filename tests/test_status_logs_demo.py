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


def test_event_helper_carries_its_fields_with_addresses_masked(caplog):
    with caplog.at_level(logging.INFO):
        event(logging.getLogger("intake.t"), "reply_failed", outbox=3, reason="550 <a@b.org>")
    assert caplog.records[0].fields == {"outbox": 3, "reason": "550 <<address>>"}


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
    assert "mailbox careers: never connected (20" in text and "cannot connect" in text
    assert "backlog" not in text  # a poll that never got through knows no backlog
    assert "outbox: empty" in text and "quarantined: 0" in text and "digest: never" in text
    data = json.loads(runner.invoke(cli, ["--config", str(path), "status", "--json"]).output)
    [box] = data["mailboxes"]
    assert (data["schema"], box["mailbox"], box["state"], box["backlog"]) == (
        1,
        "careers",
        "never_connected",
        None,
    )
    assert "cannot connect" in box["last_error"] and box["last_poll_age_seconds"] >= 0
    metrics = runner.invoke(cli, ["--config", str(path), "status", "--format", "prometheus"])
    assert 'intake_mailbox_up{mailbox="careers"} 0.0' in metrics.output
    assert "intake_quarantined 0.0" in metrics.output


def test_poll_until_empty_drains_what_max_per_poll_leaves(
    tmp_path, imap_server, imap_folder, monkeypatch
):
    from intake.demo.servers import append_messages
    from tests.test_pipeline import message

    account = imap_server.account
    monkeypatch.setenv("INTAKE_TEST_PW", account.password)
    append_messages(account, imap_folder, [message(n) for n in range(7)])
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "intake.db"}"\n[rules]\ndir = "{DEFAULT_DIR}"\n'
        f'[mailboxes.careers]\nhost = "{account.host}"\nport = {account.port}\ntls = "none"\n'
        f'username = "{account.username}"\npassword_env = "INTAKE_TEST_PW"\n'
        f'folder = "{imap_folder}"\nmax_per_poll = 3\nbatch_size = 2\n'
    )
    runner = CliRunner()
    once = runner.invoke(cli, ["--config", str(path), "poll", "--once"], catch_exceptions=False)
    assert "backlog" in once.output and "│ careers │       3 │      3 │" in once.output
    assert once.output.rstrip().splitlines()[-2].rstrip().endswith("│       4 │")
    rest = runner.invoke(
        cli, ["--config", str(path), "poll", "--once", "--until-empty"], catch_exceptions=False
    )
    assert "│ careers │       4 │      4 │" in rest.output
    assert rest.output.rstrip().splitlines()[-2].rstrip().endswith("│       0 │")


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
