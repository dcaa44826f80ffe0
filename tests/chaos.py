"""Chaos campaign: kill the daemon at random moments while mail arrives, restart it, and
check that nothing was lost, nothing counted twice, and no applicant got two different
replies. `tests/test_chaos.py` runs a short one in `make test`; `make chaos` (through
scripts/chaos.py) a longer one.

Real servers on loopback (pymap, aiosmtpd); `intake run` as a subprocess. Each round
starts the daemon, APPENDs part of the mail while it runs, and at a random moment (mostly
0.2-1.5 s after it read its first message, sometimes while it is still starting) kills it
with SIGKILL (a crash) or stops it with SIGTERM. At the end one daemon runs while the rest
of the mail arrives, until everything is processed and sent; then the invariants are checked:

1. every message APPENDed is stored exactly once, and processed;
2. the checkpoint is on the last UID of the folder;
3. every acknowledgement due is sent: one outbox row per message, `sent`, and the SMTP
   sink received it;
4. nobody got two replies with different Message-IDs; copies of one reply the sink got
   twice (a crash between sending and recording) are byte-identical;
5. every SIGTERM to a daemon that had started ended it with exit status 0, and no daemon
   logged a traceback.

The seed fixes the sizes of the APPENDs, the delays and the signals (not the scheduler's
timing), and is printed so a failing campaign can be run again.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

from sqlmodel import func, select

from intake.decisions.rules import DEFAULT_DIR
from intake.demo.servers import (
    ImapAccount,
    PymapServer,
    ReceivedMail,
    SmtpSink,
    logged_in,
)
from intake.replies.messages import DEFAULT_TEMPLATES
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import Checkpoint, Outbox, RawMessage
from tests.test_replies_e2e import application

PASSWORD_ENV = "INTAKE_CHAOS_PASSWORD"
STARTED = " INFO started "  # the daemon's log line once it polls and sends
WORKING = " INFO message "  # and once it has read a message


@dataclass(frozen=True)
class Plan:
    rounds: int = 25
    messages: int = 300
    seed: int = 0
    pause: tuple[float, float] = (0.2, 1.5)  # seconds of work, then the signal
    while_starting: float = 0.15  # the share of rounds signalled while the daemon starts
    batch_size: int = 5
    drain_seconds: float = 120.0  # for the last daemon to store and send everything
    stuck_seconds: float = 15.0  # ... unless nothing changed for this long: something is lost


@dataclass
class Outcome:
    seed: int
    signals: Counter[str] = field(default_factory=Counter)
    messages: int = 0  # APPENDed
    stored: int = 0
    replies: int = 0  # distinct replies the sink received
    repeats: int = 0  # copies received again with the same bytes
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def kills(self) -> int:
        return sum(self.signals.values())

    def report(self) -> str:
        lines = [
            f"chaos seed {self.seed}: {self.kills} kills ({self.signals['SIGKILL']} SIGKILL, "
            f"{self.signals['SIGTERM']} SIGTERM) in {self.seconds:.0f} s; "
            f"{self.messages} messages APPENDed, {self.stored} stored; "
            f"{self.replies} replies sent, {self.repeats} delivered again with the same bytes "
            "(a crash between SMTP and the commit)",
            *(f"FAIL: {problem}" for problem in self.problems),
        ]
        if not self.problems:
            lines.append("OK: nothing lost, nothing counted twice, no second reply")
        return "\n".join(lines) + "\n"


def config(tmp: Path, imap: ImapAccount, smtp_port: int, batch_size: int) -> Path:
    path = tmp / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp / "intake.db"}"\n[rules]\ndir = "{DEFAULT_DIR}"\n'
        f'[replies]\ntemplates = "{DEFAULT_TEMPLATES}"\nmax_per_sender = 100\n'
        f'[daemon]\nsend_seconds = 1\n[digest]\nschedule = ""\n'
        f'[mailboxes.careers]\nhost = "{imap.host}"\nport = {imap.port}\ntls = "none"\n'
        f'username = "{imap.username}"\npassword_env = "{PASSWORD_ENV}"\n'
        f'batch_size = {batch_size}\naddress = "careers@numenta.com"\npoll_seconds = 1\n'
        f"idle = true\n"
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\ntls = "none"\n'
        f'from_address = "Numenta Careers <careers@numenta.com>"\n'
    )
    return path


def mail(total: int) -> list[bytes]:
    return [
        application(f"Person {n}", f"p{n}@example.org", n=n, login=f"p{n}", resume=n % 4 == 0)
        for n in range(total)
    ]


class Daemon:
    """One `intake run`, its log in a file of its own."""

    def __init__(self, path: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "intake", "--config", str(path), "run"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=out,
            )

    def logged(self, line: str, timeout: float) -> bool:
        """Whether the daemon logged `line` within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while line not in self.log.read_text(errors="replace"):
            if time.monotonic() >= deadline or self.proc.poll() is not None:
                return False
            time.sleep(0.02)
        return True

    def signal(self, how: signal.Signals) -> int | None:
        """Send `how` and wait; the exit status, or None when it had to be killed."""
        self.proc.send_signal(how)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def feed(account: ImapAccount, raws: list[bytes], rng: random.Random, spread: float):
    """APPEND `raws` one by one over about `spread` seconds, in a thread (mail arriving
    while the daemon runs, and while it dies)."""

    def run() -> None:
        with logged_in(account) as client:
            for raw in raws:
                client.append("INBOX", raw)
                time.sleep(rng.uniform(0, 2 * spread / max(1, len(raws))))

    thread = threading.Thread(target=run, name="feed", daemon=True)
    thread.start()
    return thread


