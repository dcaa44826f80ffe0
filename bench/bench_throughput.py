"""Throughput, scale shape and latency of intake against this machine's floor, in one run.

Generated applications (bench/generate.py, fixed seed: 1-3 page PDF resumes with link
annotations, DOCX, HTML mail, a few hostile ones) are written into a real Dovecot's
maildirs. Every command runs as a child process measured with wait4 (wall time, CPU of
the whole process tree, peak RSS of its main process), and the figures that matter are
ratios between runs of this one session, so they hold on any machine:

1. the floor (`bench/floor.py`: raw imaplib FETCH, stdlib parse, PDFium/python-docx text,
   on every core) against `intake poll --once` end to end into SQLite, and the floor
   without the fetch against `intake reprocess` of the same messages; then, on 300 of
   them, what the product requires on top of the floor (`bench/required.py`);
2. an idle poll on 50 against 50,000 messages, and the peak RSS of a poll of 1,000
   against one of 10,000;
3. `intake digest` and `intake export` over 10,000 applications (CPU seconds, each also
   on an empty database: the start of Python and the imports);
4. IDLE latency, APPEND to the acknowledgement at the SMTP sink, under a steady load.

BENCH_MESSAGES (default 1000), BENCH_BIG (10000), BENCH_IDLE_BIG (50000), BENCH_RATE
(20 per second) and BENCH_LOAD_SECONDS (30) change the sizes; BENCH_ONLY="throughput
idle scale latency" (the default: all four) chooses the parts.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import applications
from bench.required import intake_reading_ms, orm, report, required, storage_ms
from intake.demo.servers import SmtpSink, logged_in
from tests.servers import PASSWORD, DovecotServer

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = int(os.environ.get("BENCH_MESSAGES", 1000))
BIG = int(os.environ.get("BENCH_BIG", 10_000))
IDLE_BIG = int(os.environ.get("BENCH_IDLE_BIG", 50_000))
RATE = float(os.environ.get("BENCH_RATE", 20))
LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", 30))
ONLY = os.environ.get("BENCH_ONLY", "throughput idle scale latency").split()
INTAKE = str(Path(sys.executable).with_name("intake"))
PASSWORD_ENV = "INTAKE_BENCH_PASSWORD"
ENV = {**os.environ, PASSWORD_ENV: PASSWORD}


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu: float  # user + system seconds of the process and every child it waited for
    rss_mb: float  # peak resident set of the main process (VmHWM)
    main_cpu: float  # of `cpu`, the main process's own (the rest: its document workers)

    def rate(self, count: int) -> float:
        return count / self.seconds


def measured(argv: list[str], log: Path) -> Run:
    """Run a command to its end; its stderr goes to `log`."""
    with log.open("ab") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=ENV, stdout=subprocess.DEVNULL, stderr=err)
        peak = _HighWater(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}); see {log}")
    peak.stop()
    return Run(seconds, usage.ru_utime + usage.ru_stime, peak.peak_kb / 1024, peak.cpu)


class _HighWater(threading.Thread):
    """Samples a process's VmHWM (its peak RSS so far) and its own CPU time (utime +
    stime in /proc/PID/stat, children not included) until it ends."""

    TICKS = os.sysconf("SC_CLK_TCK")

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = Path(f"/proc/{pid}")
        self.peak_kb, self.cpu, self.done = 0, 0.0, threading.Event()
        self.start()

    def run(self) -> None:
        while not self.done.wait(0.02):
            try:
                lines = (self.proc / "status").read_text().splitlines()
                fields = (self.proc / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                return
            self.cpu = (int(fields[11]) + int(fields[12])) / self.TICKS
            for line in lines:
                if line.startswith("VmHWM:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    def stop(self) -> None:
        self.done.set()
        self.join()


def fill(server: DovecotServer, folder: str, raws) -> int:
    """Write messages straight into a maildir folder of user `careers` (APPEND runs at
    ~180 messages/s; Dovecot gives them UIDs when the folder is next selected)."""
    base = server.dir / "mail" / "careers" / f".{folder}"
    for sub in ("cur", "new", "tmp"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    count = 0
    for count, raw in enumerate(raws, start=1):
        (base / "new" / f"{1_700_000_000 + count}.M{count}P1.bench").write_bytes(raw)
    if os.geteuid() == 0:
        shutil.chown(server.dir / "mail", "nobody", "nogroup")
        for path in (server.dir / "mail").rglob("*"):
            shutil.chown(path, "nobody", "nogroup")
    with logged_in(server.account("careers")) as client:  # index it now, not in the timings
        client.select_folder(folder, readonly=True)
    return count


def config(tmp: Path, name: str, server: DovecotServer, folder: str, smtp_port: int) -> Path:
    """A config polling `folder` as the careers mailbox, into its own SQLite database;
    replies are rendered and queued (dry run: nothing is sent)."""
    path = tmp / f"{name}.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp / name}.db"\n[rules]\ndir = "{ROOT / "rules"}"\n'
        f'[replies]\ntemplates = "{ROOT / "templates"}"\nmax_per_sender = 1000\n'
        f'[digest]\nschedule = ""\n'
        f'[mailboxes.careers]\nhost = "127.0.0.1"\nport = {server.port}\ntls = "none"\n'
        f'username = "careers"\npassword_env = "{PASSWORD_ENV}"\nfolder = "{folder}"\n'
        f'address = "careers@numenta.com"\nmax_per_poll = 1000000\nidle = true\n'
        f"poll_seconds = 3600\n[daemon]\nsend_seconds = 3600\n"
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\ntls = "none"\n'
        f'from_address = "Numenta Careers <careers@numenta.com>"\ndry_run = true\n'
    )
    return path


def intake(cfg: Path, *args: str) -> list[str]:
    return [INTAKE, "--config", str(cfg), *args]


def throughput(server: DovecotServer, tmp: Path, smtp_port: int) -> None:
    raws = list(applications(MESSAGES, seed=1))
    n = fill(server, "throughput", raws)
    files = tmp / "eml"
    files.mkdir()
    for number, raw in enumerate(raws):
        (files / f"{number:06}.eml").write_bytes(raw)
    cfg = config(tmp, "throughput", server, "throughput", smtp_port)
    floor_args = [sys.executable, str(ROOT / "bench" / "floor.py"), "--procs", str(os.cpu_count())]
    log = tmp / "throughput.log"
    floor = measured([*floor_args, "--port", str(server.port), "--folder", "throughput"], log)
    floor_local = measured([*floor_args, "--dir", str(files)], log)
    poll = measured(intake(cfg, "poll", "--once"), log)
    again = measured(intake(cfg, "reprocess"), log)
    print(f"\n{n} generated applications, Dovecot on loopback, {os.cpu_count()} cores:")
    print(f"  {'':38} {'msg/s':>6} {'wall s':>7} {'CPU s':>7} {'main':>6} {'peak RSS':>9}")
    for label, run in (
        ("(a) floor: imaplib + parse + PDFium", floor),
        ("(b) intake poll --once (SQLite)", poll),
        ("    floor without the fetch", floor_local),
        ("(c) intake reprocess", again),
    ):
        print(
            f"  {label:38} {run.rate(n):6.0f} {run.seconds:7.2f} {run.cpu:7.2f} "
            f"{run.main_cpu:6.2f} {run.rss_mb:6.0f} MB"
        )
    print(
        f"  CPU per message: floor {1000 * floor.cpu / n:.1f} ms; intake {1000 * poll.cpu / n:.1f}"
        f" ms, of which its main process {1000 * poll.main_cpu / n:.1f} ms"
    )
    print(f"  ratio b/a: {floor.seconds / poll.seconds:.2f}  (target >= 0.8)")
    print(
        f"  ratio c/(a without fetch): {floor_local.seconds / again.seconds:.2f}  (target >= 0.8)"
    )
    sample = raws[:300]
    print()
    print("\n".join(report(required(sample), storage_ms(sample, orm), intake_reading_ms(sample))))


def tiny(count: int) -> list[bytes]:
    return [
        b"From: Sender %d <s%d@example.org>\r\nTo: careers@numenta.com\r\n"
        b"Subject: note %d\r\nMessage-ID: <idle-%d@example.org>\r\n\r\nHello.\r\n" % ((n,) * 4)
        for n in range(count)
    ]


def idle_polls(server: DovecotServer, tmp: Path, smtp_port: int) -> None:
    """A poll that finds nothing new, on 50 and on 50,000 messages already processed. The
    checkpoint is set on the last UID (processing 50,000 first would take minutes and
    change nothing: an idle poll reads the checkpoint, asks UID SEARCH n:*, stores none)."""
    medians = {}
    for count in (50, IDLE_BIG):
        folder = f"idle{count}"
        fill(server, folder, tiny(count))
        cfg = config(tmp, folder, server, folder, smtp_port)
        measured(intake(cfg, "db", "upgrade"), tmp / "idle.log")
        _checkpoint_at_last_uid(cfg, server, folder)
        runs = [measured(intake(cfg, "poll", "--once"), tmp / "idle.log") for _ in range(5)]
        medians[count] = statistics.median(run.seconds for run in runs)
    print("\nidle poll (intake poll --once, nothing new), median of 5:")
    for count, seconds in medians.items():
        print(f"  {count:>6} messages: {seconds:6.3f} s")
    print(f"  ratio {IDLE_BIG}/50: {medians[IDLE_BIG] / medians[50]:.2f}  (target <= 2)")


def _checkpoint_at_last_uid(cfg: Path, server: DovecotServer, folder: str) -> None:
    from intake.config import load
    from intake.storage import store
    from intake.storage.db import make_engine
    from intake.storage.db import session as open_session

    with logged_in(server.account("careers")) as client:
        info = client.select_folder(folder, readonly=True)
        last = max(client.search("ALL"))
    with open_session(make_engine(load(cfg).database_url)) as session:
        store.save_checkpoint(session, "careers", int(info[b"UIDVALIDITY"]), last)
        session.commit()


def scale(server: DovecotServer, tmp: Path, smtp_port: int) -> None:
    """Peak RSS of one poll of 1,000 and of 10,000 messages; digest and export of those."""
    raws = list(applications(BIG, seed=2))
    fill(server, "small", raws[:1000])
    fill(server, "big", raws)
    log = tmp / "scale.log"
    small = measured(
        intake(config(tmp, "small", server, "small", smtp_port), "poll", "--once"), log
    )
    big_cfg = config(tmp, "big", server, "big", smtp_port)
    big = measured(intake(big_cfg, "poll", "--once"), log)
    print("\none poll, peak RSS of the intake process (its workers have their own limit):")
    print(f"  {1000:>6} messages: {small.rss_mb:6.0f} MB  ({small.rate(1000):.0f} msg/s)")
    print(f"  {BIG:>6} messages: {big.rss_mb:6.0f} MB  ({big.rate(BIG):.0f} msg/s)")
    print(f"  ratio: {big.rss_mb / small.rss_mb:.2f}  (target <= 1.2)")
    empty_cfg = config(tmp, "empty", server, "small", smtp_port)
    measured(intake(empty_cfg, "db", "upgrade"), log)
    print(f"\nreports over {BIG} messages, CPU seconds, least of 3 runs: the command; the same")
    print("command on an empty database (starting Python, importing); the difference:")
    out = str(tmp / "out")
    for label, args in REPORTS.items():
        args = (*args, "-o", out) if args[0] == "export" else args
        full, empty = (
            min(measured(intake(cfg, *args), log).cpu for _ in range(3))
            for cfg in (big_cfg, empty_cfg)
        )
        gap = full - empty
        print(f"  {label:14} {full:5.2f} s   empty {empty:4.2f} s   the applications {gap:4.2f} s")
    run = measured([INTAKE, "--help"], log)
    print(f"  intake --help  {run.seconds:5.2f} s wall  {run.cpu:4.2f} s CPU")


REPORTS = {
    "digest (text)": ("digest", "--since", "3650d"),
    "digest (html)": ("digest", "--since", "3650d", "--format", "html"),
    "export (csv)": ("export",),
    "export (json)": ("export", "--format", "json"),
}


def idle_latency(server: DovecotServer, tmp: Path) -> None:
    """`intake run` with an IDLE mailbox while applications arrive at RATE per second:
    from each APPEND to its acknowledgement at the sink."""
    with SmtpSink() as smtp:
        cfg = config(tmp, "latency", server, "latency", smtp.port)
        cfg.write_text(cfg.read_text().replace("dry_run = true", "dry_run = false"))
        fill(server, "latency", [])
        raws = list(applications(int(RATE * LOAD_SECONDS), seed=3, hostile_every=10**9))
        with (tmp / "latency.log").open("ab") as err:
            daemon = subprocess.Popen(intake(cfg, "run"), env=ENV, stderr=err)
            try:
                latencies = _load(server, smtp, raws)
            finally:
                daemon.terminate()
                daemon.wait(timeout=120)
    answered = sorted(latencies.values())
    print(f"\nIDLE, {len(raws)} applications at {RATE:g}/s to `intake run` (Dovecot, loopback):")
    if not answered:
        print("  no acknowledgement arrived")
        return
    p95 = answered[int(0.95 * (len(answered) - 1))]
    print(
        f"  acknowledged {len(answered)}; APPEND to acknowledgement: median "
        f"{statistics.median(answered):.2f} s, p95 {p95:.2f} s, max {answered[-1]:.2f} s "
        "(target < 2 s)"
    )


def _load(server: DovecotServer, smtp: SmtpSink, raws: list[bytes]) -> dict[str, float]:
    """APPEND at RATE, note when each acknowledgement (In-Reply-To) arrives."""
    time.sleep(3)  # the daemon starts and enters IDLE
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    seen = 0

    def collect() -> None:
        nonlocal seen
        mails = smtp.messages
        for mail in mails[seen:]:
            replying_to = message_from_bytes(mail.data).get("In-Reply-To", "").strip()
            if replying_to in sent and replying_to not in answered:
                answered[replying_to] = time.monotonic() - sent[replying_to]
        seen = len(mails)

    with logged_in(server.account("careers")) as client:
        started = time.monotonic()
        for number, raw in enumerate(raws):
            while time.monotonic() < started + number / RATE:
                collect()
                time.sleep(0.005)
            message_id = message_from_bytes(raw).get("Message-ID", "").strip()
            sent[message_id] = time.monotonic()
            client.append("latency", raw)
    deadline = time.monotonic() + 60
    while len(answered) < len(sent) and time.monotonic() < deadline:
        collect()
        time.sleep(0.01)
    return answered


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    python = platform.python_version()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {python}")
    with DovecotServer() as server, SmtpSink() as smtp:
        if "throughput" in ONLY:
            throughput(server, tmp, smtp.port)
        if "idle" in ONLY:
            idle_polls(server, tmp, smtp.port)
        if "scale" in ONLY:
            scale(server, tmp, smtp.port)
        if "latency" in ONLY:
            idle_latency(server, tmp)
    print(f"\n(logs in {tmp})")


if __name__ == "__main__":
    main()
