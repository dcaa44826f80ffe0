"""The labelled set: 40+ complete applications, checked field by field against hand labels.

Per-field accuracy is written to test-artifacts/labelled-accuracy.txt and printed at the
end of the run (tests/conftest.py). Every field of every case must match.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tests.judging import contract_of

FIXTURES = Path(__file__).parent / "fixtures" / "labelled"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"


def observed(eml: Path, mailbox: str) -> dict:
    """What the decision says, with the mailbox's postings for routing; `flags` are the
    extraction's own (the resume's state), as the labels were written before any rules."""
    result = contract_of(eml.read_bytes(), mailbox)
    period = result["internship_period"]
    resume = result["resume"]
    return {
        "kind": result["kind"],
        "sender_email": result["sender"]["email"],
        "github": result["github"],
        "internship_period": period and {"start": period["start"], "end": period["end"]},
        "internship_area": result["internship_area"],
        "eligibility_status": result["eligibility"]["status"],
        "eligibility_basis": sorted(result["eligibility"]["basis"]),
        "needs_sponsorship": result["needs_sponsorship"],
        "resume_filename": resume and (resume["filename"] or ""),
        "has_cover_letter": bool(result["cover_letter"]),
        "flags": sorted({f["code"] for f in result["flags"] if f["code"].startswith("resume_")}),
    }


def test_labelled_set_field_by_field():
    cases = sorted(FIXTURES.glob("*.json"))
    assert len(cases) >= 40
    right: Counter[str] = Counter()
    mismatches = []
    for label_file in cases:
        labels = json.loads(label_file.read_text())
        got = observed(label_file.with_suffix(".eml"), labels.pop("mailbox"))
        for field, want in labels.items():
            if got[field] == want:
                right[field] += 1
            else:
                mismatches.append(
                    f"{label_file.stem}.{field}: expected {want!r}, got {got[field]!r}"
                )
    fields = sorted(json.loads(cases[0].read_text()).keys() - {"mailbox"})
    lines = [f"labelled set: {len(cases)} applications, per-field accuracy"]
    lines += [
        f"  {field:20} {right[field]:3}/{len(cases)}  {right[field] / len(cases):6.1%}"
        for field in fields
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "labelled-accuracy.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    assert not mismatches, "\n".join(mismatches)
