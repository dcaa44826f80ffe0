"""Fuzz campaign (`make fuzz`): hostile mail must never escape the quarantine.

Half the time, every sample, fixture and shared-corpus message is mangled (truncation,
flipped bytes, duplicated or enormous headers, broken MIME boundaries, nesting, NULs,
stray encodings) and run through the whole per-message stage as the daemon would: each
must end `processed` or quarantined by ExtractionError/IntakeError; anything else is a
bug, saved under test-artifacts/fuzz/ to reproduce with `intake parse FILE`. The other
half runs the hypothesis properties of tests/fuzzing.py (generated headers, MIME trees,
PDFs and DOCX zips) round after round. Prints how many inputs it tried.

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
from tests import fuzzing

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


def mangled(seconds: float, rng: random.Random) -> int:
    """Real mail mangled at random through the daemon's per-message stage; returns how
    many escaped (raised, or were quarantined by a bug of ours: saved to reproduce)."""
    corpus, daemon = seeds(), fuzzing.Daemon()
    outcomes: Counter[str] = Counter()
    escaped = n = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        n += 1
        mutation = rng.choice(MUTATIONS)
        raw = mutation(rng.choice(corpus), rng)
        try:
            outcomes[f"{mutation.__name__}: {daemon(raw)[:70]}"] += 1
        except Exception:
            escaped += 1
            OUT.mkdir(parents=True, exist_ok=True)
            (OUT / f"escaped-{n}-{mutation.__name__}.eml").write_bytes(raw)
            traceback.print_exc()
        if n % 200 == 0:
            print(f"{n} mangled messages, {escaped} escaped", flush=True)
    print(f"\n{n} mangled messages in {seconds:.0f}s; {escaped} escaped the quarantine")
    for outcome, count in outcomes.most_common(12):
        print(f"  {count:>5}  {outcome}")
    return escaped


def generated(seconds: float) -> int:
    """The hypothesis properties of tests/fuzzing.py, round after round of fresh inputs;
    returns how many rounds found a failure (printed with the shrunk input)."""
    failures = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for prop in fuzzing.PROPERTIES:
            try:
                fuzzing.run(prop, prop.examples)
            except Exception:
                failures += 1
                traceback.print_exc()
        print(f"tried {dict(fuzzing.TRIED)}, {failures} failed", flush=True)
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    print(f"seed {args.seed} (the mangling; hypothesis draws its own)")
    logs.setup(logging.ERROR)  # quarantines are counted, not logged one by one
    escaped = mangled(args.seconds / 2, random.Random(args.seed))
    failed = generated(args.seconds / 2)
    total = sum(fuzzing.TRIED.values())
    print(f"\n{total} generated inputs tried: {dict(fuzzing.TRIED)}")
    return 1 if escaped or failed else 0


if __name__ == "__main__":
    sys.exit(main())
