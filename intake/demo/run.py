"""The embedded default: real IMAP and SMTP servers on loopback, the sample mail, the pipeline.

`intake demo` starts pymap (a pure-Python IMAP server) and an aiosmtpd sink on free
loopback ports, APPENDs `data/sample/<folder>/*.eml` into `careers` and `interns`,
writes a throwaway config, polls twice (the second poll must store nothing), prints
what was stored, then the acknowledgements the SMTP sink received, and ends by writing
the recruiters' digest to data/digests/ (./intake-demo/digests/ when installed).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from rich.console import Console

from intake import config, resources
from intake.daemon.pipeline import poll_all
from intake.decisions.rules import DEFAULT_DIR
from intake.errors import IntakeError
from intake.replies.messages import DEFAULT_TEMPLATES as TEMPLATES
from intake.storage import store
from intake.storage.db import make_engine
from intake.storage.db import session as open_session

SAMPLE_DIR = resources.samples()
# Kept after the demo, to open: data/digests in a checkout, else where the demo was started.
DIGESTS = (
    Path.cwd() / "intake-demo" if resources.installed() else resources.CHECKOUT / "data"
) / "digests"
FOLDERS = ("careers", "interns")
PASSWORD_ENV = "INTAKE_DEMO_PASSWORD"
WEB_SECRET_ENV = "INTAKE_DEMO_WEB_SECRET"
WEB_USER = "demo"


def demo_config(
    tmp: Path, imap_port: int, username: str, smtp_port: int, web_port: int | None = None
) -> str:
    """A complete config for the embedded servers, in the same format users write."""
    boxes = "\n".join(
        f'[mailboxes.{name}]\nhost = "127.0.0.1"\nport = {imap_port}\ntls = "none"\n'
        f'username = "{username}"\npassword_env = "{PASSWORD_ENV}"\nfolder = "{name}"\n'
        f'batch_size = 5\naddress = "{name}@numenta.com"\n'
        for name in FOLDERS
    )
    return (
        f'[database]\nurl = "sqlite:///{tmp / "intake.db"}"\n\n'
        f'[rules]\ndir = "{DEFAULT_DIR}"\n\n{boxes}\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\ntls = "none"\n'
        f'from_address = "Numenta Recruiting <careers@numenta.com>"\n\n'
        f'[replies]\ntemplates = "{TEMPLATES}"\nteam = "The Numenta recruiting team"\n\n'
        f'[digest]\nrecipients = ["recruiting@numenta.com"]\ndir = "{DIGESTS}"\n\n'
        f'[web]\nsecret_env = "{WEB_SECRET_ENV}"\n'
        + (f'port = {web_port}\nbase_url = "http://127.0.0.1:{web_port}"\n' if web_port else "")
    )


def run_demo(
    *, keep: bool = False, console: Console | None = None, web_port: int | None = None
) -> None:
    """The demo; with `web_port`, then the workspace on it until Ctrl-C."""
    from intake.demo.servers import PymapServer, SmtpSink, append_messages
    from intake.reports.status import print_stats

    console = console or Console()
    samples = {f: sorted((SAMPLE_DIR / f).glob("*.eml")) for f in FOLDERS}
    if not any(samples.values()):
        raise IntakeError(f"{SAMPLE_DIR}: no sample mail (the installation is incomplete)")
    tmp = Path(tempfile.mkdtemp(prefix="intake-demo-"))
    with PymapServer() as imap, SmtpSink() as smtp:
        account = imap.account
        console.print(
            f"IMAP server (pymap) on {account.host}:{account.port}, "
            f"SMTP sink on {smtp.host}:{smtp.port}"
        )
        for folder, paths in samples.items():
            append_messages(account, folder, [p.read_bytes() for p in paths])
            console.print(f"loaded {len(paths)} sample messages into {folder}")
        path = tmp / "config.toml"
        path.write_text(demo_config(tmp, account.port, account.username, smtp.port, web_port))
        os.environ[PASSWORD_ENV] = account.password
        cfg = config.load(path)
        print_stats(poll_all(cfg))
        console.print("Polling again: everything is already stored, so nothing is new.")
        print_stats(poll_all(cfg))
        print_applications(cfg, console)
        print_replies(smtp.messages, console)
        written = run_digest(cfg, datetime(2000, 1, 1, tzinfo=UTC))
        console.print(
            f"\n[bold]Digest of {written.applications} applications written to[/bold] "
            f"{written.path}\n(and {Path(written.path).with_suffix('.txt')}; "
            f"mailed to {', '.join(written.recipients)}, captured by the SMTP sink)",
            highlight=False,
            soft_wrap=True,
        )
        if web_port:
            serve_workspace(cfg, console)
        else:
            console.print(
                "\nTo open the recruiters' workspace on this data: [bold]intake demo --web[/bold] "
                "(in a checkout: .venv/bin/intake demo --web)",
                highlight=False,
            )
    if keep:
        console.print(f"database and config kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def serve_workspace(cfg: config.Config, console: Console) -> None:
    """`intake web` on the demo's data with a demo account, until Ctrl-C; replies the
    workspace queues (a rejection) go to the demo's SMTP sink every two seconds."""
    import secrets
    import threading

    from intake.replies.outbox import send_due
    from intake.web import accounts
    from intake.web.serve import serve

    os.environ[WEB_SECRET_ENV] = secrets.token_urlsafe(32)
    password = secrets.token_urlsafe(9)
    engine = make_engine(cfg.database_url)
    with open_session(engine) as session:
        accounts.add(session, WEB_USER, password, None)
        session.commit()
    stop = threading.Event()

    def send() -> None:
        while not stop.wait(2):
            send_due(engine, cfg.smtp, datetime.now(UTC))

    sender = threading.Thread(target=send, name="demo-outbox", daemon=True)
    sender.start()
    console.print(
        f"\n[bold]Recruiters' workspace:[/bold] {cfg.web.base_url}/  "
        f"sign in as [bold]{WEB_USER}[/bold] with password [bold]{password}[/bold]  "
        "(Ctrl-C stops it)",
        highlight=False,
        soft_wrap=True,
    )
    try:
        serve(cfg)
    finally:
        stop.set()
        sender.join(5)


