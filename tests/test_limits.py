"""Limits that hold for the whole message (issue 13): a message costs at most its work
budget whatever it holds, text is capped before any matching (and the cut flagged),
inline images do not use up the document cap, follow-ups never read earlier attachments
again, and the worker that reads mail holds no secrets."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import select

from intake.daemon.processing import Processor
from intake.decisions.rules import DEFAULT_DIR, load_all
from intake.demo.servers import append_messages
from intake.errors import ExtractionError
from intake.extraction.documents import read_document
from intake.extraction.extract import assemble, read_isolated
from intake.extraction.worker import TimeLimit, run_isolated, time_limit
from intake.limits import Limits
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import Application, Document, RawMessage
from tests.builders import (
    make_flate_bomb_pdf,
    make_mail,
    make_pdf,
    make_slow_pdf,
    make_wordy_docx,
)
from tests.judging import stored as processed
from tests.test_postgres import PASSWORD_ENV, configured

POSTINGS = load_all(DEFAULT_DIR)
LETTER = (
    "Dear Numenta,\n\nI am applying for the Machine Learning Engineer position. "
    "My code: https://github.com/ada-l\n\nBest regards,\nAda Lovelace\n"
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)
RESUME = make_pdf(["Ada Lovelace", "Education", "BSc Mathematics", "Experience", "Analyst"])


def timed(func, *args, **kwargs):
    started = time.monotonic()
    result = func(*args, **kwargs)
    return result, time.monotonic() - started


# The alarm may land in a gc callback (hypothesis, loaded in this process, installs one),
# where Python prints and ignores it; time_limit then raises at the next alarm.
IGNORED_ALARM = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@IGNORED_ALARM
def test_a_slow_pdf_stops_at_its_own_time_limit():
    doc, spent = timed(read_document, make_slow_pdf(), "cv.pdf", "application/pdf", seconds=1)
    assert doc.error == "cannot read PDF: gave up after 1s"
    assert spent < 3


class SlowToCollect:
    def __del__(self) -> None:
        time.sleep(0.3)  # the alarm lands here, where Python prints and ignores exceptions


@IGNORED_ALARM
def test_a_time_limit_holds_when_its_alarm_lands_where_python_ignores_it():
    """As in a gc callback (hypothesis installs one) or any `__del__` during parsing."""
    started = time.monotonic()
    with pytest.raises(TimeLimit), time_limit(0.1):
        SlowToCollect()
        while time.monotonic() < started + 3:
            pass
    assert time.monotonic() - started < 1


def test_a_pdf_that_unpacks_to_a_gibibyte_runs_out_of_the_worker_s_memory_not_ours():
    """1 MB of Flate that unpacks to 1 GiB: the worker's address-space limit stops it (the
    daemon, with no such limit, would take the gibibyte and then spend its time budget in
    the content stream). PDFium aborts its process when memory runs out, which is why it
    runs in a process of its own: the message is read, the resume reported unreadable."""
    raw = make_mail(attachments=[("resume.pdf", "application/pdf", make_flate_bomb_pdf())])
    part = read_isolated(raw, Limits(memory_mb=512))
    assert [d.content.error for d in part.documents] == [
        "cannot read PDF: PDFium crashed (out of memory or a damaged file): extractor process died"
    ]


def test_ten_slow_pdfs_cost_the_message_budget_not_ten_document_limits():
    slow = [(f"part{n}.pdf", "application/pdf", make_slow_pdf(seed=n)) for n in range(10)]
    raw = make_mail(LETTER, attachments=slow)
    limits = Limits(message_seconds=4, document_seconds=2)
    part, spent = timed(read_isolated, raw, limits)
    assert spent < 4 + 3  # not 10 x 2 s
    errors = [d.content.error for d in part.documents]
    assert errors[0] == "cannot read PDF: gave up after 2s"
    assert set(errors[1:]) == {"cannot read PDF: the message's work budget (4s) ran out"}
    assert "Machine Learning Engineer" in part.body  # the rest of the message is read


def test_inline_images_do_not_use_up_the_document_cap():
    msg = EmailMessage()
    msg["From"], msg["To"] = "Ada Lovelace <ada@example.org>", "careers@numenta.com"
    msg["Subject"] = "Application: Machine Learning Engineer"
    msg.set_content(LETTER)
    msg.add_alternative(f"<p>{LETTER}</p>" + "".join(f'<img src="cid:logo{n}">' for n in range(12)))
    html = msg.get_payload()[1]
    for n in range(12):  # a signature's logos and social icons, as Outlook sends them
        html.add_related(PNG, "image", "png", cid=f"<logo{n}>", filename=f"image{n:03}.png")
    msg.add_attachment(RESUME, maintype="application", subtype="pdf", filename="Ada_CV.pdf")
    part = read_isolated(msg.as_bytes(), Limits(documents=3))
    [resume] = [d for d in part.documents if d.filename == "Ada_CV.pdf"]
    assert (resume.role, resume.content.state) == ("resume", "text")
    assert "BSc Mathematics" in resume.content.text


def test_text_is_capped_per_document_and_per_message_and_the_cut_is_flagged():
    long_resume = ("Education\nBSc Mathematics\n" + "Experience: analyst. " * 20_000).encode()
    raw = make_mail(
        LETTER + "P.S. " + "I like graphs. " * 200,
        attachments=[
            ("resume.txt", "text/plain", long_resume),
            ("notes.txt", "text/plain", b"Notes. " * 3_000),
        ],
    )
    limits = Limits(document_chars=50_000, message_chars=60_000)
    part = read_isolated(raw, limits)
    resume, notes = (d.content.text for d in part.documents)
    assert len(resume) == 50_000
    assert len(part.body) + len(resume) + len(notes) == 60_000
    assert len(part.message.text) <= 60_000 and len(part.message.html) <= 60_000
    [flag] = [f for f in assemble([part]).flags if f.code == "text_truncated"]
    assert f"resume.txt: text cut at 50,000 of {len(long_resume):,} characters" in flag.message
    assert "notes.txt: text cut at" in flag.message


def test_a_docx_of_short_paragraphs_costs_at_most_the_budget(tmp_path):
    """245 KB of DOCX holding 40 MiB of two-letter paragraphs: once 105 s (and 190 MiB:
    470 s), almost all of it matching eligibility and periods in the main process."""
    wordy = make_wordy_docx(40)
    assert len(wordy) < 400_000
    raw = make_mail(LETTER, attachments=[("resume.docx", "application/octet-stream", wordy)])
    limits = Limits(message_seconds=8, document_seconds=6)
    proc = Processor(POSTINGS, limits=limits)
    engine = make_engine(f"sqlite:///{tmp_path / 'i.db'}")
    with open_session(engine) as session:
        row, spent = timed(processed, session, proc, "careers", raw, 1)
        session.commit()
        assert spent < 8 + 4
        assert row.status == "processed"
        doc = session.exec(select(Document)).one()
        assert doc.error == "cannot read DOCX: gave up after 6s" or len(doc.text) <= 100_000


def test_follow_ups_read_only_their_own_attachments(tmp_path):
    """Four follow-ups with one slow PDF each once took 21/40/61/81 s: every follow-up read
    every earlier attachment again. Stored text is merged instead."""
    proc = Processor(POSTINGS, limits=Limits(document_seconds=1.5))
    engine = make_engine(f"sqlite:///{tmp_path / 'i.db'}")
    first = make_mail(
        LETTER,
        sender="Ada Lovelace <ada@example.org>",
        subject="Application: Machine Learning Engineer",
        message_id="<ada-0@example.org>",
        attachments=[("resume.pdf", "application/pdf", make_slow_pdf(seed=0))],
    )
    follow_ups = [
        make_mail(
            f"Here is another copy of my resume ({n}).\n\nAda",
            subject="Re: Application: Machine Learning Engineer",
            message_id=f"<ada-{n}@example.org>",
            headers={"In-Reply-To": "<ada-0@example.org>"},
            attachments=[(f"resume-{n}.pdf", "application/pdf", make_slow_pdf(seed=n))],
        )
        for n in range(1, 5)
    ]
    times = []
    with open_session(engine) as session:
        for uid, raw in enumerate([first, *follow_ups], 1):
            times.append(timed(processed, session, proc, "careers", raw, uid)[1])
            session.commit()
        rows = session.exec(select(RawMessage).order_by(RawMessage.id)).all()
        [app] = session.exec(select(Application)).all()
    assert [r.application_id for r in rows] == [None] + [app.id] * 4
    assert max(times) < 1.5 + 2.5, times  # each reads one PDF; once the 4th read five


def test_the_worker_holds_no_secrets_and_has_cpu_and_memory_limits(monkeypatch):
    monkeypatch.setenv("INTAKE_SMTP_PASSWORD", "hunter2")
    memory_mb = 777  # a worker of its own, started after the secret was set
    pid = run_isolated(os.getpid, timeout=10, memory_mb=memory_mb)
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    assert b"hunter2" not in environ and b"INTAKE_SMTP_PASSWORD" not in environ
    home = os.readlink(f"/proc/{pid}/cwd")
    assert Path(home).name.startswith("intake-worker-") and home != os.getcwd()
    soft_cpu, _ = run_isolated(resource.getrlimit, resource.RLIMIT_CPU, timeout=10, memory_mb=777)
    assert soft_cpu != resource.RLIM_INFINITY and soft_cpu < 60
    space, _ = run_isolated(resource.getrlimit, resource.RLIMIT_AS, timeout=10, memory_mb=777)
    assert space == memory_mb * 2**20


def test_a_worker_that_times_out_is_killed_with_what_it_started(tmp_path):
    pid_file = tmp_path / "child.pid"
    script = f"echo $$ > {pid_file}; exec sleep 60"
    with pytest.raises(ExtractionError, match="gave up after 1s"):
        run_isolated(subprocess.run, ["sh", "-c", script], timeout=1, memory_mb=778)
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists()


def test_a_worker_that_dies_in_a_call_is_an_error_and_the_next_call_gets_a_new_one():
    """A parser that kills its process (a crash in C code, an abort) costs its document,
    with a reason a recruiter can read, not the daemon or the next document."""
    memory_mb = 781
    with pytest.raises(ExtractionError, match=r"^extractor process died$"):
        run_isolated(os._exit, 3, timeout=10, memory_mb=memory_mb)
    assert run_isolated(sum, [1, 2], timeout=10, memory_mb=memory_mb) == 3


def test_a_worker_that_ran_out_of_memory_is_not_used_again_one_that_raised_is():
    """After a MemoryError the worker's heap may be left in any state: it is killed and
    the next call gets a fresh one; a parser's ordinary exception costs nothing."""
    memory_mb = 782
    first = run_isolated(os.getpid, timeout=10, memory_mb=memory_mb)
    with pytest.raises(ExtractionError, match="invalid literal"):
        run_isolated(int, "x", timeout=10, memory_mb=memory_mb)
    assert run_isolated(os.getpid, timeout=10, memory_mb=memory_mb) == first
    with pytest.raises(ExtractionError, match="ran out of memory"):
        run_isolated(bytearray, 2**30, timeout=10, memory_mb=memory_mb)
    assert run_isolated(os.getpid, timeout=10, memory_mb=memory_mb) != first


