"""Acknowledgements end to end: real IMAP server in, pipeline, outbox, aiosmtpd sink out,
on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect
from sqlmodel import select

from intake import config
from intake.cli import cli
from intake.daemon.pipeline import poll_all, poll_mailbox, processor_for, reprocess
from intake.decisions.rules import DEFAULT_DIR
from intake.demo.servers import HANG_UP, append_messages, free_port
from intake.mail.mailbox import connect
from intake.replies import outbox
from intake.replies.messages import DEFAULT_TEMPLATES
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import (
    Applicant,
    Application,
    BouncedAddress,
    Document,
    Flag,
    Outbox,
    RawMessage,
)
from tests.builders import dsn

PASSWORD_ENV = "INTAKE_TEST_IMAP_PASSWORD"
SAMPLES = Path(__file__).parent.parent / "data" / "sample" / "careers"
LETTER = (
    "Dear Numenta team,\n\nI would like to apply for the Machine Learning Engineer opening. "
    "I have five years of experience with Python and C++, most recently building forecasting "
    "models for energy grids, and I read every HTM paper I could find.\n\n"
    "My code: https://github.com/{login}\n\nBest regards,\n{name}\n"
)


def resume_pdf() -> bytes:
    """The real PDF resume attached to a sample follow-up."""
    sample = message_from_bytes(
        (SAMPLES / "04-marta-kowalska-resume.eml").read_bytes(), policy=default
    )
    return next(part for part in sample.iter_attachments()).get_content()


def mail(
    sender: str,
    subject: str,
    body: str,
    *,
    n: int = 1,
    date: datetime | None = None,
    resume: bool = False,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "careers@numenta.com"
    msg["Subject"] = subject
    msg["Date"] = (date or datetime(2018, 1, 22, 18, tzinfo=UTC)).strftime(
        "%a, %d %b %Y %H:%M:%S +0000"
    )
    msg["Message-ID"] = f"<msg-{n}-{abs(hash((sender, subject, body))) % 10**8}@example.org>"
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(body)
    if resume:
        msg.add_attachment(
            resume_pdf(), maintype="application", subtype="pdf", filename="resume.pdf"
        )
    return msg.as_bytes()


def application(
    name: str, address: str, *, login: str | None = None, resume: bool = True, **kwargs
) -> bytes:
    body = LETTER.format(login=login or name.split()[0].lower(), name=name)
    return mail(
        f"{name} <{address}>",
        "Application: Machine Learning Engineer",
        body,
        resume=resume,
        **kwargs,
    )


def make_config(
    tmp_path, database_url: str, imap_server, folder, smtp_port: int, **smtp
) -> config.Config:
    """A config file like an operator's, written and loaded the way `intake` loads it."""
    account = imap_server.account
    smtp = {"port": smtp_port, **smtp}
    extra = "".join(f"{key} = {str(value).lower()}\n" for key, value in smtp.items())
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{database_url}"\n'
        f'[rules]\ndir = "{DEFAULT_DIR}"\n'
        f'[replies]\ntemplates = "{DEFAULT_TEMPLATES}"\n'
        f'[mailboxes.careers]\nhost = "{account.host}"\nport = {account.port}\ntls = "none"\n'
        f'username = "{account.username}"\npassword_env = "{PASSWORD_ENV}"\n'
        f'folder = "{folder}"\naddress = "careers@numenta.com"\n'
        f'[smtp]\nhost = "127.0.0.1"\ntls = "none"\n'
        f'from_address = "Numenta Careers <careers@numenta.com>"\n{extra}'
    )
    return config.load(path)


@pytest.fixture
def setup(tmp_path, database_url, imap_server, imap_folder, smtp, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, imap_server.account.password)

    def run(*raws: bytes, **smtp_options) -> config.Config:
        cfg = make_config(
            tmp_path, database_url, imap_server, imap_folder, smtp.port, **smtp_options
        )
        if raws:
            append_messages(imap_server.account, imap_folder, raws)
        poll_all(cfg)
        return cfg

    return run


