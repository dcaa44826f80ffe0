"""The fetch-store-checkpoint loop against a real IMAP server (Dovecot and pymap), on
SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import func, select

from intake.config import MailboxConfig
from intake.daemon.pipeline import Processor, batches, poll_mailbox, poll_one, reprocess
from intake.decisions.rules import DEFAULT_DIR, load_all
from intake.demo.servers import ImapAccount, append_messages, logged_in, recreate_folder
from intake.limits import Limits
from intake.mail.mailbox import connect
from intake.storage import store
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import Application, Checkpoint, Document, Flag, RawMessage
from tests.judging import stored as processed
from tests.servers import Proxy

PASSWORD_ENV = "INTAKE_TEST_IMAP_PASSWORD"
SAMPLES = Path(__file__).parent.parent / "data" / "sample"
# A MIME tree nested thousands deep: mail-parser gives up on it, the standard library reads it.
NESTED = (
    b"From: Mallory <mallory@example.org>\r\nSubject: nested\r\nMessage-ID: <deep@example.org>\r\n"
    b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
    + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n"
    * 2000
)
# An application that says who wrote it nowhere: it cannot be answered or stored as one.
UNPROCESSABLE = (
    b"Subject: Application\r\nMessage-ID: <nobody@example.org>\r\n\r\n"
    b"Dear Numenta, I am applying for the Machine Learning Engineer position.\r\n"
)

PROCESSOR = Processor(load_all(DEFAULT_DIR))


def message(n: int, sender: str = "applicant") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Applicant {n} <{sender}{n}@example.org>"
    msg["To"] = "careers@numenta.com"
    msg["Subject"] = f"Application for ML Engineer #{n}"
    msg["Date"] = "Mon, 22 Jan 2018 10:00:00 -0800"
    msg["Message-ID"] = f"<app-{n}@example.org>"
    msg.set_content(f"Dear Numenta,\n\nI am applying. My code: https://github.com/user{n}\n")
    return msg.as_bytes()


@pytest.fixture
def box(imap_server, imap_folder, monkeypatch) -> MailboxConfig:
    monkeypatch.setenv(PASSWORD_ENV, imap_server.account.password)
    return mailbox_config(imap_server.account, imap_folder)


def mailbox_config(account: ImapAccount, folder: str, **options) -> MailboxConfig:
    """The careers mailbox on a test server's folder, in batches of three."""
    return MailboxConfig(
        name="careers",
        host=account.host,
        port=account.port,
        tls="none",
        username=account.username,
        password_env=PASSWORD_ENV,
        folder=folder,
        batch_size=3,
        timeout_seconds=10,
        **options,
    )


@pytest.fixture
def engine(database_url):
    return make_engine(database_url)


def poll(box, engine, **kwargs):
    with connect(box) as mailbox:
        return poll_mailbox(box, mailbox, engine, PROCESSOR, **kwargs)


def server_uids(account: ImapAccount, folder: str) -> dict[int, bool]:
    """UID -> whether it is \\Seen, as the server has it now (by UID)."""
    with logged_in(account) as client:
        client.select_folder(folder, readonly=True)
        flags = client.get_flags(client.search("ALL"))
    return {uid: b"\\Seen" in found for uid, found in sorted(flags.items())}


def stored(engine) -> list[RawMessage]:
    """Every stored message, by UID."""
    with open_session(engine) as session:
        return list(session.exec(select(RawMessage).order_by(RawMessage.uid)))


def count(engine, model) -> int:
    with open_session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_first_poll_stores_everything_and_second_poll_nothing(imap_server, box, engine):
    append_messages(imap_server.account, box.folder, [message(n) for n in range(7)])
    first = poll(box, engine)
    assert (first.fetched, first.stored, first.failed, first.applications) == (7, 7, 0, 7)
    second = poll(box, engine)
    assert (second.fetched, second.stored) == (0, 0)
    assert count(engine, RawMessage) == 7
    with open_session(engine) as session:
        app = session.exec(select(Application).order_by(Application.id)).first()
        assert app.github == ["https://github.com/user0"]
        checkpoint = session.get(Checkpoint, "careers")
        assert checkpoint.last_uid == max(server_uids(imap_server.account, box.folder))
    assert first.mailbox == "careers"


