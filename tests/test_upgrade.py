"""Upgrading keeps everything and re-sends nothing: a database the previous release made
(tests/fixtures/upgrade/, made by make.py there) is refused with one line naming
`intake db upgrade`, which migrates it in place on SQLite and on PostgreSQL; polling the
same mail again then stores and sends nothing (acceptance of issue 12)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import text
from sqlmodel import SQLModel, func, select

from intake.cli import cli
from intake.daemon.pipeline import poll_all
from intake.demo.servers import append_messages
from intake.errors import ConfigError
from intake.extraction.links import logins
from intake.storage import db, search
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import (
    Applicant,
    Application,
    BouncedAddress,
    Checkpoint,
    GithubLogin,
    Outbox,
    RawMessage,
)
from tests.test_postgres import PASSWORD_ENV, SAMPLES, configured

FIXTURES = Path(__file__).parent / "fixtures" / "upgrade"
ACKNOWLEDGED = (FIXTURES / "acknowledged.txt").read_text().split()


def snapshot(url: str) -> dict:
    with open_session(make_engine(url, create=False)) as session:
        return {
            "checkpoints": sorted(
                (c.mailbox, c.uidvalidity, c.last_uid) for c in session.exec(select(Checkpoint))
            ),
            "messages": session.exec(select(func.count()).select_from(RawMessage)).one(),
            "applications": session.exec(select(func.count()).select_from(Application)).one(),
            "outbox": sorted(
                (o.to_address, o.status, o.role) for o in session.exec(select(Outbox))
            ),
            "bounced": [b.address for b in session.exec(select(BouncedAddress))],
            # what finds a person's earlier applications: filled from the stored rows
            "logins": sorted(
                (login.application_id, login.login) for login in session.exec(select(GithubLogin))
            ),
            "linked": sorted(
                (app.id, login)
                for app in session.exec(select(Application))
                for login in logins(app.github)
            ),
            "names": sorted(
                (p.name_key, (p.name or "").lower() or None)
                for p in session.exec(select(Applicant))
            ),
        }


def upgrade_then_poll_again(url, tmp_path, imap_server, imap_folder, smtp, monkeypatch):
    folders = {box: f"{imap_folder}-{box}" for box in ("careers", "interns")}
    cfg = configured(tmp_path, "up", url, imap_server, folders, smtp)
    path = str(cfg.base_dir / "up.toml")
    with db.connect(url).connect() as conn:  # as the previous release left them
        checkpoints = sorted(
            tuple(row)
            for row in conn.execute(text("select mailbox, uidvalidity, last_uid from checkpoint"))
        )
    refused = CliRunner().invoke(cli, ["--config", path, "status"])
    assert refused.exit_code == 2
    assert "made by an older intake (made before migrations); run `intake db upgrade`" in (
        refused.output
    )
    upgraded = CliRunner().invoke(cli, ["--config", path, "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert "made before migrations -> revision" in upgraded.output
    after = snapshot(url)
    assert after["logins"] == after["linked"] and len(after["logins"]) >= 10
    assert all(key == (name.lower() if name else None) for key, name in after["names"])
    assert any(key for key, _ in after["names"])
    assert after["checkpoints"] == checkpoints
    assert after["messages"] == 18 and after["applications"] == 13
    # every acknowledgement the previous release sent (one of them bounced) is still known
    assert sorted({o[0] for o in after["outbox"]}) == ACKNOWLEDGED
    assert sorted(o[1] for o in after["outbox"]) == ["bounced"] + ["sent"] * 13
    assert {o[2] for o in after["outbox"]} == {"applicant"}
    assert after["bounced"] == ["priya.raman@example.com"]
    # the same mail again (a new server: a new UIDVALIDITY, so the folders are rescanned)
    monkeypatch.setenv(PASSWORD_ENV, imap_server.account.password)
    for box, folder in folders.items():
        raws = [p.read_bytes() for p in sorted((SAMPLES / box).glob("*.eml"))]
        append_messages(imap_server.account, folder, raws)
    stats = poll_all(cfg)
    assert [(s.stored, s.error) for s in stats] == [(0, None), (0, None)]
    assert smtp.messages == []  # nobody is acknowledged twice
    again = snapshot(url)
    assert again["outbox"] == after["outbox"] and again["messages"] == 18


@pytest.mark.parametrize("imap_server", ["pymap"], indirect=True)
def test_a_sqlite_database_of_the_previous_release_upgrades_in_place(
    tmp_path, imap_server, imap_folder, smtp, monkeypatch
):
    copy = tmp_path / "previous.sqlite"
    shutil.copyfile(FIXTURES / "previous-release.sqlite", copy)
    upgrade_then_poll_again(
        f"sqlite:///{copy}", tmp_path, imap_server, imap_folder, smtp, monkeypatch
    )


@pytest.mark.parametrize("imap_server", ["dovecot"], indirect=True)
def test_a_postgresql_database_of_the_previous_release_upgrades_in_place(
    tmp_path, imap_server, imap_folder, smtp, postgres_server, monkeypatch
):
    url = postgres_server.restore(FIXTURES / "previous-release.sql")
    upgrade_then_poll_again(url, tmp_path, imap_server, imap_folder, smtp, monkeypatch)


def test_the_migrations_make_the_schema_the_models_describe(tmp_path):
    engine = db.connect(f"sqlite:///{tmp_path / 'm.db'}", foreign_keys=False)
    with engine.begin() as conn:
        command.upgrade(db._alembic(conn), "head")
        context = MigrationContext.configure(conn, opts={"include_name": search.modelled})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_read_commands_never_create_a_database(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "nowhere" / "intake.db"}"\n')
    for args in (["status"], ["export"], ["outbox", "list"], ["digest"]):
        result = CliRunner().invoke(cli, ["--config", str(path), *args])
        assert result.exit_code == 2 and "no database there" in result.output, args
    assert not (tmp_path / "nowhere").exists()
    with pytest.raises(ConfigError, match="no database there"):
        make_engine(f"sqlite:///{tmp_path / 'none.db'}", create=False)
