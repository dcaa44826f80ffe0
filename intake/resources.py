"""What intake ships besides its code: the posting rules, the reply and digest templates,
the list of US institutions and the demo's sample mail.

An installed wheel carries them as package data under `intake/shipped/` (pyproject.toml
maps them in); a source checkout keeps them in its top-level `rules/`, `templates/` and
`data/`. Either way, these paths are the packaged defaults a config can override.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


@cache
def shipped(name: str) -> Path:
    """The shipped file or folder `name` ("rules", "templates", "data/universities",
    "data/sample", "config.example.toml", "contrib/intake.service")."""
    packaged = Path(str(files("intake.shipped"))) / name
    return packaged if packaged.exists() else CHECKOUT / name


def installed() -> bool:
    """Whether this is an installed package (a wheel), not a source checkout."""
    return shipped("rules") != CHECKOUT / "rules"


def rules() -> Path:
    return shipped("rules")


def templates() -> Path:
    return shipped("templates")


def universities() -> Path:
    return shipped("data/universities")


def samples() -> Path:
    return shipped("data/sample")