def test_a_copy_with_more_trace_headers_is_one_message_a_reused_message_id_is_two(
    imap_server, box, engine
):
    """Delivered twice (to careers@ and through a list or a second MX, each adding its
    Received lines) is one message; a broken client reusing one Message-ID for two
    different messages is two."""
    original = message(1)
    relayed = (
        b"Received: from mx2.numenta.com (mx2.numenta.com [10.0.0.2])\r\n"
        b"\tby mail.numenta.com with ESMTPS id 4AB3; Mon, 22 Jan 2018 10:00:05 -0800\r\n"
        b"X-Original-To: careers@numenta.com\r\n" + original.replace(b"\n", b"\r\n")
    )
    reused = message(2).replace(b"<app-2@example.org>", b"<app-1@example.org>")
    append_messages(imap_server.account, box.folder, [original, relayed, reused])
    stats = poll(box, engine)
    assert (stats.fetched, stats.stored, stats.duplicates) == (3, 2, 1)
    with open_session(engine) as session:
        rows = session.exec(select(RawMessage).order_by(RawMessage.id)).all()
    assert [r.message_id for r in rows] == ["<app-1@example.org>"] * 2
    assert [r.sender for r in rows] == ["applicant1@example.org", "applicant2@example.org"]


def test_the_dedupe_key_is_the_same_in_every_release():
    """Stored keys are compared with keys computed now (a rescan after UIDVALIDITY changes,
    an upgrade), so the recipe is fixed: the Message-ID (first 900 characters) and 16 hex
    digits of the SHA-256 of the body with CRLF as LF and trailing white space cut; the
    SHA-256 of the whole message when there is no Message-ID."""
    raw = (
        b"Received: from mx1\r\nMessage-ID: <app-7@example.org>\r\nFrom: a@b.c\r\n"
        b"Subject: x\r\n\r\nDear team,\r\n\r\nI am applying.\r\n\r\nAna\r\n\r\n"
    )
    assert store.identify(raw).dedupe_key == "<app-7@example.org> 2fffa5c875b3c761"
    no_id = b"From: a@b.c\r\nSubject: x\r\n\r\nhi\r\n"
    sha = "324878affb2d59dc48f179845d7354b1e08853487482fd6781366011d487d74a"
    assert store.identify(no_id) == store.Identity(None, sha, f"sha256:{sha}")
    long = b"Message-ID: <" + b"x" * 1000 + b"@example.org>\r\n\r\nhi\r\n"
    assert store.identify(long).dedupe_key == "<" + "x" * 899 + " 8f434346648f6b96"


def test_incremental_poll_fetches_only_new_uids(imap_server, box, engine):
    append_messages(imap_server.account, box.folder, [message(n) for n in range(3)])
    assert poll(box, engine).stored == 3
    append_messages(imap_server.account, box.folder, [message(n) for n in range(3, 5)])
    stats = poll(box, engine)
    assert (stats.fetched, stats.stored, stats.duplicates) == (2, 2, 0)
    assert count(engine, RawMessage) == 5


def test_max_per_poll_caps_one_poll(imap_server, box, engine):
    box = box.model_copy(update={"max_per_poll": 4})
    append_messages(imap_server.account, box.folder, [message(n) for n in range(6)])
    first = poll(box, engine)
    assert (first.stored, first.backlog) == (4, 2)
    second = poll(box, engine)
    assert (second.stored, second.backlog) == (2, 0)


def test_a_stop_finishes_the_message_in_hand_and_checkpoints_it(imap_server, box, engine):
    """SIGTERM in the middle of a batch: what was handled is committed and checkpointed."""
    append_messages(imap_server.account, box.folder, [message(n) for n in range(7)])
    box = box.model_copy(update={"batch_size": 5})
    handled = []

    def stopping() -> bool:
        handled.append(1)
        return len(handled) > 3  # asked before each message: stop after the third

    stats = poll(box, engine, stopping=stopping)
    assert (stats.stored, stats.backlog) == (3, 4)
    with open_session(engine) as session:
        stored = session.exec(select(RawMessage.uid).order_by(RawMessage.uid)).all()
        assert session.get(Checkpoint, "careers").last_uid == stored[-1]
    assert stored == list(server_uids(imap_server.account, box.folder))[:3]
    assert poll(box, engine).stored == 4
    assert count(engine, RawMessage) == 7


