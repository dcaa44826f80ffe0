"""The `intake` command: help, version, parse, and one-line errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from intake import __version__
from intake.cli import cli
from intake.decisions.rules import DEFAULT_DIR
from tests.builders import make_mail, make_pdf


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_version_and_help():
    assert invoke("--version").output.strip() == f"intake, version {__version__}"
    help_text = invoke("--help").output
    for command in ("poll", "parse", "demo"):
        assert command in help_text


def test_parse_prints_resume_text_and_github(tmp_path):
    pdf = make_pdf(["Ada Lovelace", "Analytical Engine Lab"], link="https://github.com/ada")
    path = tmp_path / "app.eml"
    path.write_bytes(make_mail(attachments=[("resume.pdf", "application/pdf", pdf)]))
    human = invoke("parse", str(path))
    assert human.exit_code == 0
    assert "https://github.com/ada" in human.output and "Analytical Engine Lab" in human.output
    data = json.loads(invoke("parse", str(path), "--json").output)
    assert data["github"] == ["https://github.com/ada"]
    assert "Analytical Engine Lab" in data["resume"]["text"]


def test_parse_missing_file_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["parse", str(tmp_path / "none.eml")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"intake: error: {tmp_path / 'none.eml'}: No such file or directory"
    ]


def test_poll_with_bad_config_is_one_line(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        '[mailboxes.careers]\nhost = "h"\nusername = "u"\npassword_env = "P"\ntls = 1\n'
    )
    result = CliRunner().invoke(cli, ["--config", str(path), "poll", "--once"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"intake: error: {path}: mailboxes.careers.tls: Input should be 'implicit', "
        "'starttls' or 'none' (got 1)"
    ]


def test_poll_unreachable_server_reports_and_exits_1(tmp_path, monkeypatch):
    from intake.demo.servers import free_port

    monkeypatch.setenv("P", "x")
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/db.sqlite"\n'
        f'[rules]\ndir = "{DEFAULT_DIR}"\n'
        f'[mailboxes.careers]\nhost = "127.0.0.1"\nport = {free_port()}\ntls = "none"\n'
        'username = "u"\npassword_env = "P"\ntimeout_seconds = 5\n'
    )
    result = CliRunner().invoke(cli, ["--config", str(path), "poll", "--once"])
    assert result.exit_code == 1
    assert "intake: error: mailbox careers (127.0.0.1:" in result.output
    assert "cannot connect" in result.output


def test_parse_sample_with_pdf_resume_linked_github():
    """The acceptance case: a sample whose GitHub link exists only as a PDF annotation."""
    from pathlib import Path

    sample = Path(__file__).parent.parent / "data/sample/careers/01-priya-raman.eml"
    data = json.loads(invoke("parse", str(sample), "--json").output)
    assert data["resume"]["filename"] == "Priya_Raman_Resume.pdf"
    assert "University of Illinois at Urbana-Champaign" in data["resume"]["text"]
    assert data["github"] == ["https://github.com/praman-ml"]
    assert "praman-ml" not in data["cover_letter"]


def intake_process(*args: str, cwd=None, env=None):
    """`python -m intake` as an operator runs it."""
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    return subprocess.run(
        [sys.executable, "-m", "intake", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**environment, **(env or {})},
        timeout=60,
    )


def one_error_line(done) -> str:
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("intake: error: "), done.stderr
    return lines[0]


def test_usage_errors_are_one_line_with_exit_status_2(tmp_path):
    assert "poll needs --once" in one_error_line(intake_process("poll"))
    assert "No such command 'nosuch'" in one_error_line(intake_process("nosuch"))
    assert "Missing argument 'FILE'" in one_error_line(intake_process("parse"))
    assert "No such option '--bogus'" in one_error_line(intake_process("status", "--bogus"))


def test_parse_refuses_what_is_not_mail_and_names_unknown_mailboxes(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# A project\n\nSome text.\n")
    assert "not a mail message" in one_error_line(intake_process("parse", str(readme)))
    mail = tmp_path / "a.eml"
    mail.write_bytes(make_mail())
    line = one_error_line(intake_process("parse", str(mail), "--mailbox", "nosuch"))
    assert line.endswith("no mailbox named 'nosuch' (known: cambridge, careers, interns, ml-jobs)")


def test_every_missing_secret_is_named_at_once_before_anything_starts(tmp_path):
    config = tmp_path / "config.toml"
    boxes = "".join(
        f'[mailboxes.{name}]\nhost = "127.0.0.1"\nusername = "u"\npassword_env = "{var}"\n'
        for name, var in (("careers", "CAREERS_PW"), ("interns", "INTERNS_PW"))
    )
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "intake.db"}"\n[rules]\ndir = "{DEFAULT_DIR}"\n'
        f"{boxes}"
        '[smtp]\nhost = "127.0.0.1"\nfrom_address = "a@b.c"\nusername = "u"\n'
        'password_env = "SMTP_PW"\n'
    )
    line = one_error_line(intake_process("--config", str(config), "poll", "--once"))
    assert line == (
        "intake: error: environment variables are not set: CAREERS_PW "
        "(mailboxes.careers.password_env), INTERNS_PW (mailboxes.interns.password_env), "
        "SMTP_PW (smtp.password_env)"
    )
    assert not (tmp_path / "intake.db").exists()  # checked before touching anything
    line = one_error_line(
        intake_process("--config", str(config), "poll", "--once", "--mailbox", "x")
    )
    assert "no mailbox named 'x' (known: careers, interns)" in line
    line = one_error_line(intake_process("--config", str(config), "export", "--posting", "x"))
    assert "no posting 'x' (known: cambridge-senior-ml-engineer" in line