def rows(cfg: config.Config, model, *where):
    """Rows in the order they were made (PostgreSQL returns updated rows in any order)."""
    key = inspect(model).primary_key[0]
    with open_session(make_engine(cfg.database_url)) as session:
        return list(session.exec(select(model).where(*where).order_by(key)))


def text_of(raw: bytes) -> str:
    return message_from_bytes(raw, policy=default).get_body(("plain",)).get_content()


def test_missing_resume_is_named_and_the_reply_with_it_completes_the_application(setup, smtp):
    setup(application("Marta Kowalska", "marta@example.org", resume=False))
    [ack] = smtp.wait_for(1)
    reply = message_from_bytes(ack.data, policy=default)
    assert ack.rcpt_tos == ["marta@example.org"]
    assert ack.mail_from == "careers@numenta.com"  # bounces come back to the mailbox
    assert "your resume, attached as a PDF or DOCX file" in text_of(ack.data)
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["X-Auto-Response-Suppress"] == "All"
    assert reply["Reply-To"] == "careers@numenta.com"
    assert reply["Subject"] == "Re: Application: Machine Learning Engineer"
    assert reply["In-Reply-To"].startswith("<msg-1-")
    assert reply["References"] == reply["In-Reply-To"]

    answer = mail(
        "Marta Kowalska <marta@example.org>",
        reply["Subject"],
        "Sorry, I forgot to attach my resume. Here it is.\n\nMarta",
        n=2,
        resume=True,
        headers={
            "In-Reply-To": reply["Message-ID"],
            "References": f"{reply['In-Reply-To']} {reply['Message-ID']}",
        },
    )
    cfg = setup(answer)
    [_, follow_up] = smtp.wait_for(2)
    assert "Your application is now complete" in text_of(follow_up.data)
    assert message_from_bytes(follow_up.data)["In-Reply-To"] != reply["Message-ID"]
    [app] = rows(cfg, Application)
    assert app.status == "complete"
    raws = rows(cfg, RawMessage)
    assert [(r.kind, r.application_id) for r in raws] == [
        ("application", None),
        ("follow_up", app.id),
    ]
    assert not rows(cfg, Flag, Flag.application_id == app.id)


def test_robots_lists_and_bounces_get_nothing(setup, smtp):
    ooo = mail(
        "Laura Chen <laura@example.com>",
        "Automatic reply: Your application",
        "I am out of the office until Monday.",
        n=1,
        headers={"Auto-Submitted": "auto-replied"},
    )
    bounce = (SAMPLES.parent / "interns" / "11-bounce.eml").read_bytes()
    listed = mail(
        "Dev List <dev@lists.example.org>",
        "Machine Learning Engineer opening?",
        LETTER.format(login="dev", name="list"),
        n=3,
        headers={"List-Id": "<dev.lists.example.org>", "Precedence": "list"},
    )
    robot = application("Jobs Robot", "noreply@jobs.example.com", n=4)
    own = application("Careers", "careers@numenta.com", n=5)
    cfg = setup(ooo, bounce, listed, robot, own)
    assert smtp.messages == []
    kinds = sorted((r.kind or "") for r in rows(cfg, RawMessage))
    assert kinds == ["application", "application", "auto_reply", "bounce", "bulk"]
    decided = sorted((r.status, r.reason.split(":")[0], r.to_address) for r in rows(cfg, Outbox))
    assert decided == [
        ("skipped", "auto reply", "laura@example.com"),
        ("skipped", "bounce", "mailer-daemon@mx.numenta.com"),
        ("skipped", "bulk", "dev@lists.example.org"),
        ("suppressed", "automatic address noreply@jobs.example.com", "noreply@jobs.example.com"),
        ("suppressed", "our own address careers@numenta.com", "careers@numenta.com"),
    ]