def test_new_uidvalidity_rescans_without_storing_twice(imap_server, box, engine):
    raws = [message(n) for n in range(4)]
    append_messages(imap_server.account, box.folder, raws)
    assert poll(box, engine).stored == 4
    recreate_folder(imap_server.account, box.folder)
    append_messages(imap_server.account, box.folder, raws)
    stats = poll(box, engine)
    assert stats.uidvalidity_reset
    assert (stats.fetched, stats.stored, stats.duplicates) == (4, 0, 4)
    assert count(engine, RawMessage) == 4


def test_crash_between_store_and_checkpoint_stores_no_duplicates(imap_server, box, engine):
    append_messages(imap_server.account, box.folder, [message(n) for n in range(5)])

    def crash(batch):
        raise KeyboardInterrupt("killed after commit, before checkpoint")

    with pytest.raises(KeyboardInterrupt):
        poll(box, engine, after_commit=crash)
    assert count(engine, RawMessage) == 3  # the first batch was committed
    with open_session(engine) as session:
        assert store.get_checkpoint(session, "careers") is None
    stats = poll(box, engine)
    assert (stats.fetched, stats.stored, stats.duplicates) == (5, 2, 3)
    assert count(engine, RawMessage) == 5
    assert count(engine, Application) == 5


def test_a_message_that_cannot_be_processed_is_quarantined_and_the_rest_stored(
    imap_server, box, engine
):
    raws = [message(0), message(1), UNPROCESSABLE, NESTED, message(3), message(4)]
    append_messages(imap_server.account, box.folder, raws)
    stats = poll(box, engine)
    assert (stats.stored, stats.failed, stats.applications) == (6, 1, 4)
    with open_session(engine) as session:
        failed = session.exec(select(RawMessage).where(RawMessage.status == "failed")).one()
        nested = session.exec(
            select(RawMessage).where(RawMessage.message_id == "<deep@example.org>")
        ).one()
    assert (failed.message_id, failed.error) == (
        "<nobody@example.org>",
        "IntakeError: no sender address",
    )
    assert failed.raw.replace(b"\r\n", b"\n") == UNPROCESSABLE.replace(b"\r\n", b"\n")
    assert (nested.status, nested.kind) == ("processed", "other")


def test_leave_does_not_mark_seen_and_mark_seen_does(imap_server, box, engine):
    account = imap_server.account
    append_messages(account, box.folder, [message(1)])
    poll(box, engine)

    def seen_flags():
        return list(server_uids(account, box.folder).values())

    assert seen_flags() == [False]
    with logged_in(account) as client:
        # selected read-only (EXAMINE): the message is still new to the next client
        assert client.select_folder(box.folder, readonly=True)[b"RECENT"] == 1
    append_messages(account, box.folder, [message(2)])
    poll(box.model_copy(update={"after_store": "mark_seen"}), engine)
    assert seen_flags() == [False, True]


class Without(Proxy):
    """Hides `names` from the server's capabilities, as a server without them would."""

    def __init__(self, port: int, *names: bytes) -> None:
        self.names, self.said = names, b""
        super().__init__(port)

    def asked(self, data: bytes) -> bytes:
        self.said += data
        return data

    def answered(self, data: bytes) -> bytes:
        if b"CAPABILITY" not in data:
            return data
        for name in self.names:
            data = re.sub(rb" " + name + rb"(?=[ \]\r])", b"", data, flags=re.IGNORECASE)
        return data