def test_an_idle_worker_that_died_is_replaced_not_used():
    """A worker that died while it waited (OOM killer, an operator's kill) is noticed
    when it is taken, cleared away, and a fresh one does the work."""
    memory_mb = 779  # a pool of its own
    first = run_isolated(os.getpid, timeout=10, memory_mb=memory_mb)
    os.kill(first, signal.SIGKILL)
    status = Path(f"/proc/{first}/status")
    deadline = time.monotonic() + 5
    while "zombie" not in status.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)  # dead, not yet reaped: only taking it will notice
    second = run_isolated(os.getpid, timeout=10, memory_mb=memory_mb)
    assert second != first
    assert run_isolated(os.getpid, timeout=10, memory_mb=memory_mb) == second  # kept idle


# Runs `intake` and writes its peak RSS (VmHWM: this process only, not its parent's at
# fork as wait4's ru_maxrss would count) to the file named first.
PEAK_RSS = """
import atexit, re, runpy, sys
from pathlib import Path
out = sys.argv.pop(1)
def peak():
    found = re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text())
    Path(out).write_text(found.group(1))
atexit.register(peak)
runpy.run_module("intake", run_name="__main__")
"""


@pytest.mark.parametrize("imap_server", ["pymap"], indirect=True)
def test_a_100_mb_message_costs_the_main_process_no_more_than_a_small_one(
    tmp_path, imap_server, imap_folder, smtp
):
    """Peak RSS of `intake poll --once` (the main process; documents are read in its
    worker) with a 100 MB message waiting: it is never downloaded (limits.message_mb)."""
    huge = make_mail(LETTER).replace(b"Best regards", b"x" * (100 * 2**20) + b"\nBest regards")
    append_messages(imap_server.account, imap_folder, [make_mail(LETTER), huge])
    del huge
    url = f"sqlite:///{tmp_path / 'i.db'}"
    cfg = configured(tmp_path, "big", url, imap_server, {"careers": imap_folder}, smtp)
    env = {**os.environ, PASSWORD_ENV: imap_server.account.password}
    peak = tmp_path / "peak"
    command = [
        sys.executable,
        "-c",
        PEAK_RSS,
        str(peak),
        "--config",
        str(cfg.base_dir / "big.toml"),
    ]
    subprocess.run([*command, "poll", "--once"], env=env, check=True, capture_output=True)
    peak_mb = int(peak.read_text()) / 1024
    assert peak_mb < 150, f"peak RSS {peak_mb:.0f} MB"
    with open_session(make_engine(url, create=False)) as session:
        rows = session.exec(select(RawMessage).order_by(RawMessage.uid)).all()
    assert [r.status for r in rows] == ["processed", "failed"]
    assert rows[1].error.startswith("not downloaded: 100.0 MiB is more than limits.message_mb")