def test_sender_rate_limit_holds(setup, smtp):
    subjects = [
        "Machine Learning Engineer",
        "ML Engineer role",
        "Scientist position",
        "Machine learning again",
        "ML engineer, once more",
    ]
    raws = [
        mail(
            "Sam Spammy <sam@example.org>",
            s,
            LETTER.format(login="sam", name="Sam"),
            n=i,
            resume=True,
        )
        for i, s in enumerate(subjects)
    ]
    cfg = setup(*raws)
    assert len(smtp.wait_for(3)) == 3
    statuses = [(r.status, r.reason) for r in rows(cfg, Outbox)]
    assert statuses[:3] == [("sent", None)] * 3
    assert statuses[3:] == [("suppressed", "rate limit: 3 replies to sam@example.org in 24 h")] * 2
    assert len(smtp.messages) == 3


def test_smtp_down_then_up_sends_each_reply_exactly_once(setup, smtp):
    dead = free_port()
    cfg = setup(
        application("Ana One", "ana@example.org", n=1),
        application("Ben Two", "ben@example.org", n=2),
        port=dead,
    )
    pending = rows(cfg, Outbox)
    assert [(r.status, r.attempts) for r in pending] == [("pending", 1)] * 2
    assert "cannot connect" in pending[0].reason
    engine = make_engine(cfg.database_url)
    live = cfg.smtp.model_copy(update={"port": smtp.port})
    now = datetime.now(UTC)
    assert outbox.send_due(engine, live, now).sent == 0  # not due before the backoff
    later = now + timedelta(seconds=cfg.smtp.retry_seconds + 1)
    assert outbox.send_due(engine, live, later).sent == 2
    assert outbox.send_due(engine, live, later + timedelta(hours=1)).sent == 0
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["ana@example.org", "ben@example.org"]
    assert {r.status for r in rows(cfg, Outbox)} == {"sent"}


def test_crash_between_send_and_record_resends_the_same_message(setup, smtp):
    cfg = setup(application("Ana One", "ana@example.org"), dry_run=True)
    engine = make_engine(cfg.database_url)
    with open_session(engine) as session:
        row = session.exec(select(Outbox)).one()
        assert row.status == "dry_run" and smtp.messages == []
        row.status = "pending"
        session.add(row)
        session.commit()

    def crash():
        raise KeyboardInterrupt  # the process dies after SMTP accepted the message

    with pytest.raises(KeyboardInterrupt):
        outbox.send_due(engine, cfg.smtp, datetime.now(UTC), after_send=crash)
    assert outbox.send_due(engine, cfg.smtp, datetime.now(UTC)).sent == 1
    first, second = smtp.wait_for(2)
    assert first.data == second.data  # the same bytes, the same Message-ID: a duplicate at worst
    assert rows(cfg, Outbox)[0].status == "sent"


def test_permanent_refusal_fails_the_row_and_temporary_is_retried(setup, smtp):
    smtp.refuse("gone@example.org", "550 5.1.1 mailbox unavailable")
    smtp.refuse("busy@example.org", "451 4.3.0 try again later")
    cfg = setup(
        application("Gone", "gone@example.org", n=1), application("Busy", "busy@example.org", n=2)
    )
    gone, busy = rows(cfg, Outbox)
    assert (gone.status, gone.reason) == ("failed", "550 5.1.1 mailbox unavailable")
    assert (busy.status, busy.attempts) == ("pending", 1)
    assert busy.reason == "451 4.3.0 try again later"


def test_a_temporary_refusal_gives_up_after_max_attempts(setup, smtp):
    """451 every time: retried after each backoff, failed (never sent) at max_attempts."""
    smtp.refuse("busy@example.org", "451 4.3.0 try again later")
    cfg = setup(application("Busy", "busy@example.org", n=1), max_attempts=3)
    engine = make_engine(cfg.database_url)
    later = datetime.now(UTC)
    for attempts in (2, 3):
        later += timedelta(days=1)  # past any backoff
        outbox.send_due(engine, cfg.smtp, later)
        [busy] = rows(cfg, Outbox)
        assert busy.attempts == attempts
    assert (busy.status, busy.reason) == ("failed", "451 4.3.0 try again later")
    assert outbox.send_due(engine, cfg.smtp, later + timedelta(days=1)).sent == 0
    assert rows(cfg, Outbox)[0].attempts == 3 and not smtp.messages


