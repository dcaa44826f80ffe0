"""Is a school named in text a US institution? (data/universities: 2,348 US schools, MIT licence.)

Names are matched after normalising case and punctuation ("University of California, San
Diego" = "university of california san diego"), plus the short forms applicants write
("UCSD", "Georgia Tech", "UT Austin") from `aliases.txt` and "UC <campus>" for each
University of California campus.
"""

from __future__ import annotations

import json
import re
from functools import cache

from intake import resources

DATA = resources.universities()
_NON_WORD = re.compile(r"[^\w]+")


def normalise(text: str) -> str:
    return " " + _NON_WORD.sub(" ", text.lower()).strip() + " "


@cache
def _names() -> dict[str, str]:
    """Normalised name or alias -> the institution's official name."""
    names: dict[str, str] = {}
    for school in json.loads((DATA / "us.json").read_text(encoding="utf-8")):
        official = school["name"]
        # "The University of Texas at Austin", "Trinity College (CT)": match without those too;
        # "Texas A&M University - College Station": its name without the campus is US too.
        plain = re.sub(r"^The |\s*\([^)]*\)$", "", official)
        for form in (official, plain, plain.split(" - ")[0]):
            names.setdefault(normalise(form).strip(), official)
        campus = re.match(r"University of California, (.+)", official)
        if campus:
            names[normalise(f"UC {campus.group(1)}").strip()] = official
    for line in (DATA / "aliases.txt").read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            alias, official = (part.strip() for part in line.split("=", 1))
            names[normalise(alias).strip()] = official
    return names


@cache
def _pattern() -> re.Pattern[str]:
    alternatives = sorted(_names(), key=len, reverse=True)
    return re.compile(r" (" + "|".join(re.escape(a) for a in alternatives) + r") ")


def us_institution(text: str) -> str | None:
    """The official name of the first US institution named in `text`, or None."""
    match = _pattern().search(normalise(text))
    return _names()[match.group(1)] if match else None
