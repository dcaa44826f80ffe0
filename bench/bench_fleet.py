"""Scale-out of the workers on PostgreSQL: the same mail read by 1, 2 and 3 worker
processes (`intake run` with [workers] engine = "procrastinate"), in one run.

Generated applications (generate.py) in four mailboxes of a real Dovecot, a throwaway
PostgreSQL per round (tests/postgres.py), replies sent to an aiosmtpd sink. Each round
starts N workers, waits until every message is processed and every reply sent, stops
them with SIGTERM and reports wall time from the first worker's start, messages per
second, and the CPU of all the workers and their children (wait4). On this 2-core
machine the third worker can only share the two cores: the figure that matters is how
the rate grows from one worker to two. BENCH_FLEET_MESSAGES (default 600) changes the size.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import func, select

from bench.generate import applications
from intake.decisions.rules import DEFAULT_DIR
from intake.demo.servers import SmtpSink, append_messages
from intake.replies.messages import DEFAULT_TEMPLATES
from intake.storage import models
from intake.storage.db import make_engine
from intake.storage.db import session as open_session
from tests.postgres import PostgresServer
from tests.servers import DovecotServer

MESSAGES = int(os.environ.get("BENCH_FLEET_MESSAGES", 600))
BOXES = 4
INTAKE = str(Path(sys.executable).with_name("intake"))
PASSWORD_ENV = "INTAKE_BENCH_PASSWORD"


def config(tmp: Path, name: str, url: str, account, smtp_port: int) -> Path:
    boxes = "".join(
        f'[mailboxes.box{n}]\nhost = "{account.host}"\nport = {account.port}\ntls = "none"\n'
        f'username = "{account.username}"\npassword_env = "{PASSWORD_ENV}"\n'
        f'folder = "fleet{n}"\naddress = "careers@numenta.com"\npoll_seconds = 1\n'
        f"batch_size = 25\n"
        for n in range(BOXES)
    )
    path = tmp / f"{name}.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n[rules]\ndir = "{DEFAULT_DIR}"\n{boxes}'
        f'[replies]\ntemplates = "{DEFAULT_TEMPLATES}"\nmax_per_sender = 100000\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\ntls = "none"\n'
        f'from_address = "Numenta Careers <careers@numenta.com>"\n'
        f'[workers]\nengine = "procrastinate"\nconcurrency = 2\nlease_seconds = 10\n'
    )
    return path


def finished(url: str) -> bool:
    with open_session(make_engine(url)) as session:
        stored = session.exec(select(func.count()).select_from(models.RawMessage)).one()
        left = session.exec(
            select(func.count())
            .select_from(models.RawMessage)
            .where(models.RawMessage.status == "stored")
        ).one()
        pending = session.exec(
            select(func.count()).select_from(models.Outbox).where(models.Outbox.status == "pending")
        ).one()
    return stored == MESSAGES and left == 0 and pending == 0


def round_of(workers: int, cfg: Path, url: str, log: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the workers and their children)."""
    make_engine(url)  # the schema, before the clock starts
    started = time.perf_counter()
    with log.open("ab") as out:
        procs = [
            subprocess.Popen([INTAKE, "--config", str(cfg), "run"], stdout=out, stderr=out)
            for _ in range(workers)
        ]
    try:
        while not finished(url):
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a worker ended early; see {log}")
            time.sleep(0.2)
        seconds = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
    cpu = 0.0
    for proc in procs:
        _, _, usage = os.wait4(proc.pid, 0)
        cpu += usage.ru_utime + usage.ru_stime
    return seconds, cpu


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="intake-bench-fleet-"))
    raws = list(applications(MESSAGES, seed=5))
    per = MESSAGES // BOXES
    print(f"{MESSAGES} generated applications in {BOXES} mailboxes, {os.cpu_count()} cores:")
    print(f"  {'workers':>7} {'msg/s':>7} {'wall s':>7} {'CPU s':>7} {'speed-up':>9}")
    with DovecotServer() as dovecot, PostgresServer() as postgres, SmtpSink() as smtp:
        account = dovecot.account("careers")
        os.environ[PASSWORD_ENV] = account.password
        for n in range(BOXES):
            append_messages(account, f"fleet{n}", raws[n * per : (n + 1) * per])
        first = None
        for workers in (1, 2, 3):
            url = postgres.new_database()
            cfg = config(tmp, f"w{workers}", url, account, smtp.port)
            seconds, cpu = round_of(workers, cfg, url, tmp / "fleet.log")
            first = first or seconds
            print(
                f"  {workers:>7} {MESSAGES / seconds:7.0f} {seconds:7.2f} {cpu:7.2f} "
                f"{first / seconds:8.2f}x"
            )
    print(f"\n(logs in {tmp})")


if __name__ == "__main__":
    main()