@pytest.mark.parametrize(
    ("reply", "status", "reason"),
    [
        (
            "451 4.7.1 greylisted, try again later",
            "pending",
            "451 4.7.1 greylisted, try again later",
        ),
        ("554 5.7.1 rejected as spam", "failed", "554 5.7.1 rejected as spam"),
        (HANG_UP, "pending", "Connection unexpectedly closed"),
    ],
    ids=["4xx", "5xx", "hang-up"],
)
def test_a_refusal_after_the_data_is_retried_or_failed_by_its_code(
    setup, smtp, reply, status, reason
):
    """A content filter answers the end of DATA (not RCPT TO): a 4xx there waits for the
    backoff, a 5xx fails for good, a server that hangs up is tried again later; the
    reason kept is the server's own line."""
    smtp.refuse("ana@example.org", reply, stage="data")
    cfg = setup(application("Ana One", "ana@example.org", n=1))
    [row] = rows(cfg, Outbox)
    assert (row.status, row.reason, row.attempts) == (status, reason, 1)
    assert not smtp.messages
    if status == "pending":
        wait = row.next_attempt_at - row.created_at
        assert timedelta(seconds=cfg.smtp.retry_seconds) <= wait
        assert wait <= timedelta(seconds=cfg.smtp.retry_seconds + 60)


def test_a_bounce_of_our_reply_stops_further_replies(setup, smtp):
    cfg = setup(application("Ana One", "ana@example.org", n=1))
    [ack] = smtp.wait_for(1)
    ours = message_from_bytes(ack.data)["Message-ID"]
    report = dsn("ana@example.org", ack.data)
    second = application(
        "Ana One", "ana@example.org", n=2, date=datetime(2018, 6, 1, tzinfo=UTC)
    )  # beyond the follow-up window
    cfg = setup(report, second)
    assert [b.address for b in rows(cfg, BouncedAddress)] == ["ana@example.org"]
    first_row, report_row, second_row = rows(cfg, Outbox)
    assert (report_row.status, report_row.reason.split(":")[0]) == ("skipped", "bounce")
    assert (first_row.message_id, first_row.status) == (ours, "bounced")
    assert second_row.status == "suppressed"
    assert second_row.reason == "ana@example.org bounced an earlier reply"
    assert len(smtp.messages) == 1


def test_the_same_address_continues_or_duplicates_a_shared_login_is_only_a_hint(setup, smtp):
    early = application("Ana One", "ana@example.org", n=1, login="ana-codes", resume=False)
    # Another address, the same name and GitHub login: perhaps Ana, perhaps not.
    same_login = application(
        "Ana One",
        "ana.one@work.example",
        n=2,
        login="ana-codes",
        date=datetime(2018, 2, 5, tzinfo=UTC),
    )
    follow_up = mail(
        "Ana One <ana@example.org>",
        "My resume",
        "Hello, here is the resume I forgot.\n\nAna",
        n=3,
        date=datetime(2018, 2, 6, tzinfo=UTC),
        resume=True,
    )
    much_later = application(
        "Ana One", "ana@example.org", n=4, date=datetime(2018, 9, 1, tzinfo=UTC)
    )
    cfg = setup(early, same_login, follow_up, much_later)
    first, second, third = rows(cfg, Application)
    assert (second.duplicate_of, third.duplicate_of) == (None, first.id)
    assert [f.code for f in rows(cfg, Flag, Flag.application_id == second.id)] == [
        "possible_duplicate"
    ]
    # the same address as #1: a duplicate; the same name and login as #2: a hint
    assert [f.message for f in rows(cfg, Flag, Flag.application_id == third.id)] == [
        f"already applied (application #{first.id})",
        f"the same GitHub login or name as application #{second.id}, from another address",
    ]
    assert [r.application_id for r in rows(cfg, RawMessage)] == [None, None, first.id, None]
    assert [(r.to_address, r.template) for r in rows(cfg, Outbox)] == [
        ("ana@example.org", "received_incomplete"),
        ("ana.one@work.example", "received"),
        ("ana@example.org", "follow_up"),
        ("ana@example.org", "received"),
    ]


