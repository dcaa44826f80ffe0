"""Chaos campaign (`make chaos`): kill the daemon at random moments while mail arrives,
restart it, and check that nothing was lost, nothing counted twice, and no applicant got
two different replies.

Real servers on loopback (pymap, aiosmtpd); `intake run` as a subprocess killed with
SIGKILL (a crash) or SIGTERM (a stop) after a random delay. At the end one daemon runs
until everything is processed and sent, then the invariants are checked:

1. every message APPENDed is stored exactly once, and processed (or quarantined);
2. the checkpoint is on the last UID;
3. every reply is sent or suppressed, never pending or lost;
4. copies of a reply the SMTP sink got twice (a crash between sending and recording)
   are byte-identical: the same Message-ID, never a second, different reply.

Usage: python scripts/chaos.py [--rounds 25] [--messages 80] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from email import message_from_bytes
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import func, select

from intake.decisions.rules import DEFAULT_DIR
from intake.demo.servers import PymapServer, SmtpSink, append_messages
from intake.replies.messages import DEFAULT_TEMPLATES
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from intake.storage.models import Checkpoint, Outbox, RawMessage
from tests.test_replies_e2e import application

PASSWORD_ENV = "INTAKE_CHAOS_PASSWORD"


def config(tmp: Path, imap_port: int, username: str, smtp_port: int) -> Path:
    path = tmp / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp / "intake.db"}"\n[rules]\ndir = "{DEFAULT_DIR}"\n'
        f'[replies]\ntemplates = "{DEFAULT_TEMPLATES}"\nmax_per_sender = 100\n'
        f'[daemon]\nsend_seconds = 1\n[digest]\nschedule = ""\n'
        f'[mailboxes.careers]\nhost = "127.0.0.1"\nport = {imap_port}\ntls = "none"\n'
        f'username = "{username}"\npassword_env = "{PASSWORD_ENV}"\nbatch_size = 7\n'
        f'address = "careers@numenta.com"\npoll_seconds = 1\nidle = true\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\ntls = "none"\n'
        f'from_address = "Numenta Careers <careers@numenta.com>"\n'
    )
    return path


def start(path: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "intake", "--config", str(path), "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


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


def campaign(rounds: int, total: int, rng: random.Random) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="intake-chaos-"))
    mail = [
        application(f"Person {n}", f"p{n}@example.org", n=n, login=f"p{n}", resume=n % 3 != 0)
        for n in range(total)
    ]
    with PymapServer() as imap, SmtpSink() as smtp:
        env = {**os.environ, PASSWORD_ENV: imap.account.password}
        path = config(tmp, imap.account.port, imap.account.username, smtp.port)
        engine = make_engine(f"sqlite:///{tmp / 'intake.db'}")
        sent = 0
        kills = {"SIGKILL": 0, "SIGTERM": 0}
        for round_ in range(rounds):
            batch = mail[sent : sent + rng.randint(0, max(1, total // rounds * 2))]
            append_messages(imap.account, "INBOX", batch)
            sent += len(batch)
            proc = start(path, env)
            time.sleep(rng.uniform(0.3, 2.5))
            how = rng.choice([signal.SIGKILL, signal.SIGKILL, signal.SIGTERM])
            proc.send_signal(how)
            proc.wait(timeout=60)
            kills[how.name] += 1
            stored, _, pending = counts(engine)
            print(
                f"round {round_ + 1:>2}: appended {sent:>3}, stored {stored:>3}, "
                f"replies pending {pending:>3}, then {how.name}",
                flush=True,
            )
        append_messages(imap.account, "INBOX", mail[sent:])
        proc = start(path, env)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            stored, unprocessed, pending = counts(engine)
            if stored == total and not unprocessed and not pending:
                break
            time.sleep(0.5)
        time.sleep(2)  # let the sink finish
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        return verify(engine, smtp.messages, total, kills)


def verify(engine, received, total: int, kills: dict) -> int:
    problems = []
    with open_session(engine) as session:
        raws = session.exec(select(RawMessage)).all()
        rows = session.exec(select(Outbox)).all()
        checkpoint = session.get(Checkpoint, "careers")
    if len(raws) != total or len({r.message_id for r in raws}) != total:
        problems.append(f"{len(raws)} messages stored for {total} appended")
    if any(r.status not in ("processed", "failed") for r in raws):
        problems.append("a stored message was never processed")
    if checkpoint is None or checkpoint.last_uid != max(r.uid for r in raws):
        problems.append("the checkpoint is not on the last UID")
    if any(r.status not in ("sent", "suppressed") for r in rows):
        problems.append(f"replies not sent: {[r.status for r in rows if r.status != 'sent']}")
    copies: dict[str, set[bytes]] = defaultdict(set)
    for mail in received:
        copies[message_from_bytes(mail.data)["Message-ID"]].add(mail.data)
    if any(len(variants) > 1 for variants in copies.values()):
        problems.append("two different messages went out under one Message-ID")
    if set(copies) != {r.message_id for r in rows if r.status == "sent"}:
        problems.append("the replies received differ from the replies recorded as sent")
    repeats = len(received) - len(copies)
    print(
        f"\n{kills['SIGKILL']} crashes, {kills['SIGTERM']} stops; {len(raws)} messages "
        f"stored once each; {len(copies)} replies, {repeats} delivered twice with the same "
        f"bytes (a crash between SMTP and commit)"
    )
    for problem in problems:
        print(f"FAIL: {problem}")
    print("OK: nothing lost, nothing counted twice" if not problems else "")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--messages", type=int, default=80)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    print(f"seed {args.seed}")
    return campaign(args.rounds, args.messages, random.Random(args.seed))


if __name__ == "__main__":
    sys.exit(main())
