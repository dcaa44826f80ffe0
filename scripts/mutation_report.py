"""Mutation scores of the code that carries the guarantees, and the survivors nobody explained.

`SCOPE` names, per guarantee, the functions whose mutants `make mutate` runs (`--patterns`
prints them for `mutmut run`): the code that keeps the promise, not everything beside it in
the same module. After the run this reads mutmut's results (`mutants/**/*.py.meta`),
prints one Markdown row per guarantee (the table in docs/guarantees.md is this output),
then every surviving mutant that docs/mutation-survivors.toml does not explain, with the
command that shows its diff. Exits 1 when a survivor is unexplained or a mutant in scope
was not checked, so `make mutate` fails.
"""

from __future__ import annotations

import fnmatch
import json
import sys
import tomllib
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parent.parent
EXPLAINED = ROOT / "docs" / "mutation-survivors.toml"
CAUGHT = {"killed", "timeout", "segfault", "caught by type check"}
SCOPE = {
    "fetch and checkpoint": [
        "intake.mail.mailbox.xǁMailboxǁ*",
        "intake.daemon.pipeline.x_batches__*",
        "intake.daemon.pipeline.x_store_batch__*",
        "intake.daemon.pipeline.x__too_large__*",
        "intake.daemon.pipeline.x_poll_mailbox__*",
        "intake.daemon.pipeline.x_fetched__*",
        "intake.daemon.pipeline.x__pipelined__*",
        "intake.daemon.pipeline.x__resume_from__*",
        "intake.daemon.pipeline.x__checkpoint__*",
    ],
    "store and dedupe": [
        "intake.storage.store.x_identify__*",
        "intake.storage.store.x__body_hash__*",
        "intake.storage.store.x_find_raw__*",
        "intake.storage.store.x_add_raw__*",
        "intake.storage.store.x_save_checkpoint__*",
    ],
    "outbox": [
        "intake.replies.outbox.x_queue__*",
        "intake.replies.outbox.x_backoff__*",
        "intake.replies.outbox.x__send_one__*",
        "intake.replies.outbox.x__failure__*",
        "intake.replies.outbox.x_retry__*",
    ],
    "isolation": [
        "intake.extraction.worker.x_run_isolated__*",
        "intake.extraction.worker.x__take__*",
        "intake.extraction.worker.x__read_exact__*",
        "intake.extraction.worker.x__read__*",
        "intake.extraction.worker.xǁ_Workerǁcall__*",
        "intake.extraction.worker.xǁ_Workerǁkill__*",
    ],
    "reply headers": [
        "intake.replies.messages.x_build__*",
        "intake.replies.messages.x_reply_subject__*",
        "intake.replies.messages.x_reply_message_id__*",
    ],
    "robots": ["intake.decisions.robots.*", "intake.decisions.safety.x_why_not__*"],
}


def in_scope(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def results(mutants: Path) -> dict[str, dict[str, str]]:
    """Guarantee -> mutant name -> status, as mutmut left them."""
    every = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        every.update({name: status_by_exit_code[code] for name, code in codes.items()})
    return {
        guarantee: {n: s for n, s in every.items() if in_scope(n, patterns)}
        for guarantee, patterns in SCOPE.items()
    }


def explanations(path: Path) -> dict[str, str]:
    """Mutant name -> why its survival is not a gap (equivalent, or not a guarantee)."""
    table = tomllib.loads(path.read_text()) if path.exists() else {}
    return {
        name: group["reason"] for group in table.get("explained", []) for name in group["mutants"]
    }


def row(guarantee: str, statuses: dict[str, str], explained: dict[str, str]) -> str:
    counts = Counter(statuses.values())
    caught = sum(counts[s] for s in CAUGHT)
    survived = [n for n, s in statuses.items() if s not in CAUGHT]
    equivalent = sum(1 for n in survived if n in explained)
    score = caught / len(statuses) if statuses else 1.0
    return (
        f"| {guarantee} | {len(statuses)} | {caught} | {len(survived)} | {equivalent} "
        f"| {score:.0%} |"
    )


def main() -> int:
    if sys.argv[1:] == ["--patterns"]:
        print(" ".join(p for patterns in SCOPE.values() for p in patterns))
        return 0
    found = results(ROOT / "mutants")
    if not any(found.values()):
        print("no mutmut results: run `make mutate`", file=sys.stderr)
        return 1
    explained = explanations(EXPLAINED)
    print("| Guarantee | Mutants | Killed | Survived | of which explained | Score |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for guarantee, statuses in found.items():
        print(row(guarantee, statuses, explained))
    every = {n: s for statuses in found.values() for n, s in statuses.items()}
    unchecked = [n for n, s in every.items() if s == "not checked"]
    unexplained = [
        n for n, s in every.items() if s not in CAUGHT | {"not checked"} and n not in explained
    ]
    stale = sorted(set(explained) - {n for n, s in every.items() if s not in CAUGHT})
    for name in unexplained:
        print(f"unexplained: {every[name]}: {name}  (mutmut show {name})")
    for name in stale:
        print(f"explained but not surviving (remove it from {EXPLAINED.name}): {name}")
    if unchecked:
        print(f"{len(unchecked)} mutants not checked yet: run `make mutate` again")
    return 1 if unexplained or unchecked else 0


if __name__ == "__main__":
    sys.exit(main())