def test_nobody_can_take_over_an_application_by_naming_its_github(setup, smtp):
    """An intruder's mail naming someone's GitHub profile changes nothing of their
    application and is told nothing about it (issue 13)."""
    victim = application("Ana One", "ana@example.org", n=1, login="ana-codes", resume=False)
    victim = victim.replace(b"Best regards", b"I am a US citizen.\n\nBest regards")
    intruder = mail(
        "Mallory <mallory@evil.example>",
        "Re: Application: Machine Learning Engineer",
        "Following up on my application: https://github.com/ana-codes\n"
        "I will need visa sponsorship to work in the US. My resume is attached.\n\nMallory",
        n=2,
        date=datetime(2018, 1, 25, tzinfo=UTC),
        resume=True,
    )
    cfg = setup(victim)
    [before] = rows(cfg, Application)
    cfg = setup(intruder)
    [after] = rows(cfg, Application, Application.id == before.id)
    for name in ("needs_sponsorship", "eligibility", "eligibility_evidence", "status"):
        assert getattr(after, name) == getattr(before, name), name
    assert not after.needs_sponsorship and after.status == "incomplete"
    assert [r.application_id for r in rows(cfg, RawMessage)] == [None, None]
    assert [
        d.raw_message_id for d in rows(cfg, Document, Document.application_id == before.id)
    ] == []
    to_intruder = rows(cfg, Outbox, Outbox.to_address == "mallory@evil.example")
    assert all(r.application_id != before.id for r in to_intruder)
    assert all(b"ana" not in r.raw.lower() for r in to_intruder)
    mallory = rows(cfg, Application, Application.id != before.id)
    assert [
        f.code
        for app in mallory
        for f in rows(cfg, Flag, Flag.application_id == app.id)
        if f.code == "possible_duplicate"
    ] == ["possible_duplicate"] * len(mallory)


def test_reprocessing_and_polling_again_queue_no_second_reply(setup, smtp):
    cfg = setup(application("Ana One", "ana@example.org", resume=False))
    smtp.wait_for(1)
    engine = make_engine(cfg.database_url)
    reprocess(engine, processor_for(cfg))
    setup()
    assert len(rows(cfg, Outbox)) == 1
    assert len(smtp.messages) == 1


def test_a_crash_right_after_the_commit_keeps_the_reply_with_its_message(
    setup, smtp, imap_server, imap_folder
):
    """The reply is queued in the transaction that stores what it answers: killed right
    after that commit (before the checkpoint and any send), the message and its reply are
    both there; the restart recognises the message and sends the one reply."""
    cfg = setup()
    append_messages(imap_server.account, imap_folder, [application("Ana One", "ana@x.org", n=1)])
    engine = make_engine(cfg.database_url)

    def killed(_batch: list[int]) -> None:
        raise SystemExit("killed between the commit and the checkpoint")

    with connect(cfg.mailboxes[0]) as mailbox, pytest.raises(SystemExit):
        poll_mailbox(cfg.mailboxes[0], mailbox, engine, processor_for(cfg), after_commit=killed)
    [raw], [reply] = rows(cfg, RawMessage), rows(cfg, Outbox)
    assert (reply.trigger_id, reply.status, reply.to_address) == (raw.id, "pending", "ana@x.org")
    setup()  # the restart: the batch again (recognised), then the send
    assert [r.status for r in rows(cfg, Outbox)] == ["sent"]
    assert len(rows(cfg, RawMessage)) == 1 and len(smtp.messages) == 1


def test_a_message_decided_again_with_replies_on_is_not_answered_again(setup, smtp):
    """As a quarantine retry or any second run of processing does: the reply that went
    out is recognised (one per message and role), nothing new is queued, and the message
    stays processed (a second row would break the outbox's unique key and quarantine it)."""
    cfg = setup(application("Ana One", "ana@example.org", resume=False))
    engine = make_engine(cfg.database_url)
    with open_session(engine) as session:
        [raw] = session.exec(select(RawMessage)).all()
        processor_for(cfg)(session, raw)
        session.commit()
        assert (raw.status, raw.error) == ("processed", None)
    assert len(rows(cfg, Outbox)) == 1