@pytest.mark.parametrize(
    ("hidden", "expunge", "left"),
    [((b"MOVE",), rb" UID EXPUNGE \d", 1), ((b"MOVE", b"UIDPLUS"), rb"\d EXPUNGE\r\n", 0)],
    ids=["uid-expunge", "expunge"],
)
def test_move_on_a_server_without_the_move_extension(
    imap_server, box, engine, hidden, expunge, left
):
    """Without MOVE (RFC 6851): COPY, \\Deleted, then UID EXPUNGE (RFC 4315), which removes
    only ours, so a message someone else deleted and did not expunge stays; without UIDPLUS
    either, the last resort is a plain EXPUNGE, which takes that one too."""
    account = imap_server.account
    target = f"{box.folder}-done"
    append_messages(account, target, [])
    append_messages(account, box.folder, [message(0), message(1), message(9)])
    with logged_in(account) as client:
        client.select_folder(box.folder)
        client.add_flags([max(client.search(["ALL"]))], [b"\\Deleted"])  # not ours to expunge
    proxy = Without(account.port, *hidden)
    update = {"after_store": "move", "move_to": target, "port": proxy.port, "max_per_poll": 2}
    stats = poll(box.model_copy(update=update), engine)
    proxy.close()
    assert stats.stored == 2
    said = proxy.said.upper()
    assert b" MOVE " not in said and b" UID COPY " in said and b" UID STORE " in said
    assert re.search(expunge, said)
    with logged_in(account) as client:
        assert client.select_folder(target)[b"EXISTS"] == 2
        assert client.select_folder(box.folder)[b"EXISTS"] == left


class ExpungedBeforeSizes(Proxy):
    """Another client expunges the folder's last message between our UID SEARCH and the
    FETCH of sizes that follows it (a person cleaning up the mailbox while we poll). The
    server may still answer for it (pymap, Dovecot: the session has not been told) or
    ignore the vanished UID (RFC 3501 6.4.8); this proxy makes it the latter."""

    def __init__(self, account: ImapAccount, folder: str) -> None:
        self.account, self.folder, self.gone, self.pending = account, folder, None, b""
        super().__init__(account.port)

    def asked(self, data: bytes) -> bytes:
        if b"RFC822.SIZE" in data.upper() and self.gone is None:
            with logged_in(self.account) as client:
                client.select_folder(self.folder)
                self.gone = max(client.search(["ALL"]))
                client.delete_messages([self.gone])
                client.expunge()
        return data

    def answered(self, data: bytes) -> bytes:
        if self.gone is None:
            return data
        self.pending += data  # whole lines only: a server may send a line in pieces
        lines, crlf, self.pending = self.pending.rpartition(b"\r\n")
        vanished = rb"\* \d+ FETCH \((?=[^\r\n]*\bUID %d\b)[^\r\n]*RFC822\.SIZE[^\r\n]*" % self.gone
        kept = [line for line in (lines + crlf).split(b"\r\n") if not re.fullmatch(vanished, line)]
        return b"\r\n".join(kept)


def test_a_message_expunged_while_we_poll_is_skipped_and_checkpointed_past(
    imap_server, box, engine
):
    """The vanished UID has no size and no body: the rest of its batch is stored, and the
    checkpoint moves past it (it is the batch's last), so it is never asked for again."""
    append_messages(imap_server.account, box.folder, [message(n) for n in range(3)])
    proxy = ExpungedBeforeSizes(imap_server.account, box.folder)
    stats = poll(box.model_copy(update={"port": proxy.port}), engine)
    proxy.close()
    assert (stats.error, stats.fetched, stats.stored) == (None, 2, 2)
    with open_session(engine) as session:
        assert session.get(Checkpoint, "careers").last_uid == proxy.gone
    assert proxy.gone not in {r.uid for r in stored(engine)}


def test_a_folder_that_does_not_exist_is_a_poll_error_naming_it(imap_server, box, engine):
    """A typo in `folder` is reported where the operator looks (`intake status`)."""
    stats = poll_one(box.model_copy(update={"folder": "INBOX.Careerz"}), engine, PROCESSOR)
    assert stats.error.startswith("mailbox careers (")
    assert "/INBOX.Careerz): cannot select folder: " in stats.error
    assert count(engine, RawMessage) == 0


