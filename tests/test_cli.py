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