def counts(engine) -> tuple[int, int, int]:
    with open_session(engine) as session:
        stored = session.exec(select(func.count()).select_from(RawMessage)).one()
        unprocessed = session.exec(
            select(func.count()).select_from(RawMessage).where(RawMessage.status == "stored")
        ).one()
        pending = session.exec(
            select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
        ).one()
    return stored, unprocessed, pending


def campaign(plan: Plan, say=print) -> Outcome:
    """Run the campaign; `say` hears one line per round."""
    rng = random.Random(plan.seed)
    outcome = Outcome(plan.seed)
    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="intake-chaos-"))
    raws = mail(plan.messages)
    share = max(1, plan.messages // plan.rounds)
    with PymapServer() as imap, SmtpSink() as smtp:
        env = {**os.environ, PASSWORD_ENV: imap.account.password}
        path = config(tmp, imap.account, smtp.port, plan.batch_size)
        engine = make_engine(f"sqlite:///{tmp / 'intake.db'}")
        feeder: threading.Thread | None = None
        exits: list[int | None] = []
        for round_ in range(plan.rounds):
            daemon = Daemon(path, env, tmp / f"round-{round_ + 1:02}.log")
            if feeder:
                feeder.join()
            chunk = raws[outcome.messages : outcome.messages + rng.randint(0, 2 * share)]
            outcome.messages += len(chunk)
            feeder = feed(imap.account, chunk, random.Random(rng.random()), plan.pause[1])
            if rng.random() < plan.while_starting:
                time.sleep(rng.uniform(0.0, 1.5))
                moment = "while starting"
            else:
                if not daemon.logged(STARTED, 60):
                    outcome.problems.append(f"round {round_ + 1}: the daemon did not start")
                daemon.logged(WORKING, 5)  # the first message read: it is warm (or idle)
                time.sleep(rng.uniform(*plan.pause))
                moment = "working"
            how = rng.choice([signal.SIGKILL, signal.SIGKILL, signal.SIGKILL, signal.SIGTERM])
            started = daemon.logged(STARTED, 0)  # before that, SIGTERM ends Python as usual
            status = daemon.signal(how)
            if how == signal.SIGTERM and started:
                exits.append(status)
            outcome.signals[how.name] += 1
            stored, _, pending = counts(engine)
            say(
                f"round {round_ + 1:>2}: {outcome.messages:>3} APPENDed, {stored:>3} stored, "
                f"{pending:>3} replies pending; {how.name} {moment}"
            )
        if feeder:
            feeder.join()
        daemon = Daemon(path, env, tmp / "final.log")
        rest = raws[outcome.messages :]
        outcome.messages += len(rest)
        feed(imap.account, rest, random.Random(rng.random()), plan.pause[1]).join()
        deadline = time.monotonic() + plan.drain_seconds
        last, since = None, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < plan.stuck_seconds:
            now = counts(engine)
            stored, unprocessed, pending = now
            if stored == len(raws) and not unprocessed and not pending:
                break
            if now != last:
                last, since = now, time.monotonic()
            time.sleep(0.2)
        smtp.wait_for(len(raws), timeout=10)
        # the earlier daemons may have done everything: stop this one once it has started
        # (before that, SIGTERM ends Python as usual, which is not what is checked)
        if not daemon.logged(STARTED, timeout=30):
            outcome.problems.append("the last daemon did not start within 30 s")
        exits.append(daemon.signal(signal.SIGTERM))
        outcome.seconds = time.monotonic() - began
        verify(engine, imap.account, smtp.messages, raws, outcome)
        if any(status != 0 for status in exits):
            outcome.problems.append(f"a SIGTERM did not end a daemon with 0: {exits}")
        broken = [p.name for p in sorted(tmp.glob("*.log")) if "Traceback" in p.read_text()]
        if broken:
            outcome.problems.append(f"tracebacks logged: {', '.join(broken)}")
    if outcome.problems:
        outcome.problems.append(f"the database and the daemons' logs are kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return outcome


def verify(
    engine, account: ImapAccount, received: list[ReceivedMail], raws: list[bytes], out: Outcome
) -> None:
    problems = out.problems
    with open_session(engine) as session:
        stored = session.exec(select(RawMessage)).all()
        rows = session.exec(select(Outbox)).all()
        checkpoint = session.get(Checkpoint, "careers")
    with logged_in(account) as client:
        client.select_folder("INBOX", readonly=True)
        last_uid = max(client.search("ALL"), default=0)
    out.stored = len(stored)
    appended = Counter(message_from_bytes(raw)["Message-ID"] for raw in raws)
    kept = Counter(r.message_id for r in stored)
    if kept != appended:
        lost, twice = appended - kept, kept - appended
        problems.append(f"{len(stored)} stored for {len(raws)} APPENDed: lost {sorted(lost)}")
        if twice:
            problems.append(f"stored more than once: {sorted(twice)}")
    if any(r.status != "processed" for r in stored):
        problems.append(f"not processed: {[(r.uid, r.status, r.error) for r in stored]}")
    if checkpoint is None or checkpoint.last_uid != last_uid:
        problems.append(f"checkpoint {checkpoint and checkpoint.last_uid}, last UID {last_uid}")
    per_message = Counter(r.trigger_id for r in rows)
    if sorted(per_message) != sorted(r.id for r in stored) or max(per_message.values()) > 1:
        problems.append("not exactly one outbox row per message")
    if any(r.status != "sent" for r in rows):
        problems.append(f"replies not sent: {[(r.id, r.status, r.reason) for r in rows]}")
    copies: dict[str, set[bytes]] = defaultdict(set)
    ids_to: dict[str, set[str]] = defaultdict(set)
    for mail in received:
        message_id = message_from_bytes(mail.data)["Message-ID"]
        copies[message_id].add(mail.data)
        for rcpt in mail.rcpt_tos:
            ids_to[rcpt].add(message_id)
    if any(len(variants) > 1 for variants in copies.values()):
        problems.append("two different messages went out under one Message-ID")
    if twice := sorted(rcpt for rcpt, ids in ids_to.items() if len(ids) > 1):
        problems.append(f"two replies with different Message-IDs to {twice}")
    if set(copies) != {r.message_id for r in rows if r.status == "sent"}:
        problems.append("the replies received differ from the replies recorded as sent")
    out.replies = len(copies)
    out.repeats = len(received) - len(copies)
