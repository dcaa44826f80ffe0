"""The recruiters' digest and the export: triage order, escaping (checked in a real
browser), files, mail to the recruiters, the window between digests, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from intake import config
from intake.cli import cli
from intake.daemon.pipeline import Processor
from intake.decisions.rules import DEFAULT_DIR, load_all
from intake.extraction.documents import Ocr
from intake.replies.messages import DEFAULT_TEMPLATES
from intake.reports import digest, export
from intake.reports.digest import NEEDS_ROUTING
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import DigestRun
from tests.judging import stored

SAMPLES = Path(__file__).parent.parent / "data" / "sample"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
POSTINGS = load_all(DEFAULT_DIR)
HOSTILE = (
    b"From: =?utf-8?q?=3Cscript=3Ealert(1)=3C/script=3E?= <mallory@example.org>\n"
    b"To: careers@numenta.com\nSubject: Machine Learning Engineer <b>bold</b>\n"
    b"Date: Thu, 25 Jan 2018 09:00:00 +0000\nMessage-ID: <hostile-1@example.org>\n"
    b"Content-Type: text/plain; charset=utf-8\n\n"
    b"Dear Numenta, I apply for the Machine Learning Engineer position.\n"
    b"<script>document.body.setAttribute('data-pwned', 'script')</script>\n"
    b"<img src=x onerror=\"document.body.setAttribute('data-pwned', 'img')\">\n"
    b'=HYPERLINK("http://evil.example")\nMy code: https://github.com/mallory\n'
)


def load(engine, mailbox: str, raws: list[bytes]) -> None:
    processor = Processor(POSTINGS)
    with open_session(engine) as session:
        for uid, raw in enumerate(raws, start=1):
            stored(session, processor, mailbox, raw, uid)
        session.commit()


@pytest.fixture
def cfg(tmp_path, smtp) -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "intake.db"}"\n'
        f'[rules]\ndir = "{DEFAULT_DIR}"\n[replies]\ntemplates = "{DEFAULT_TEMPLATES}"\n'
        f'[digest]\nrecipients = ["recruiting@numenta.com", "lead@numenta.com"]\n'
        f'timezone = "America/Los_Angeles"\n'
        f'dir = "digests"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\ntls = "none"\n'
        f'from_address = "intake <intake@numenta.com>"\n'
    )
    cfg = config.load(path)
    engine = make_engine(cfg.database_url)
    load(
        engine,
        "careers",
        [p.read_bytes() for p in sorted((SAMPLES / "careers").glob("*"))] + [HOSTILE],
    )
    load(engine, "interns", [p.read_bytes() for p in sorted((SAMPLES / "interns").glob("*"))])
    return cfg


def collect(cfg, **kwargs) -> digest.Digest:
    since = datetime(2000, 1, 1, tzinfo=UTC)
    return digest.collect(
        cfg, make_engine(cfg.database_url), POSTINGS, datetime.now(UTC), since, **kwargs
    )


def test_digest_is_triaged_per_posting_with_counts(cfg):
    found = collect(cfg)
    assert found.counts == {"complete": 9, "incomplete": 3, "declined": 2, "review": 0}
    assert [s.title for s in found.sections] == [
        "Internship Program",
        "Machine Learning Engineer / Scientist",
        "Research Internship",
    ]
    ml = found.sections[1]
    assert [key for key, _, _ in ml.groups] == ["complete", "incomplete"]
    kenji = next(e for e in ml.groups[1][2] if e.row["sender"]["name"] == "Kenji Watanabe")
    assert kenji.missing == ["github"]
    text = digest.render(found, cfg.templates_dir, "txt")
    assert text.index("Complete and eligible") < text.index("Incomplete")
    assert "14 applications:" in text and "missing:     github" in text
    assert "\"I'm an international student currently enrolled" in text  # evidence sentence


def test_long_lists_show_their_first_cards_and_count_the_rest(cfg):
    full = collect(cfg)
    one = cfg.model_copy(update={"digest": cfg.digest.model_copy(update={"max_cards": 1})})
    capped = collect(one)
    assert capped.counts == full.counts and capped.total == full.total == 14
    hidden = 0
    for section, whole in zip(capped.sections, full.sections, strict=True):
        assert section.total == whole.total
        for (key, _, cards), (_, _, every) in zip(section.groups, whole.groups, strict=True):
            assert len(cards) == len(every) and list(cards) == list(every)[:1], key
            assert cards.more == len(every) - 1
            hidden += cards.more
    assert hidden == 7  # the samples' postings have groups of several applications
    text = digest.render(capped, cfg.templates_dir, "txt")
    assert text.count("\n* ") == sum(len(s.groups) for s in capped.sections) + min(
        len(full.others), 1
    )
    assert "... and 2 more (`intake export --posting numenta-ml-engineer` lists every" in text
    html = digest.render(capped, cfg.templates_dir, "html")
    assert html.count("&hellip; and ") == text.count("... and ")


def test_html_digest_escapes_applicant_text_in_a_real_browser(cfg, tmp_path, chromium):
    html = digest.render(collect(cfg), cfg.templates_dir, "html")
    assert "<script>" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert" in html  # the sender's name, encoded in the From header
    page = tmp_path / "digest.html"
    page.write_text(html, encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "digest-phone.png"
    shot.unlink(missing_ok=True)
    browser = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    subprocess.run(
        [*browser, "--window-size=414,2400", f"--screenshot={shot}", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = subprocess.run(
        [*browser, "--dump-dom", page.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert not re.search(r"<body[^>]*data-pwned", dom)  # neither the script nor onerror ran
    assert "&lt;script&gt;document.body.setAttribute" in dom  # shown as text
    assert "&lt;img src=x onerror=" in dom and "&lt;script&gt;alert" in dom


def test_run_writes_files_mails_recruiters_and_the_next_digest_starts_there(cfg, smtp):
    engine = make_engine(cfg.database_url)
    now = datetime.now(UTC)
    first = digest.run(cfg, engine, POSTINGS, now)
    assert first.error is None and first.applications == 14
    assert Path(first.path).read_text().startswith("<!DOCTYPE html>")
    assert Path(first.path).with_suffix(".txt").exists()
    [mail] = smtp.wait_for(1)
    assert sorted(mail.rcpt_tos) == ["lead@numenta.com", "recruiting@numenta.com"]
    msg = message_from_bytes(mail.data, policy=default)
    assert msg["Auto-Submitted"] == "auto-generated"
    assert {p.get_content_type() for p in msg.walk()} >= {"text/plain", "text/html"}
    second = digest.run(cfg, engine, POSTINGS, now + timedelta(hours=1))
    assert second.since == first.until.replace(tzinfo=None) or second.since == first.until
    assert second.applications == 0
    with open_session(engine) as session:
        assert len(session.exec(select(DigestRun)).all()) == 2


def test_a_digest_that_cannot_be_mailed_is_kept_and_covered_again(cfg, smtp):
    from intake.demo.servers import free_port

    down = cfg.model_copy(update={"smtp": cfg.smtp.model_copy(update={"port": free_port()})})
    engine = make_engine(cfg.database_url)
    now = datetime.now(UTC)
    failed = digest.run(down, engine, POSTINGS, now)
    assert failed.error and Path(failed.path).exists()
    assert digest.run(cfg, engine, POSTINGS, now + timedelta(hours=1)).applications == 14


def test_csv_export_has_one_row_per_application_and_inert_formulas(cfg):
    result = CliRunner().invoke(
        cli,
        ["--config", str(cfg.base_dir / "config.toml"), "export", "--format", "csv"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 14
    assert {r["application_id"] for r in rows} == {str(n) for n in range(1, 15)}
    marta = next(r for r in rows if r["name"] == "Marta Kowalska")
    assert (marta["status"], marta["resume_filename"], marta["follow_ups"]) == (
        "complete",
        "Marta_Kowalska_CV.pdf",
        "1",
    )
    hostile = next(r for r in rows if r["email"] == "mallory@example.org")
    assert "\n'=HYPERLINK" not in hostile["cover_letter"]  # only a cell's start matters
    assert hostile["subject"] == "Machine Learning Engineer <b>bold</b>"
    assert export._inert("=1+2") == "'=1+2" and export._inert("-") == "'-"


def test_rows_pause_the_cycle_collector_and_restore_it(cfg, monkeypatch):
    import gc

    seen = []
    monkeypatch.setattr(export, "_row", lambda *a: seen.append(gc.isenabled()) or {})
    with open_session(make_engine(cfg.database_url)) as session:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            try:
                assert len(export.application_rows(session)) == 14
                assert gc.isenabled() is enabled
            finally:
                gc.enable()
    assert seen == [False] * 28


def test_json_export_uses_the_parse_contract_names(cfg):
    result = CliRunner().invoke(
        cli,
        ["--config", str(cfg.base_dir / "config.toml"), "export", "--format", "json"],
        catch_exceptions=False,
    )
    rows = json.loads(result.output)
    parse = CliRunner().invoke(
        cli,
        [
            "parse",
            "--json",
            "--mailbox",
            "careers",
            str(SAMPLES / "careers" / "01-priya-raman.eml"),
        ],
    )
    contract = set(json.loads(parse.output))
    assert contract - {"in_reply_to", "references"} <= set(rows[0])
    assert rows[0]["sender"] == {"name": "Priya Raman", "email": "priya.raman@example.com"}


@pytest.mark.parametrize("fmt", ["text", "html", "csv", "json"])
def test_digest_command_prints_every_format(cfg, fmt):
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(cfg.base_dir / "config.toml"),
            "digest",
            "--since",
            "3650d",
            "--posting",
            "numenta-ml-engineer",
            "--format",
            fmt,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0
    assert "Kenji Watanabe" in result.output
    assert "Wei Zhang" not in result.output  # another posting


CLIENTS = Path(__file__).parent / "fixtures" / "clients"
KNOWN = {
    "gmail--fwd-employee-referral": "careers",
    "yahoo--app-scanned-resume": "careers",
    "proton--app-encrypted-resume": "careers",
    "yahoo--app-resume-pasted-body": "ml-jobs",
    "gmail--app-father-us-citizen": "interns",
    "gmail--app-senior-backend-to-interns": "interns",
    "spam--chinese-invoice-gb2312": "interns",
    "mailchimp--ml-newsletter": "careers",
    "gmail--q-internship-paid": "interns",
}


def test_the_digest_says_what_was_decided_without_contradictions(cfg):
    """Referrals with both names, eligibility only where the posting judges it, why a
    resume cannot be read, a pasted resume, the applications needing routing, and spam
    and bulk one line each."""
    engine = make_engine(cfg.database_url)
    for name, mailbox in KNOWN.items():
        load(engine, mailbox, [(CLIENTS / f"{name}.eml").read_bytes()])
    text = digest.render(collect(cfg), cfg.templates_dir, "txt")
    card = text.split("* Kenji Watanabe <kenji.watanabe.ml@gmail.com>")[1].split("\n* ")[0]
    assert "referred by: Marcus Feld <mfeld@numenta.com>" in card
    assert "eligibility:" not in card  # the ML engineer posting states no eligibility rule
    assert "Kwame_Mensah_CV.pdf: a scan without a text layer" in text
    assert ": cannot be read (cannot read PDF" in text
    assert "resume:      pasted in the message" in text
    rohan = text.split("* Rohan Mehta")[1].split("\n* ")[0]
    assert "eligibility: unknown" in rohan and "missing:     " in rohan
    assert NEEDS_ROUTING in text and "Daniel Okonkwo" in text.split(NEEDS_ROUTING)[1]
    unanswered = text.split("Not answered: spam and bulk mail: 2")[1]
    assert len([line for line in unanswered.splitlines() if line.strip()]) >= 2
    assert "  spam  " in unanswered and "  bulk  " in unanswered
    assert "question" in text.split("Other mail for a person")[1]


def test_a_scan_read_by_ocr_says_so(cfg, tesseract):
    engine = make_engine(cfg.database_url)
    raw = (CLIENTS / "yahoo--app-scanned-resume.eml").read_bytes()
    with open_session(engine) as session:
        stored(session, Processor(POSTINGS, ocr=Ocr()), "careers", raw, 99)
        session.commit()
    text = digest.render(collect(cfg), cfg.templates_dir, "txt")
    assert "Kwame_Mensah_CV.pdf (a scan, its text read by OCR)" in text


def test_ocr_asked_for_without_tesseract_is_refused_at_start(tmp_path, monkeypatch):
    from intake.daemon.pipeline import processor_for
    from intake.errors import ConfigError

    path = tmp_path / "config.toml"
    path.write_text(f'[rules]\ndir = "{DEFAULT_DIR}"\n[documents]\nocr = true\n')
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract on it
    with pytest.raises(ConfigError, match="tesseract program is not installed"):
        processor_for(config.load(path))