def test_one_reply_per_message_and_role_not_per_message(setup, smtp):
    """A forwarded application has two replies, the candidate's and the referrer's, each
    on its application. When one of them is missing (here: deleted) and the message is
    decided again, that one is queued again, and only that one."""
    cfg = setup((CLIENTS / "gmail--fwd-employee-referral.eml").read_bytes())
    [application_row] = rows(cfg, Application)
    queued = rows(cfg, Outbox)
    assert sorted(r.role for r in queued) == ["applicant", "referrer"]
    assert {r.application_id for r in queued} == {application_row.id}
    engine = make_engine(cfg.database_url)
    with open_session(engine) as session:
        session.delete(session.get(Outbox, next(r.id for r in queued if r.role == "referrer")))
        session.commit()
        [raw] = session.exec(select(RawMessage)).all()
        processor_for(cfg)(session, raw)
        session.commit()
    again = rows(cfg, Outbox)
    assert sorted(r.role for r in again) == ["applicant", "referrer"]
    referrer = next(r for r in again if r.role == "referrer")
    assert referrer.message_id == next(r for r in queued if r.role == "referrer").message_id


def test_dry_run_renders_but_never_sends(setup, smtp):
    cfg = setup(application("Ana One", "ana@example.org"), dry_run=True)
    [row] = rows(cfg, Outbox)
    assert row.status == "dry_run"
    assert "it is complete" in text_of(row.raw)
    assert smtp.messages == []


def test_outbox_commands_list_show_retry_and_send(setup, smtp, tmp_path):
    """Two replies are refused for good; `outbox retry ID` queues that one again, from a
    fresh count of attempts, and leaves the other failed; `outbox send` sends only it."""
    smtp.refuse("gone@example.org")
    smtp.refuse("away@example.org")
    cfg = setup(
        application("Gone Away", "gone@example.org", n=1),
        application("Ana One", "ana@example.org", n=2, resume=False),
        application("Far Away", "away@example.org", n=3),
    )
    path = str(tmp_path / "config.toml")
    listing = invoke("--config", path, "outbox", "list")
    assert "failed" in listing and "550 5.1.1 no such user" in listing and "sent" in listing
    failed = {r.to_address: r for r in rows(cfg, Outbox) if r.status == "failed"}
    assert sorted(failed) == ["away@example.org", "gone@example.org"]
    gone = failed["gone@example.org"]
    assert gone.attempts == 1
    shown = invoke("--config", path, "outbox", "show", str(gone.id))
    assert "Auto-Submitted: auto-replied" in shown and "To: Gone Away <gone@example.org>" in shown
    smtp.clear()  # the addresses work again
    assert "1 replies queued again" in invoke("--config", path, "outbox", "retry", str(gone.id))
    queued = {r.to_address: (r.status, r.attempts) for r in rows(cfg, Outbox)}
    assert queued["gone@example.org"] == ("pending", 0)
    assert queued["away@example.org"] == ("failed", 1)
    assert "sent 1, retrying later 0, failed 0" in invoke("--config", path, "outbox", "send")
    assert [m.rcpt_tos for m in smtp.messages] == [["gone@example.org"]]
    statuses = {r.to_address: r.status for r in rows(cfg, Outbox)}
    assert statuses == {
        "gone@example.org": "sent",
        "ana@example.org": "sent",
        "away@example.org": "failed",
    }


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False, terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


CLIENTS = Path(__file__).parent / "fixtures" / "clients"


