"""The recruiters' workspace over HTTP (uvicorn on loopback): every page needs a session,
every form its CSRF token, sign-in failures lock an account, applicant text is shown as
text, files go out with safe headers, search finds resumes' words and forgets a forgotten
person, accounts see their postings only, and a rejection's reply is queued once and sent
once (acceptance of issue 16; the browser walk-through is in test_web_browser.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from intake import config
from intake.cli import cli
from intake.daemon.pipeline import Processor
from intake.decisions.rules import DEFAULT_DIR, load_all
from intake.replies.messages import DEFAULT_TEMPLATES
from intake.storage import models, search
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.privacy import forget
from tests.judging import stored
from tests.test_digest import HOSTILE
from tests.web import PASSWORD, SECRET, SECRET_ENV, Clock, add_account, csrf_of, serving, signed_in

SAMPLES = Path(__file__).parent.parent / "data" / "sample"


@pytest.fixture
def cfg(tmp_path, smtp, monkeypatch) -> config.Config:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "intake.db"}"\n'
        f'[rules]\ndir = "{DEFAULT_DIR}"\n[replies]\ntemplates = "{DEFAULT_TEMPLATES}"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\ntls = "none"\n'
        f'from_address = "Numenta Careers <careers@numenta.com>"\n'
        f'[web]\nsecret_env = "{SECRET_ENV}"\nmax_failed_signins = 3\nlockout_minutes = 10\n'
    )
    cfg = config.load(path)
    processor = Processor(load_all(DEFAULT_DIR))
    with open_session(make_engine(cfg.database_url)) as session:
        raws = [p.read_bytes() for p in sorted((SAMPLES / "careers").glob("*.eml"))]
        for uid, raw in enumerate([*raws, HOSTILE], start=1):
            stored(session, processor, "careers", raw, uid)
        for uid, raw in enumerate(sorted((SAMPLES / "interns").glob("*.eml")), start=100):
            stored(session, processor, "interns", raw.read_bytes(), uid)
        session.commit()
    add_account(cfg, "rita")
    return cfg


def application_of(cfg, email: str) -> models.Application:
    with open_session(make_engine(cfg.database_url)) as session:
        person = session.exec(select(models.Applicant).where(models.Applicant.email == email))
        found = person.one()
        return session.exec(
            select(models.Application).where(models.Application.applicant_id == found.id)
        ).first()


def test_every_page_needs_a_session(cfg):
    app = application_of(cfg, "priya.raman@example.com")
    with serving(cfg) as base:
        import httpx

        anonymous = httpx.Client(base_url=base, follow_redirects=False)
        for path in (
            "/",
            "/applications",
            f"/applications/{app.id}",
            "/applications/1/documents/1",
        ):
            answer = anonymous.get(path)
            assert answer.status_code == 303, path
            if path != "/":
                assert answer.headers["location"].startswith("/signin?next=")
        assert anonymous.get("/signin").status_code == 200


def test_forms_without_their_csrf_token_are_refused(cfg):
    app = application_of(cfg, "priya.raman@example.com")
    with serving(cfg) as base:
        client = signed_in(base, "rita")
        page = client.get(f"/applications/{app.id}")
        token = csrf_of(page.text)
        for data in ({"action": "shortlisted"}, {"action": "shortlisted", "csrf": "forged"}):
            assert client.post(f"/applications/{app.id}/decision", data=data).status_code == 403
        for path in ("/signout", "/search"):
            assert client.post(path, data={"q": "x"}).status_code == 403
        done = client.post(
            f"/applications/{app.id}/decision", data={"action": "shortlisted", "csrf": token}
        )
        assert done.status_code == 303
    with open_session(make_engine(cfg.database_url)) as session:
        reviews = session.exec(select(models.Review)).all()
        assert [(r.action, r.recruiter) for r in reviews] == [("shortlisted", "rita")]


def test_failed_sign_ins_lock_the_account_for_a_while(cfg):
    clock = Clock()
    with serving(cfg, clock) as base:
        import httpx

        client = httpx.Client(base_url=base, follow_redirects=False)

        def attempt(password: str) -> int:
            token = csrf_of(client.get("/signin").text)
            form = {"csrf": token, "username": "rita", "password": password}
            return client.post("/signin", data=form).status_code

        assert [attempt("wrong password") for _ in range(3)] == [401, 401, 401]
        assert attempt(PASSWORD) == 401  # locked: the right password is refused too
        clock.now += timedelta(minutes=11)
        assert attempt(PASSWORD) == 303
        assert client.get("/applications").status_code == 200


def test_applicant_text_is_shown_as_text(cfg):
    hostile = application_of(cfg, "mallory@example.org")
    with serving(cfg) as base:
        client = signed_in(base, "rita")
        for path in ("/applications", f"/applications/{hostile.id}"):
            html = client.get(path).text
            assert "<script>" not in html and "<img src=x" not in html and "<b>bold" not in html
            assert "&lt;script&gt;alert&lt;/script&gt;" in html  # the sender's name
        html = client.get(f"/applications/{hostile.id}").text
        assert "&lt;script&gt;document.body.setAttribute" in html  # the cover letter
        assert "Machine Learning Engineer &lt;b&gt;bold&lt;/b&gt;" in html  # the subject


def test_pages_and_files_go_out_with_strict_headers(cfg):
    app = application_of(cfg, "priya.raman@example.com")
    with open_session(make_engine(cfg.database_url)) as session:
        resume = session.exec(
            select(models.Document).where(
                models.Document.application_id == app.id, models.Document.role == "resume"
            )
        ).one()
    with serving(cfg) as base:
        client = signed_in(base, "rita")
        page = client.get(f"/applications/{app.id}")
        pdf = client.get(f"/applications/{app.id}/documents/{resume.id}")
        for answer in (page, pdf):
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert "default-src 'none'" in answer.headers["content-security-policy"]
            assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")
        assert pdf.headers["content-disposition"].startswith(
            f'inline; filename="{resume.filename}"'
        )
        assert f"/documents/{resume.id}" in page.text and "Open the PDF" in page.text
        raw = client.get(f"/applications/{app.id}/messages/{app.raw_message_id}")
        assert raw.headers["content-disposition"].startswith("attachment;")
        assert b"Priya" in raw.content
        other = application_of(cfg, "mallory@example.org")  # a document of another application
        assert client.get(f"/applications/{other.id}/documents/{resume.id}").status_code == 404


def test_search_finds_words_of_resumes_and_forgets_a_forgotten_person(cfg):
    with serving(cfg) as base:
        client = signed_in(base, "rita")

        def found(query: str) -> str:
            token = csrf_of(client.get("/applications").text)
            client.post("/search", data={"csrf": token, "q": query})
            return client.get("/applications").text

        page = found("priya")
        assert "Priya Raman" in page and "Daniel Okafor" not in page
        assert "priya" not in client.cookies.get("intake_session", "")  # signed, and no URL
        words = _resume_words(cfg, "priya.raman@example.com")
        assert "Priya Raman" in found(words)
        assert "No application matches" in found("zzqqxx")
        with open_session(make_engine(cfg.database_url)) as session:
            forget(session, "priya.raman@example.com", Clock()(), apply=True)
            session.commit()
        assert "Priya Raman" not in found("priya")
    with open_session(make_engine(cfg.database_url)) as session:
        left = session.connection().exec_driver_sql(
            f"SELECT count(*) FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH 'priya'"
        )
        assert left.scalar() == 0  # gone from the index itself, not only from the results


def _resume_words(cfg, email: str) -> str:
    """Two words only the person's resume has (not their letter or name)."""
    app = application_of(cfg, email)
    with open_session(make_engine(cfg.database_url)) as session:
        resume = session.exec(
            select(models.Document).where(
                models.Document.application_id == app.id, models.Document.role == "resume"
            )
        ).one()
    words = [w for w in resume.text.split() if w.isalpha() and len(w) > 6]
    letter = (app.cover_letter or "").lower()
    return " ".join([w for w in words if w.lower() not in letter][:2])


