"""IDLE latency: from APPEND to the acknowledgement at the SMTP sink, with `intake run`.

Run with `make bench`. Real servers on loopback (pymap, aiosmtpd) and the daemon as a
subprocess with two IDLE mailboxes (poll_seconds and send_seconds an hour, so every
acknowledgement came by IDLE). Prints the median over ROUNDS of one application to one
mailbox, and of two at the same moment to both, and their ratio measured in this run:
the latency targets the daemon tests do not assert (they would race a loaded machine).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake.demo.servers import PymapServer, SmtpSink, append_messages
from tests.test_daemon import PASSWORD_ENV, Running, idle_mailboxes
from tests.test_replies_e2e import application

ROUNDS = 10
FOLDERS = {"careers": "careers-in", "interns": "interns-in"}


def acknowledged(imap, smtp: SmtpSink, mails: dict[str, bytes]) -> float:
    """Seconds from APPENDing `mails` (folder name -> message, at once) to all answered."""
    before = len(smtp.messages)
    threads = [
        threading.Thread(target=append_messages, args=(imap, FOLDERS[name], [raw]))
        for name, raw in mails.items()
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    if len(smtp.wait_for(before + len(mails), timeout=60)) < before + len(mails):
        raise SystemExit("an acknowledgement did not come within 60 s")
    return time.monotonic() - started


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="intake-bench-idle-"))
    with PymapServer() as server, SmtpSink() as smtp:
        imap = server.account
        config = idle_mailboxes(tmp, imap, smtp.port, FOLDERS)
        daemon = Running(config, {**os.environ, PASSWORD_ENV: imap.password})
        try:
            for name in FOLDERS:
                daemon.wait_for("idle_started", mailbox=name)
            one, two = [], []
            for n in range(ROUNDS):
                mail = application(f"One {n}", f"one{n}@example.org", n=2 * n)
                one.append(acknowledged(imap, smtp, {"careers": mail}))
                both = {
                    "careers": application(f"Ana {n}", f"ana{n}@example.org", n=2 * n + 1),
                    "interns": application(f"Ben {n}", f"ben{n}@example.org", n=2 * n + 1),
                }
                two.append(acknowledged(imap, smtp, both))
        finally:
            daemon.stop()
    single, double = statistics.median(one), statistics.median(two)
    print(f"IDLE, pymap on loopback, {ROUNDS} rounds (medians):")
    print(f"  one application, APPEND to acknowledgement:      {single:6.2f} s")
    print(f"  two mailboxes at once, APPEND to both answered:  {double:6.2f} s")
    print(f"  ratio two/one: {double / single:.2f}  (target: both within 2 s)")


if __name__ == "__main__":
    main()