def test_a_forwarded_application_is_acknowledged_to_the_candidate(setup, smtp):
    """An employee forwards a candidate's application (Gmail): the candidate gets the
    acknowledgement, the employee a thank-you for the referral; both are stored."""
    cfg = setup((CLIENTS / "gmail--fwd-employee-referral.eml").read_bytes())
    sent = {m.rcpt_tos[0]: message_from_bytes(m.data, policy=default) for m in smtp.wait_for(2)}
    assert sorted(sent) == ["kenji.watanabe.ml@gmail.com", "mfeld@numenta.com"]
    candidate, referrer = sent["kenji.watanabe.ml@gmail.com"], sent["mfeld@numenta.com"]
    assert candidate["To"] == "Kenji Watanabe <kenji.watanabe.ml@gmail.com>"
    assert candidate["Subject"] == "Re: Numenta ML Engineer application"
    assert "Marcus Feld forwarded your application to us." in text_of(candidate.as_bytes())
    assert "Thank you for applying for the Machine Learning Engineer" in text_of(
        candidate.as_bytes()
    )
    thanks = " ".join(text_of(referrer.as_bytes()).split())
    assert "Thank you for referring Kenji Watanabe for the Machine Learning Engineer" in thanks
    assert "We have also written to Kenji Watanabe" in thanks
    assert referrer["In-Reply-To"] == "<CAE42d8f6hyNA=nk5e5YKQJJEh3TL2kPoWjK@mail.gmail.com>"
    [app] = rows(cfg, Application)
    [kenji] = rows(cfg, Applicant, Applicant.id == app.applicant_id)
    [marcus] = rows(cfg, Applicant, Applicant.id == app.referrer_id)
    assert (kenji.email, marcus.email) == ("kenji.watanabe.ml@gmail.com", "mfeld@numenta.com")
    assert app.github == ["https://github.com/kwatanabe-dl"]  # not the employee's own
    roles = sorted((r.role, r.status) for r in rows(cfg, Outbox))
    assert roles == [("applicant", "sent"), ("referrer", "sent")]


def test_the_candidate_answering_our_acknowledgement_joins_the_referred_application(setup, smtp):
    setup((CLIENTS / "gmail--fwd-employee-referral.eml").read_bytes())
    ack = next(
        message_from_bytes(m.data, policy=default)
        for m in smtp.wait_for(2)
        if m.rcpt_tos == ["kenji.watanabe.ml@gmail.com"]
    )
    answer = mail(
        "Kenji Watanabe <kenji.watanabe.ml@gmail.com>",
        ack["Subject"],
        "Thanks! I also put my thesis code at https://github.com/kwatanabe-dl/sparse-cnn",
        n=9,
        headers={"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"]},
    )
    cfg = setup(answer)
    [app] = rows(cfg, Application)
    assert app.github == [
        "https://github.com/kwatanabe-dl",
        "https://github.com/kwatanabe-dl/sparse-cnn",
    ]
    folded = rows(cfg, RawMessage, RawMessage.application_id == app.id)
    assert [r.kind for r in folded] == ["follow_up"]


def test_send_now_ignores_the_retry_delay_but_keeps_the_real_clock(setup, smtp):
    dead = free_port()
    cfg = setup(application("Ana One", "ana@example.org", n=1), port=dead)
    path = str(cfg.base_dir / "config.toml")
    [waiting] = rows(cfg, Outbox)
    assert waiting.status == "pending" and aware(waiting.next_attempt_at) > datetime.now(UTC)
    # still down: a second failed attempt is retried after a real, doubled delay
    result = CliRunner().invoke(cli, ["--config", path, "outbox", "send", "--now"])
    assert "retrying later 1" in result.output
    [again] = rows(cfg, Outbox)
    delay = aware(again.next_attempt_at) - datetime.now(UTC)
    assert again.attempts == 2
    assert (
        timedelta(seconds=cfg.smtp.retry_seconds)
        < delay
        <= timedelta(seconds=2 * cfg.smtp.retry_seconds)
    )
    # up again: sent now, and recorded as sent now (not a century ahead)
    text = (
        (cfg.base_dir / "config.toml").read_text().replace(f"port = {dead}", f"port = {smtp.port}")
    )
    (cfg.base_dir / "config.toml").write_text(text)
    result = CliRunner().invoke(cli, ["--config", path, "outbox", "send", "--now"])
    assert "sent 1, retrying later 0, failed 0" in result.output, result.output
    [sent] = rows(cfg, Outbox)
    assert abs(aware(sent.sent_at) - datetime.now(UTC)) < timedelta(minutes=1)


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