def test_move_after_store(imap_server, box, engine):
    account = imap_server.account
    target = f"{box.folder}-done"
    append_messages(account, target, [])
    append_messages(account, box.folder, [message(n) for n in range(2)])
    spy = Without(account.port)  # hides nothing: sees what we ask
    update = {"after_store": "move", "move_to": target, "port": spy.port}
    stats = poll(box.model_copy(update=update), engine)
    spy.close()
    assert stats.stored == 2
    assert b" UID MOVE " in spy.said.upper()  # atomic (RFC 6851): never in both folders
    with logged_in(account) as client:
        assert client.select_folder(box.folder)[b"EXISTS"] == 0
        assert client.select_folder(target)[b"EXISTS"] == 2


def test_sample_mail_goes_through(imap_server, box, engine):
    raws = [p.read_bytes() for p in sorted(SAMPLES.glob("*/*.eml"))]
    append_messages(imap_server.account, box.folder, raws)
    stats = poll(box, engine)
    assert (stats.fetched, stats.stored, stats.failed) == (len(raws), len(raws), 0)
    assert stats.applications >= 12


def test_extracted_fields_are_stored(imap_server, box, engine):
    raw = (SAMPLES / "interns" / "03-wei-zhang.eml").read_bytes()
    append_messages(imap_server.account, box.folder, [raw])
    poll(box, engine)
    with open_session(engine) as session:
        app = session.exec(select(Application)).one()
    assert (app.period_start, app.period_end, app.period_text) == (
        "2017-06",
        "2017-08",
        "Summer 2017",
    )
    # polled from careers@: the ML engineer posting states no eligibility rule to judge by
    assert (app.area, app.eligibility, app.eligibility_basis) == (
        "algorithms",
        "not_judged",
        ["us_university_enrolled"],
    )
    assert "UC San Diego" in app.eligibility_evidence[0]["text"]
    assert app.needs_sponsorship is False


def test_rules_decide_posting_and_status(imap_server, box, engine):
    raw = (SAMPLES / "careers" / "05-kenji-watanabe.eml").read_bytes()
    append_messages(imap_server.account, box.folder, [raw])
    poll(box, engine)
    with open_session(engine) as session:
        app = session.exec(select(Application)).one()
        flags = session.exec(select(Flag)).all()
    assert (app.posting, app.status) == ("numenta-ml-engineer", "incomplete")
    assert [f.code for f in flags] == ["missing_github"]


def test_reprocess_after_a_rule_change(imap_server, box, engine, tmp_path):
    import shutil

    raws = [
        (SAMPLES / "careers" / name).read_bytes()
        for name in ("01-priya-raman.eml", "05-kenji-watanabe.eml", "06-out-of-office.eml")
    ]
    append_messages(imap_server.account, box.folder, raws)
    poll(box, engine)
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_DIR, rules)
    path = rules / "numenta-ml-engineer.toml"
    path.write_text(path.read_text().replace('"resume", "github"]', '"resume"]'))
    processor = Processor(load_all(rules))
    counts = reprocess(engine, processor, "numenta-ml-engineer")
    assert counts == {"complete": 2, "auto_reply": 1}
    assert reprocess(engine, processor) == counts  # converges: nothing changes on a re-run
    with open_session(engine) as session:
        assert {a.status for a in session.exec(select(Application))} == {"complete"}
        assert session.exec(select(Flag)).all() == []
    assert count(engine, Application) == 2 and count(engine, RawMessage) == 3


def test_unsigned_32_bit_uidvalidity_and_uids_are_stored(engine):
    """UIDVALIDITY and UIDs go up to 2^32 - 1 (pymap gives values above 2^31)."""
    top = 2**32 - 1
    with open_session(engine) as session:
        raw = message(1)
        store.add_raw(
            session,
            raw,
            store.identify(raw),
            mailbox="careers",
            folder="INBOX",
            uidvalidity=top,
            uid=top,
        )
        store.save_checkpoint(session, "careers", top, top)
        session.commit()
    with open_session(engine) as session:
        assert session.exec(select(RawMessage.uidvalidity, RawMessage.uid)).one() == (top, top)
        checkpoint = store.get_checkpoint(session, "careers")
        assert (checkpoint.uidvalidity, checkpoint.last_uid) == (top, top)