def test_an_account_sees_only_its_postings(cfg):
    add_account(cfg, "ivan", ["numenta-research-internship"])
    intern = application_of(cfg, "amorgan@example.edu")
    engineer = application_of(cfg, "priya.raman@example.com")
    with serving(cfg) as base:
        client = signed_in(base, "ivan")
        page = client.get("/applications").text
        assert "Priya Raman" not in page
        assert client.get(f"/applications/{engineer.id}").status_code == 404
        assert client.get(f"/applications/{intern.id}").status_code == 200


def test_a_rejection_reply_is_queued_once_and_sent_once(cfg, smtp):
    app = application_of(cfg, "priya.raman@example.com")
    with serving(cfg) as base:
        client = signed_in(base, "rita")
        for _ in range(2):  # a second rejection records the decision, queues nothing
            token = csrf_of(client.get(f"/applications/{app.id}").text)
            form = {"csrf": token, "action": "rejected", "note": "Not now", "reply": "yes"}
            assert client.post(f"/applications/{app.id}/decision", data=form).status_code == 303
        page = client.get(f"/applications/{app.id}").text
        assert "pending" in page and "Not now" in page
        before = len(smtp.messages)
        path = str(cfg.base_dir / "config.toml")
        for _ in range(2):
            result = CliRunner().invoke(cli, ["--config", path, "outbox", "send"])
            assert result.exit_code == 0, result.output
        sent = [m for m in smtp.wait_for(before + 1)[before:] if b"move forward" in m.data]
        assert len(sent) == 1 and sent[0].rcpt_tos == ["priya.raman@example.com"]
        assert b"In-Reply-To: " in sent[0].data
        assert "sent" in client.get(f"/applications/{app.id}").text
    with open_session(make_engine(cfg.database_url)) as session:
        rows = session.exec(select(models.Outbox).where(models.Outbox.role == "rejection")).all()
        assert len(rows) == 1 and rows[0].status == "sent"
        assert [r.action for r in session.exec(select(models.Review))] == ["rejected"] * 2


