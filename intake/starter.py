"""`intake init`: a starting point an operator edits, written from what the package ships.

The config (config.example.toml, with its comments), the posting rules and the reply and
digest templates are copied into a directory; nothing that exists is ever overwritten.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from intake import resources
from intake.errors import IntakeError

ITEMS = {"config.toml": "config.example.toml", "rules": "rules", "templates": "templates"}


def init(directory: Path) -> list[Path]:
    """Copy the starter files into `directory` (created if needed); returns what was written.
    Refuses, naming them, when any of them is already there."""
    there = [directory / name for name in ITEMS if (directory / name).exists()]
    if there:
        raise IntakeError(
            f"{directory}: would overwrite {', '.join(p.name for p in there)}; "
            "choose an empty directory or move them away"
        )
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, source in ITEMS.items():
        origin = resources.shipped(source)
        if origin.is_dir():
            shutil.copytree(origin, directory / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(origin, directory / name)
        written.append(directory / name)
    return written


def systemd_unit() -> str:
    return resources.shipped("contrib/intake.service").read_text(encoding="utf-8")