def test_a_nul_in_the_body_is_processed_alike_on_both_backends(engine):
    """PostgreSQL text cannot hold NUL: stored text drops it, the raw bytes keep it."""
    msg = EmailMessage()
    msg["From"], msg["To"] = "Ann Lee <ann@example.org>", "careers@numenta.com"
    msg["Subject"], msg["Message-ID"] = "Application for ML Engineer", "<nul@example.org>"
    msg.set_content("Dear Numenta,\n\nI am\x00 applying. My code: https://github.com/annlee\n")
    resume = b"Ann Lee\x00\nEducation\nBSc Computer Science\nExperience\nIntern\n"
    msg.add_attachment(resume, maintype="text", subtype="plain", filename="resume.txt")
    raw = msg.as_bytes()
    with open_session(engine) as session:
        processed(session, PROCESSOR, "careers", raw, 1)
        session.commit()
    with open_session(engine) as session:
        stored = session.exec(select(RawMessage)).one()
        assert (stored.status, stored.error, stored.kind) == ("processed", None, "application")
        assert stored.raw == raw
        letter = session.exec(select(Application.cover_letter)).one()
        assert "I am applying." in letter
        assert session.exec(select(Document.text)).one().startswith("Ann Lee\nEducation")


def test_a_message_larger_than_the_limit_is_never_downloaded(imap_server, box, engine):
    """RFC822.SIZE is asked first: an oversized message is stored as its headers and the
    reason (quarantined), the ones around it as usual, and batches stay small in bytes."""
    big = message(1).replace(b"I am applying.", b"I am applying. " + b"x" * 3 * 2**20)
    exact, over = sized(message(3), 2**20), sized(message(4), 2**20 + 1)
    append_messages(imap_server.account, box.folder, [message(0), big, message(2), exact, over])
    with logged_in(imap_server.account) as client:
        client.select_folder(box.folder, readonly=True)
        found = client.fetch(client.search(["ALL"]), ["RFC822.SIZE"])
        sizes = sorted(v[b"RFC822.SIZE"] for v in found.values())
        assert sizes[-3:-1] == [2**20, 2**20 + 1]  # as the server counts them
    limited = replace(PROCESSOR, limits=Limits(message_mb=1))
    with connect(box) as mailbox:
        stats = poll_mailbox(box, mailbox, engine, limited)
    assert (stats.stored, stats.failed, stats.applications) == (5, 2, 3)
    rows = stored(engine)
    oversized = rows[1]
    assert oversized.status == "failed" and oversized.size < 2000
    assert oversized.error.startswith("not downloaded: 3.0 MiB is more than limits.message_mb (1")
    assert oversized.raw.startswith(b"From: Applicant 1") and b"x" * 100 not in oversized.raw
    assert (rows[3].status, rows[3].size) == ("processed", 2**20)  # at the limit: read
    assert rows[4].error.startswith("not downloaded: 1.0 MiB is more than")  # one byte over


def sized(raw: bytes, total: int) -> bytes:
    """`raw` with CRLF line ends, its body padded to exactly `total` bytes."""
    crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    pad = total - len(crlf) - 2
    return crlf + b"x" * pad + b"\r\n"


def test_batches_hold_a_bounded_number_of_bytes():
    sizes = {1: 600, 2: 600, 3: 5000, 4: 100, 5: 100, 6: 100}
    assert batches([1, 2, 3, 4, 5, 6], sizes, 3, 1000) == [[1], [2, 3, 4], [5, 6]]
    assert batches([1, 2], {}, 1, 10) == [[1], [2]]  # vanished UIDs cost nothing
    assert batches([1, 2, 3], {1: 10}, 3, 10) == [[1, 2, 3]]  # ... even in a full batch
    assert batches([1, 2, 3], {1: 4, 2: 6, 3: 1}, 5, 10) == [[1, 2], [3]]  # exactly full
    assert batches([1, 2], {1: 10, 2: 5}, 5, 10) == [[1], [2]]  # at the limit: it is read
    assert batches([1, 2], {1: 11, 2: 10}, 5, 10) == [[1, 2]]  # over it: headers only
