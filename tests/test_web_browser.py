"""The workspace in a real browser (Debian's chromium driven by Playwright, no browser
download), on mail polled from the real IMAP server, replies through the SMTP sink: sign
in, filter, keyboard navigation, open an application, read its resume, reject it with a
reply and see that reply arrive once; no applicant script runs; screenshots at 1280 and
390 pixels in test-artifacts/ (acceptance of issue 16)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from intake import config
from intake.cli import cli
from intake.daemon.pipeline import poll_all
from intake.decisions.rules import DEFAULT_DIR
from intake.demo.servers import append_messages
from intake.replies.messages import DEFAULT_TEMPLATES
from intake.storage import models
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from tests.test_digest import HOSTILE
from tests.web import PASSWORD, SECRET, SECRET_ENV, add_account, serving

SAMPLES = Path(__file__).parent.parent / "data" / "sample"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
IMAP_PASSWORD_ENV = "INTAKE_TEST_WEB_IMAP_PASSWORD"
# markup in the name, subject, letter, period and eligibility sentences, resume name and text
EVERY_FIELD = Path(__file__).parent / "fixtures" / "web" / "hostile-every-field.eml"


@pytest.fixture
def cfg(tmp_path, imap_server, imap_folder, smtp, monkeypatch) -> config.Config:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.setenv(IMAP_PASSWORD_ENV, imap_server.account.password)
    account = imap_server.account
    boxes = ""
    for box in ("careers", "interns"):
        folder = f"{imap_folder}-{box}"
        raws = [p.read_bytes() for p in sorted((SAMPLES / box).glob("*.eml"))]
        extra = [HOSTILE] if box == "careers" else [EVERY_FIELD.read_bytes()]
        append_messages(account, folder, raws + extra)
        boxes += (
            f'[mailboxes.{box}]\nhost = "{account.host}"\nport = {account.port}\ntls = "none"\n'
            f'username = "{account.username}"\npassword_env = "{IMAP_PASSWORD_ENV}"\n'
            f'folder = "{folder}"\naddress = "{box}@numenta.com"\n'
        )
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "intake.db"}"\n'
        f'[rules]\ndir = "{DEFAULT_DIR}"\n[replies]\ntemplates = "{DEFAULT_TEMPLATES}"\n{boxes}'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\ntls = "none"\n'
        f'from_address = "Numenta Careers <careers@numenta.com>"\n'
        f'[web]\nsecret_env = "{SECRET_ENV}"\n'
    )
    cfg = config.load(path)
    assert all(not row.error for row in poll_all(cfg))
    add_account(cfg, "rita")
    return cfg


@pytest.fixture
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        shot = ARTIFACTS / f"web-{name}-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"{name} scrolls sideways at {width} px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_sign_in_filter_read_a_resume_reject_with_a_reply(cfg, browser, smtp):
    before = len(smtp.messages)  # the acknowledgements the poll sent
    with serving(cfg) as base:
        page = browser.new_page()
        page.goto(f"{base}/applications")
        assert page.url.startswith(f"{base}/signin")
        page.fill("input[name=username]", "rita")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:text('Sign in')")
        page.wait_for_url(f"{base}/applications")
        assert page.evaluate("document.body.dataset.pwned") is None  # the hostile card
        shoot(page, "list")

        page.click("nav.filters a:text('Machine Learning Engineer / Scientist')")
        page.wait_for_url(re.compile(r".*posting=numenta-ml-engineer.*"))
        page.wait_for_load_state()
        names = page.locator(".row .name").all_inner_texts()
        assert "Priya Raman" in names and "Alex Morgan" not in names

        page.keyboard.press("j")  # keyboard navigation: the first row, then open it
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/applications/\d+$"))
        page.go_back()
        page.wait_for_url(re.compile(r".*posting=numenta-ml-engineer.*"))

        page.click(".row:has-text('Priya Raman')")
        page.wait_for_url(re.compile(r".*/applications/\d+$"))
        assert "Open the PDF" in page.content()
        resume = page.locator("article.doc:has-text('resume') pre.text").first.inner_text()
        assert "Priya" in resume
        pdf = page.request.get(base + page.get_attribute("a:text('Open the PDF')", "href"))
        assert pdf.headers["content-type"] == "application/pdf" and pdf.body()[:5] == b"%PDF-"
        assert pdf.headers["x-content-type-options"] == "nosniff"

        page.check("input[name=action][value=rejected]")
        page.fill("textarea[name=note]", "Another candidate fits the team's current work")
        page.check("input[name=reply]")
        page.click("button:text('Record the decision')")
        page.wait_for_load_state()
        assert page.locator(".reply-status:text('pending')").count() == 1
        shoot(page, "application")

        sent = CliRunner().invoke(
            cli, ["--config", str(cfg.base_dir / "config.toml"), "outbox", "send"]
        )
        assert sent.exit_code == 0, sent.output
        rejections = [m for m in smtp.wait_for(before + 1)[before:] if b"move forward" in m.data]
        assert len(rejections) == 1 and rejections[0].rcpt_tos == ["priya.raman@example.com"]
        with open_session(make_engine(cfg.database_url)) as session:
            row = session.exec(select(models.Outbox).where(models.Outbox.role == "rejection")).one()
        assert f"Message-ID: {row.message_id}".encode() in rejections[0].data
        page.reload()
        assert page.locator(".reply-status:text('sent')").count() >= 1

        for name in ("script", "Eve"):
            page.goto(f"{base}/applications")
            page.click(f".row:has-text('{name}')")
            page.wait_for_url(re.compile(r".*/applications/\d+$"))
            assert page.evaluate("document.body.dataset.pwned") is None
            assert "<script>document.body" in page.inner_text("main")  # shown as text
        shown = page.inner_text("main")
        for words in ("Eve <img src=x onerror=alert>", "<svg onload=alert(3)>",
                      "'data-pwned','resume'", "'data-pwned','eligibility'",
                      "resume<img src=x onerror=alert(4)>.txt"):  # fmt: skip
            assert words in shown, words
