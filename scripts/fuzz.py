"""Fuzz campaign (`make fuzz`): mangled real mail must never escape the quarantine.

Takes every sample, fixture and shared-corpus message, mangles it (truncation, flipped
bytes, duplicated or enormous headers, broken MIME boundaries, nesting, NULs, stray
encodings) and runs each through the whole per-message stage (parse, extract, rules,
follow-up folding, reply rendering) as the daemon would. Every message must end
`processed` or `failed` with a reason; anything escaping is a bug and is saved under
test-artifacts/fuzz/ to reproduce with `intake parse FILE`, and so is a message
quarantined by anything but ExtractionError/IntakeError (a bug of ours, not bad mail).

Usage: python scripts/fuzz.py [--seconds 300] [--seed N]
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake import logs
from intake.daemon.processing import Processor
from intake.decisions.rules import DEFAULT_DIR, load_all
from intake.limits import Limits
from intake.replies.messages import DEFAULT_TEMPLATES
from intake.replies.outbox import ReplySettings
from intake.storage import store
from intake.storage.db import make_engine
from intake.storage.db import session as open_session

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    ROOT / "data" / "sample",
    ROOT / "tests" / "fixtures",
    ROOT.parent / "shared" / "mail-corpus",
]
OUT = ROOT / "test-artifacts" / "fuzz"


def seeds() -> list[bytes]:
    found = []
    for folder in SOURCES:
        for path in sorted(folder.rglob("*")):
            if (
                path.is_file()
                and path.suffix in (".eml", ".msg", ".txt", "")
                and path.name not in ("README.md", "LICENSE")
            ):
                found.append(path.read_bytes())
    return [raw for raw in found if raw]


def truncate(raw: bytes, rng: random.Random) -> bytes:
    return raw[: rng.randint(0, len(raw))]


def flip(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 20)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def header_storm(raw: bytes, rng: random.Random) -> bytes:
    head, _, body = raw.partition(b"\n\n")
    lines = head.split(b"\n")
    extra = rng.choice(
        [
            lines[0] * 1,
            b"Subject: " + b"A" * 200_000,
            b"From: " + b"<a@b>," * 5000,
            b"Content-Type: multipart/mixed",
            b"Message-ID: <" + b"x" * 5000 + b">",
            b"Date: 31 Feb 99999 99:99",
        ]
    )
    lines.insert(rng.randint(0, len(lines)), extra)
    return b"\n".join(lines) + b"\n\n" + body


def break_mime(raw: bytes, rng: random.Random) -> bytes:
    return raw.replace(b"boundary=", rng.choice([b"boundary=x", b'boundary="', b"bndry="]), 1)


def nest(raw: bytes, rng: random.Random) -> bytes:
    depth = rng.randint(50, 3000)
    wrapper = b"Content-Type: multipart/mixed; boundary=z\n\n--z\n" * depth
    return b"From: fuzz@example.org\nSubject: nested\n" + wrapper + raw


def nuls(raw: bytes, rng: random.Random) -> bytes:
    at = rng.randint(0, len(raw))
    return raw[:at] + b"\x00" * rng.randint(1, 1000) + raw[at:]


def charset(raw: bytes, rng: random.Random) -> bytes:
    return raw.replace(
        b"charset=", rng.choice([b"charset=x-unknown-", b"charset=utf-7;", b'charset=""']), 1
    )


MUTATIONS = [truncate, flip, header_storm, break_mime, nest, nuls, charset]
# Quarantine reasons that describe the message; any other exception is a bug to look at.
EXPECTED = ("ExtractionError", "IntakeError")


def campaign(seconds: float, rng: random.Random) -> int:
    logs.setup(logging.ERROR)  # quarantines are counted below, not logged one by one
    corpus = seeds()
    processor = Processor(
        load_all(DEFAULT_DIR),
        limits=Limits(message_seconds=10, document_seconds=5),
        replies=ReplySettings(DEFAULT_TEMPLATES, "Careers <careers@numenta.com>", dry_run=True),
    )
    engine = make_engine("sqlite://")
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    escaped = 0
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        mutation = rng.choice(MUTATIONS)
        raw = mutation(rng.choice(corpus), rng)
        n += 1
        try:
            with open_session(engine) as session:
                identity = store.identify(raw)
                if store.find_raw(session, identity) is not None:
                    outcomes["duplicate"] += 1  # the pipeline skips these before processing
                    continue
                row = store.add_raw(
                    session,
                    raw,
                    identity,
                    mailbox=rng.choice(["careers", "interns"]),
                    folder="INBOX",
                    uidvalidity=1,
                    uid=n,
                )
                processor(session, row)
                session.commit()
                assert row.status in ("processed", "failed"), row.status
                outcomes[row.status] += 1
                if row.error:
                    reasons[f"{mutation.__name__}: {row.error[:70]}"] += 1
                    if not row.error.startswith(EXPECTED):  # quarantined by a bug of ours
                        OUT.mkdir(parents=True, exist_ok=True)
                        (OUT / f"suspect-{n}-{mutation.__name__}.eml").write_bytes(raw)
        except Exception:
            escaped += 1
            OUT.mkdir(parents=True, exist_ok=True)
            (OUT / f"escaped-{n}-{mutation.__name__}.eml").write_bytes(raw)
            traceback.print_exc()
        if n % 200 == 0:
            print(f"{n} messages: {dict(outcomes)}, {escaped} escaped", flush=True)
    print(
        f"\n{n} mangled messages in {seconds:.0f}s: {dict(outcomes)}; {escaped} escaped "
        f"the quarantine"
    )
    for reason, count in reasons.most_common(12):
        print(f"  quarantined {count:>5}  {reason}")
    return 1 if escaped else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    print(f"seed {args.seed}")
    return campaign(args.seconds, random.Random(args.seed))


if __name__ == "__main__":
    sys.exit(main())