def run_digest(cfg: config.Config, since: datetime):
    """The digest of everything the demo stored."""
    from intake.decisions.rules import load_all
    from intake.reports import digest

    engine = make_engine(cfg.database_url)
    return digest.run(cfg, engine, load_all(cfg.rules_dir), datetime.now(UTC), since)


def print_applications(cfg: config.Config, console: Console) -> None:
    """One short block per stored message: who, what kind, what was extracted."""
    with open_session(make_engine(cfg.database_url)) as session:
        rows = store.summary(session)
    console.print(f"\n[bold]{len(rows)} messages stored[/bold]")
    for row in rows:
        label = f"application #{row['application_id']}" if row["application_id"] else row["kind"]
        if row["folded_into"]:
            label += f" (added to application #{row['folded_into']})"
        console.print(
            f"\n[bold]{row['mailbox']}[/bold] uid {row['uid']}  {label or row['status']}  "
            f"{row['sender'] or '?'}",
            highlight=False,
        )
        console.print(f"  subject: {row['subject'] or '-'}", highlight=False)
        if row["application_id"]:
            console.print(
                f"  posting: {row['posting'] or '(ambiguous)'} -> {row['app_status']}",
                highlight=False,
            )
        for filename, role, chars, error in row["documents"]:
            console.print(
                f"  {role}: {filename} ({error or f'{chars} characters of text'})", highlight=False
            )
        if row["eligibility"]:
            details = [
                f"period {row['period'] or '-'}",
                f"area {row['area'] or '-'}",
                row["eligibility"],
            ]
            console.print(f"  {' · '.join(details)}", highlight=False)
        if row["github"]:
            console.print(f"  github: {' '.join(row['github'])}", highlight=False)
        if row["flags"]:
            console.print(f"  flags: {' '.join(row['flags'])}", highlight=False)
        if row["error"]:
            console.print(f"  quarantined: {row['error']}", highlight=False)


def print_replies(received: list, console: Console) -> None:
    """The acknowledgements as the applicants get them: headers that matter, then the text."""
    console.print(
        f"\n[bold]{len(received)} acknowledgements sent (captured by the SMTP sink)[/bold]"
    )
    for mail in received:
        msg = message_from_bytes(mail.data, policy=default)
        console.print(
            f"\n[bold]To: {msg['To']}[/bold]\n  Subject: {msg['Subject']}\n"
            f"  In-Reply-To: {msg['In-Reply-To']}  Auto-Submitted: {msg['Auto-Submitted']}",
            highlight=False,
            soft_wrap=True,
        )
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content() if body else ""
        console.print(
            "  | " + "\n  | ".join(text.strip().splitlines()), highlight=False, soft_wrap=True
        )
