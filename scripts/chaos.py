"""Chaos campaign (`make chaos`): `intake run` killed at random moments while mail arrives,
then checked (nothing lost, nothing counted twice, no second reply). The campaign itself is
tests/chaos.py, which tests/test_chaos.py runs briefly in `make test`.

Usage: python scripts/chaos.py [--rounds 25] [--messages 300] [--seed N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.chaos import Plan, campaign


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=Plan.rounds)
    parser.add_argument("--messages", type=int, default=Plan.messages)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    print(f"seed {args.seed}", flush=True)
    outcome = campaign(
        Plan(args.rounds, args.messages, args.seed), say=lambda line: print(line, flush=True)
    )
    print(outcome.report(), end="")
    return 1 if outcome.problems else 0


if __name__ == "__main__":
    sys.exit(main())
