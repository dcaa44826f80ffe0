"""Messages are read by several document workers at once, a batch ahead of their storing:
the order of storing, and so the checkpoint, does not change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from intake.daemon.pipeline import RERUN_BATCH, reprocess
from intake.daemon.processing import Recent, reading_pool
from intake.demo.servers import append_messages
from intake.limits import Limits
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import Application, RawMessage
from tests.builders import make_mail, make_slow_pdf
from tests.test_faults import until
from tests.test_pipeline import (
    PASSWORD_ENV,
    PROCESSOR,
    Without,
    mailbox_config,
    message,
    poll,
    stored,
)

SLOW = Limits(document_seconds=1, message_seconds=5)


@pytest.fixture
def engine(database_url):
    return make_engine(database_url)


def slow_application(n: int) -> bytes:
    """An application whose PDF keeps a worker busy for its whole document limit."""
    pdf = make_slow_pdf(seed=n)
    return make_mail(
        "Dear Numenta, I am applying for the Machine Learning Engineer position.",
        sender=f"Applicant {n} <applicant{n}@example.org>",
        message_id=f"<slow-{n}@example.org>",
        attachments=[("resume.pdf", "application/pdf", pdf)],
    )


def test_a_pool_of_two_reads_two_messages_at_once_and_a_pool_of_one_does_not():
    raws = {n: slow_application(n) for n in range(2)}
    both = replace(PROCESSOR, limits=SLOW, pool=reading_pool(2)).read_ahead(raws)
    assert until(lambda: all(f.running() for f in both.values()), seconds=3)
    one = replace(PROCESSOR, limits=SLOW, pool=reading_pool(1)).read_ahead(raws)
    assert until(lambda: one[0].running(), seconds=3) and not one[1].running()
    for future in (*both.values(), *one.values()):
        [resume] = future.result().documents
        assert resume.content.error == "cannot read PDF: gave up after 1s"


def test_the_next_batch_is_fetched_before_this_one_is_stored(
    imap_server, imap_folder, engine, monkeypatch
):
    """At each batch's commit the following batch has been fetched already (its FETCH is
    on the wire), and the batches are stored in UID order, each whole."""
    account = imap_server.account
    monkeypatch.setenv(PASSWORD_ENV, account.password)
    append_messages(account, imap_folder, [message(n) for n in range(8)])
    spy = Without(account.port)
    box = mailbox_config(replace(account, port=spy.port), imap_folder)  # batches of three
    fetches_at_commit = []

    def committed(batch: list[int]) -> None:
        fetches_at_commit.append((len(batch), spy.said.count(b"BODY.PEEK[]")))

    stats = poll(box, engine, after_commit=committed)
    spy.close()
    assert fetches_at_commit == [(3, 2), (3, 3), (2, 3)]
    assert stats.stored == 8
    rows = stored(engine)  # by UID: stored, and made applications, in that order
    assert [row.id for row in rows] == sorted(row.id for row in rows)
    with open_session(engine) as session:
        made = session.exec(select(Application.raw_message_id).order_by(Application.id))
        assert list(made) == [row.id for row in rows]


def test_reprocessing_reads_ahead_and_commits_in_batches(
    imap_server, imap_folder, engine, monkeypatch
):
    monkeypatch.setenv(PASSWORD_ENV, imap_server.account.password)
    box = mailbox_config(imap_server.account, imap_folder)
    count = RERUN_BATCH + 7
    append_messages(imap_server.account, box.folder, [message(n) for n in range(count)])
    first = poll(box.model_copy(update={"batch_size": 100, "max_per_poll": count}), engine)
    assert first.stored == count
    before = {row.id: (row.status, row.kind) for row in stored(engine)}
    seen = []
    assert reprocess(engine, PROCESSOR, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(RERUN_BATCH, count), (count, count)]
    assert {row.id: (row.status, row.kind) for row in stored(engine)} == before


def test_the_parts_read_last_are_kept_by_their_bytes_and_not_past_a_purge():
    """A follow-up's history takes its earlier messages as read moments before: found by
    the hash of their bytes (a deleted row's id can come back for other mail), only the
    last `size`, and never once retention has deleted the bytes."""
    recent = Recent(size=2)
    first, second, third = (RawMessage(id=n, sha256=f"sha-{n}") for n in range(3))
    for row in (first, second, third):
        recent.add(row, f"part {row.id}")  # a Part, as far as the cache is concerned
    assert [recent.get(row) for row in (first, second, third)] == [None, "part 1", "part 2"]
    assert recent.get(RawMessage(id=2, sha256="sha-other")) is None  # same id, other mail
    third.purged_at = datetime(2026, 1, 1, tzinfo=UTC)
    assert recent.get(third) is None