def test_a_new_password_signs_other_sessions_out(cfg):
    with serving(cfg) as base:
        client = signed_in(base, "rita")
        assert client.get("/applications").status_code == 200
        with open_session(make_engine(cfg.database_url)) as session:
            from intake.web import accounts

            accounts.set_password(session, "rita", "another long password")
            session.commit()
        assert client.get("/applications").status_code == 303


def test_decisions_appear_in_the_export_and_the_digest_with_links(cfg):
    from datetime import UTC, datetime

    from intake.reports import digest, export
    from intake.web import reviews

    app = application_of(cfg, "priya.raman@example.com")
    engine = make_engine(cfg.database_url)
    with open_session(engine) as session:
        reviews.decide(session, app, "shortlisted", "Strong C++", "rita", Clock()())
        session.commit()
        rows = {r["application_id"]: r for r in export.application_rows(session)}
        csv_text = export.to_csv(list(rows.values()))
    assert rows[app.id]["decision"]["action"] == "shortlisted"
    assert rows[app.id]["decision"]["by"] == "rita"
    assert [r["decision"] for i, r in rows.items() if i != app.id] == [None] * (len(rows) - 1)
    assert csv_text.splitlines()[0].endswith(",decision,decided_by")
    assert f"{app.id}," in csv_text and ",shortlisted,rita" in csv_text
    web = cfg.web.model_copy(update={"base_url": "https://intake.example.com/"})
    linked = cfg.model_copy(update={"web": web})
    since = datetime(2000, 1, 1, tzinfo=UTC)
    found = digest.collect(linked, engine, load_all(DEFAULT_DIR), datetime.now(UTC), since)
    text = digest.render(found, cfg.templates_dir, "txt")
    html = digest.render(found, cfg.templates_dir, "html")
    assert "decision:    shortlisted by rita: Strong C++" in text
    assert f"open:        https://intake.example.com/applications/{app.id}" in text
    assert f'href="https://intake.example.com/applications/{app.id}"' in html
    plain = digest.render(
        digest.collect(cfg, engine, load_all(DEFAULT_DIR), datetime.now(UTC), since),
        cfg.templates_dir,
        "txt",
    )
    assert "open:" not in plain  # no [web] base_url: no links


