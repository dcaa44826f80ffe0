"""Privacy and retention end to end (issue 13): quarantine retry stores a message once,
retention purges what its time is up for and nothing else, a forgotten person's mail is
never stored again, and logs name ids, never people. A real IMAP server (pymap), the
aiosmtpd sink and SQLite."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import delete, select

from intake import config
from intake.cli import cli
from intake.daemon.pipeline import poll_all, processor_for, reprocess
from intake.demo.servers import append_messages
from intake.logs import JsonFormatter, TextFormatter, quiet_libraries
from intake.replies.messages import DEFAULT_TEMPLATES
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import (
    Applicant,
    Application,
    Checkpoint,
    Document,
    Outbox,
    RawMessage,
    Tombstone,
)
from tests.test_replies_e2e import LETTER, PASSWORD_ENV, application, invoke, mail, make_config
from tests.test_replies_e2e import rows as stored

pytestmark = pytest.mark.parametrize("imap_server", ["pymap"], indirect=True)


@pytest.fixture
def database_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'intake.db'}"


@pytest.fixture
def box(tmp_path, database_url, imap_server, imap_folder, smtp, monkeypatch):
    """`box(extra, *raws)`: the config with `extra` TOML appended, the raws appended to
    the folder, then one poll; returns the config."""
    monkeypatch.setenv(PASSWORD_ENV, imap_server.account.password)

    def run(extra: str = "", *raws: bytes, poll: bool = True) -> config.Config:
        cfg = make_config(tmp_path, database_url, imap_server, imap_folder, smtp.port)
        path = cfg.base_dir / "config.toml"
        broken = BROKEN in extra and str(broken_templates(tmp_path))
        text = path.read_text().replace(str(DEFAULT_TEMPLATES), broken or str(DEFAULT_TEMPLATES))
        path.write_text(text + extra.replace(BROKEN, ""))
        if raws:
            append_messages(imap_server.account, imap_folder, list(raws))
        if poll:
            poll_all(config.load(path))
        return config.load(path)

    return run


def cli_fails(cfg: config.Config, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(cfg.base_dir / "config.toml"), *args])
    assert result.exit_code == 2, result.output
    return result.output


def run_cli(cfg: config.Config, *args: str) -> str:
    return invoke("--config", str(cfg.base_dir / "config.toml"), *args)


BROKEN = "# broken templates\n"  # every reply fails to render: every application quarantined


def broken_templates(tmp_path: Path) -> Path:
    """The shipped templates, each naming a variable no reply has (StrictUndefined)."""
    copy = tmp_path / "broken-templates"
    if not copy.exists():
        shutil.copytree(DEFAULT_TEMPLATES, copy)
        for template in copy.rglob("*.txt.j2"):
            template.write_text(template.read_text() + "{{ broken_on_purpose }}\n")
    return copy


def test_a_quarantined_message_retried_is_stored_exactly_once(box, smtp):
    cfg = box(
        BROKEN,
        application("Ana One", "ana@example.org", n=1),
        application("Ben Two", "ben@example.org", n=2),
    )
    first, second = stored(cfg, RawMessage)
    assert (first.status, second.status) == ("failed", "failed")
    assert stored(cfg, Application) == [] and stored(cfg, Outbox) == []
    listing = run_cli(cfg, "quarantine", "list")
    assert f"{first.id:>6}  careers" in listing and "broken_on_purpose" in listing
    assert "ana@example.org" not in listing  # the list names no one
    shown = run_cli(cfg, "quarantine", "show", str(first.id))
    assert f"reason:  {first.error}" in shown and "From: Ana One <ana@example.org>" in shown
    assert "Subject: Application: Machine Learning Engineer" in shown

    cfg = box("", poll=False)  # the limits fixed
    assert run_cli(cfg, "quarantine", "retry", str(first.id)).strip() == f"{first.id}: complete"
    assert "is not quarantined (status processed)" in cli_fails(
        cfg, "quarantine", "retry", str(first.id)
    )
    assert run_cli(cfg, "quarantine", "retry", "--all").strip() == f"{second.id}: complete"
    assert run_cli(cfg, "quarantine", "list").strip().count("\n") == 0  # the header only
    assert "sent 2" in run_cli(cfg, "outbox", "send")
    box("")  # polling again finds both stored
    assert len(stored(cfg, RawMessage)) == 2
    assert [a.raw_message_id for a in stored(cfg, Application)] == [first.id, second.id]
    assert [o.trigger_id for o in stored(cfg, Outbox)] == [first.id, second.id]
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["ana@example.org", "ben@example.org"]


def test_a_message_never_downloaded_is_refused_with_one_line(box):
    big = mail("Ana One <ana@example.org>", "Huge", "x" * (3 * 2**20), n=1)  # over message_mb = 1
    cfg = box("[limits]\nmessage_mb = 1\n", big)
    [raw] = stored(cfg, RawMessage)
    assert raw.error.startswith("not downloaded: ")
    output = cli_fails(cfg, "quarantine", "retry", str(raw.id))
    assert output.count("\n") == 1 and "was never downloaded" in output
    retried = run_cli(cfg, "quarantine", "retry", "--all")
    assert retried.strip() == f"{raw.id}: still quarantined: never downloaded or purged"
    assert "possible" not in run_cli(cfg, "quarantine", "show", str(raw.id))
    assert stored(cfg, RawMessage)[0].status == "failed"


RETENTION = "[retention]\nraw_mail_days = 30\ndocuments_days = 30\nother_mail_days = 90\n"


def age(cfg: config.Config, model, days: int, **changes) -> None:
    """Make every row of `model` `days` old (and change it), as time and recruiters would."""
    then = datetime.now(UTC) - timedelta(days=days)
    with open_session(make_engine(cfg.database_url)) as session:
        for row in session.exec(select(model)):
            for name, value in {"updated_at": then, "fetched_at": then, **changes}.items():
                if hasattr(row, name):
                    setattr(row, name, value)
            session.add(row)
        session.commit()


def test_purge_counts_first_deletes_with_yes_and_is_idempotent(box, smtp):
    question = mail("Cy Three <cy@example.org>", "Question", "Do you sponsor visas?", n=3)
    cfg = box(
        RETENTION,
        application("Ana One", "ana@example.org", n=1),
        application("Ben Two", "ben@example.org", n=2),
        question,
    )
    ana, ben = stored(cfg, Application)
    age(cfg, RawMessage, 100)
    age(cfg, Application, 40)
    with open_session(make_engine(cfg.database_url)) as session:
        closed = session.get(Application, ana.id)
        closed.status = "ineligible"  # Ben's stays open: nobody has decided yet
        session.add(closed)
        session.commit()
    dry = run_cli(cfg, "purge")
    assert dry.strip() == (
        "would delete (dry run; --yes deletes): 1 raw mail, 1 other mail, 1 documents, "
        "1 cover letters"
    )
    assert all(r.purged_at is None and r.raw for r in stored(cfg, RawMessage))
    assert run_cli(cfg, "purge", "--yes").strip().startswith("deleted: 1 raw mail, 1 other mail")
    assert run_cli(cfg, "purge", "--yes").strip() == (
        "deleted: 0 raw mail, 0 other mail, 0 documents, 0 cover letters"
    )
    gone = {r.id: r for r in stored(cfg, RawMessage)}
    assert gone[ana.raw_message_id].raw == b"" and gone[ben.raw_message_id].raw != b""
    [question_row] = [r for r in gone.values() if r.kind != "application"]
    assert question_row.raw == b"" and question_row.purged_at is not None
    docs = {d.application_id: d for d in stored(cfg, Document)}
    assert docs[ana.id].text is None and docs[ana.id].filename == "resume.pdf"
    assert docs[ben.id].text
    apps = {a.id: a for a in stored(cfg, Application)}
    assert apps[ana.id].cover_letter is None and apps[ben.id].cover_letter
    assert apps[ana.id].status == "ineligible"  # the record stays
    # reprocessing leaves purged messages alone; polling again stores nothing twice
    counts = reprocess(make_engine(cfg.database_url), processor_for(cfg))
    assert sum(counts.values()) == 1 and "failed" not in counts
    with open_session(make_engine(cfg.database_url)) as session:
        session.exec(delete(Checkpoint))
        session.commit()
    box(RETENTION)
    assert len(stored(cfg, RawMessage)) == 3 and len(smtp.messages) == 2


def test_the_daemon_purges_daily_only_when_retention_asks(box, imap_server):
    from intake.daemon.scheduler import Daemon

    for extra, expected in (("", None), (RETENTION, 86400.0)):
        daemon = Daemon(box(extra, poll=False))
        daemon._schedule()
        job = next((j for j in daemon.scheduler.get_jobs() if j.id == "purge"), None)
        assert (job and job.trigger.interval.total_seconds()) == expected
        daemon.purge()  # runs, and again: nothing to do
        daemon.purge()


def test_forget_removes_one_person_and_a_repoll_imports_nothing_about_them(box, smtp):
    mine = [
        application("Ana One", "ana@example.org", n=1, resume=False),
        mail(
            "Ana One <ana@example.org>",
            "Re: Application: Machine Learning Engineer",
            "Here is my resume.\n\nAna",
            n=2,
            resume=True,
        ),
        mail(
            "Dee Four <dee@example.org>",
            "Ana's reference",
            "She is great.",
            n=3,
            headers={"Cc": "Ana One <ana@example.org>"},
        ),
    ]
    others = [application("Ben Two", "ben@example.org", n=4)]
    cfg = box("", *mine, *others)
    assert "sent" in run_cli(cfg, "outbox", "list")
    ben = {m: len(stored(cfg, m)) for m in (Applicant, Application, Document, Outbox)}
    dry = run_cli(cfg, "forget", "Ana One <ANA@example.org>")
    assert dry.startswith("would delete (dry run; --yes deletes): 1 applicants, 1 applications,")
    assert "3 messages" in dry
    assert len(stored(cfg, RawMessage)) == 4  # a dry run deletes nothing
    done = run_cli(cfg, "forget", "ana@example.org", "--yes")
    assert done.startswith("deleted: 1 applicants, 1 applications, 3 messages, 0 blanked")
    assert "tombstone" in done
    assert_no_trace(cfg, b"ana@example.org")
    [tomb] = stored(cfg, Tombstone)
    assert tomb.digest != hashlib.sha256(b"ana@example.org").hexdigest()  # salted
    assert {m: len(stored(cfg, m)) for m in (Applicant, Application, Document, Outbox)} == {
        Applicant: ben[Applicant] - 1,
        Application: ben[Application] - 1,
        Document: ben[Document] - 1,
        Outbox: ben[Outbox] - 3,
    }
    # the folder read again from UID 1, plus something new from her: nothing about her
    with open_session(make_engine(cfg.database_url)) as session:
        session.exec(delete(Checkpoint))
        session.commit()
    smtp.clear()
    again = mail("Ana One <ana@example.org>", "Still interested", "Hello again", n=9)
    cfg = box("", again, poll=False)
    [stats] = poll_all(cfg)
    assert (stats.stored, stats.duplicates, stats.forgotten) == (0, 1, 4)
    assert_no_trace(cfg, b"ana@example.org")
    [ben_message] = stored(cfg, RawMessage)
    assert ben_message.sender == "ben@example.org" and smtp.messages == []
    # the checkpoint moved past her new message (appended after Ben's)
    assert stored(cfg, Checkpoint)[0].last_uid == ben_message.uid + 1


def assert_no_trace(cfg: config.Config, address: bytes) -> None:
    text = address.decode()
    assert all(address not in r.raw.lower() for r in stored(cfg, RawMessage))
    assert all(r.sender != text for r in stored(cfg, RawMessage))
    assert all(a.email != text for a in stored(cfg, Applicant))
    assert all(o.to_address != text and address not in o.raw for o in stored(cfg, Outbox))


PEOPLE = {
    "Bartholomew Quince": "bquince@example.org",
    "Zofia Wisniewska": "zofia.w@example.net",
}


def test_logs_name_ids_never_people_at_any_level(box, smtp, caplog):
    smtp.refuse("zofia.w@example.net", "550 5.1.1 <zofia.w@example.net>: no such user")
    subjects = {name: f"{name.split()[1]} applies for the ML Engineer role" for name in PEOPLE}
    raws = [
        mail(
            f"{name} <{address}>",
            subjects[name],
            LETTER.format(login=name.split()[0].lower(), name=name),
            n=n,
            resume=True,
        )
        for n, (name, address) in enumerate(PEOPLE.items())
    ]
    quince = next(iter(PEOPLE))
    caplog.set_level(logging.DEBUG)
    quiet_libraries(logging.DEBUG)
    cfg = box(BROKEN, raws[0])  # quarantined first
    cfg = box("", raws[1])
    run_cli(cfg, "-v", "quarantine", "retry", "--all")
    run_cli(cfg, "-v", "outbox", "send")
    assert len(smtp.messages) == 1 and stored(cfg, Application)
    lines = [
        line
        for record in caplog.records
        if not record.name.startswith(TEST_SERVERS)
        for line in (JsonFormatter().format(record), TextFormatter().format(record))
    ]
    assert any("reply_failed" in line for line in lines)  # what was tested is logged
    assert any("quarantined" in line for line in lines)
    needles = [*PEOPLE, *PEOPLE.values(), *subjects.values(), quince.split()[1]]
    for needle in needles:
        leaks = [line for line in lines if needle.lower() in line.lower()]
        assert not leaks, leaks[:3]
    assert os.environ.get(PASSWORD_ENV) not in json.dumps(lines)


TEST_SERVERS = ("pymap", "mail.log", "aiosmtpd")  # the test's own servers, not intake