def test_demo_web_serves_the_demo_data_until_ctrl_c(tmp_path):
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    from intake.demo.servers import free_port

    port = free_port()
    intake = Path(sys.executable).with_name("intake")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [str(intake), "demo", "--web", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        seen = ""
        deadline = time.monotonic() + 120
        while "Ctrl-C" not in seen:
            assert time.monotonic() < deadline and proc.poll() is None, seen
            seen += proc.stdout.readline()
        line = re.search(r"workspace: (\S+)/\s+sign in as (\S+) with password (\S+)", seen)
        assert line and line.group(1) == f"http://127.0.0.1:{port}", seen
        deadline = time.monotonic() + 30
        while True:  # uvicorn binds just after the line is printed
            try:
                client = signed_in(line.group(1), line.group(2), line.group(3))
                break
            except Exception:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert "Priya Raman" in client.get("/applications").text
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.wait()


def test_users_commands_and_clear_errors(cfg, monkeypatch):
    path = str(cfg.base_dir / "config.toml")
    monkeypatch.setenv("NEW_PASSWORD", "a long enough password")

    def intake(*args: str):
        return CliRunner().invoke(cli, ["--config", path, *args])

    env = ("--password-env", "NEW_PASSWORD")
    added = intake("users", "add", "olga", "--posting", "numenta-ml-engineer", *env)
    assert added.exit_code == 0, added.output
    listed = intake("users", "list").output
    assert "olga\tnumenta-ml-engineer" in listed and "rita\tevery posting" in listed
    for args, problem in (
        (("users", "add", "olga", *env), "already an account"),
        (("users", "add", "Bad Name", *env), "a username is"),
        (("users", "add", "x", "--posting", "nope", *env), "no posting"),
        (("users", "remove", "nobody"), "no account 'nobody'"),
    ):
        result = intake(*args)
        assert result.exit_code == 2 and problem in result.output, (args, result.output)
    monkeypatch.setenv("SHORT", "short")
    short = intake("users", "passwd", "olga", "--password-env", "SHORT")
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    assert intake("users", "passwd", "olga", "--password-env", "NEW_PASSWORD").exit_code == 0
    assert intake("users", "remove", "olga").exit_code == 0
    assert "olga" not in intake("users", "list").output
    monkeypatch.delenv(SECRET_ENV)
    refused = intake("web")
    assert refused.exit_code == 2 and f"environment variable {SECRET_ENV}" in refused.output


def test_search_and_decisions_on_postgresql(postgres_server, tmp_path):
    from intake.web import accounts, reviews, views

    url = postgres_server.new_database()
    processor = Processor(load_all(DEFAULT_DIR))
    engine = make_engine(url)
    with open_session(engine) as session:
        for uid, path in enumerate(sorted((SAMPLES / "careers").glob("*.eml")), start=1):
            stored(session, processor, "careers", path.read_bytes(), uid)
        session.commit()
        accounts.add(session, "rita", PASSWORD, None)
        session.commit()
        rita = accounts.find(session, "rita")
        assert search.refresh(session, Clock()()) == 4  # Marta's follow-up joined hers
        session.commit()
        assert search.refresh(session, Clock()()) == 0  # nothing changed since
        found = views.triage(session, rita, {}, "priya rama")
        assert [r["name"] for r in found.rows] == ["Priya Raman"]
        app = session.get(models.Application, found.rows[0]["id"])
        reviews.decide(session, app, "on_hold", "", "rita", Clock()())
        session.commit()
        held = views.triage(session, rita, {"decision": "on_hold"})
        assert [r["name"] for r in held.rows] == ["Priya Raman"]
        assert search.refresh(session, Clock()()) == 1  # the decision touched it
        forget(session, "priya.raman@example.com", Clock()(), apply=True)
        session.commit()
        assert views.triage(session, rita, {}, "priya").rows == []
        assert session.exec(select(models.Review)).all() == []  # gone with the application


def test_the_list_filters_and_sorts_on_each_column(cfg):
    from intake.web import accounts, views

    with open_session(make_engine(cfg.database_url)) as session:
        rita = accounts.find(session, "rita")
        every = views.triage(session, rita, {})
        assert every.total == len(every.rows) == 14
        assert set(every.choices) == set(views.FILTERS)
        for name in ("posting", "status", "eligibility", "area", "period_start", "flag"):
            for value in every.choices[name]:
                found = views.triage(session, rita, {name: value}).rows
                assert found, (name, value)
                if name == "flag":
                    assert all(value in row["flags"] for row in found)
                elif name == "period_start":
                    apps = [session.get(models.Application, row["id"]) for row in found]
                    assert {a.period_start for a in apps} == {value}
                else:
                    assert {row[name] for row in found} == {value}, (name, value)
        incomplete = views.triage(session, rita, {"status": "incomplete", "flag": "missing_github"})
        assert [r["name"] for r in incomplete.rows] == ["Kenji Watanabe"]
        by_name = [
            r["name"] for r in views.triage(session, rita, {}, sort="name", descending=False).rows
        ]
        assert by_name == sorted(by_name, key=lambda n: (n is not None, n))
        newest = [r["received_at"] for r in every.rows]
        assert newest == sorted(newest, reverse=True)


def test_purged_text_leaves_the_search_index(cfg):
    from intake.storage.privacy import Retention, purge
    from intake.web import accounts, views

    later = Clock()() + timedelta(days=400)
    with open_session(make_engine(cfg.database_url)) as session:
        rita = accounts.find(session, "rita")
        search.refresh(session, Clock()())
        ineligible = views.triage(session, rita, {"status": "ineligible"}).rows
        assert [r["name"] for r in ineligible] == ["Rahul Verma"]
        words = _resume_words(cfg, "rahul.verma@example.in")
        assert [r["name"] for r in views.triage(session, rita, {}, words).rows] == ["Rahul Verma"]
        counts = purge(session, Retention(documents_days=30), later, apply=True)
        session.commit()
        assert counts["documents"] >= 1
        search.refresh(session, later)
        session.commit()
        assert views.triage(session, rita, {}, words).rows == []  # only what is left is indexed
        assert [r["name"] for r in views.triage(session, rita, {}, "rahul").rows] == ["Rahul Verma"]


def test_the_workspace_logs_no_personal_data(cfg, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    app = application_of(cfg, "priya.raman@example.com")
    with serving(cfg) as base:
        client = signed_in(base, "rita")
        token = csrf_of(client.get("/applications").text)
        client.post("/search", data={"csrf": token, "q": "priya"})
        assert "Priya Raman" in client.get("/applications").text
        form = {"csrf": token, "action": "rejected", "note": "Priya: not now", "reply": "yes"}
        assert client.post(f"/applications/{app.id}/decision", data=form).status_code == 303
        client.get(f"/applications/{app.id}")
    logged = caplog.text.lower()
    assert "priya" not in logged and "raman" not in logged and "example.com" not in logged


def test_templates_without_a_rejected_reply_suppress_it_with_the_reason(cfg, tmp_path):
    import shutil

    from intake.replies.outbox import ReplySettings
    from intake.web import reviews

    older = tmp_path / "older-templates"  # copied by `intake init` before the workspace
    shutil.copytree(DEFAULT_TEMPLATES, older)
    (older / "default" / "rejected.txt.j2").unlink()
    replies = cfg.replies.model_copy(update={"templates": older})
    settings = ReplySettings.from_config(cfg.model_copy(update={"replies": replies}))
    app = application_of(cfg, "priya.raman@example.com")
    with open_session(make_engine(cfg.database_url)) as session:
        review = reviews.decide(session, app, "rejected", "", "rita", Clock()(), (settings, None))
        row = session.get(models.Outbox, review.outbox_id)
        assert row.status == "suppressed" and "no template rejected.txt.j2" in row.reason
        assert row.raw == b""
