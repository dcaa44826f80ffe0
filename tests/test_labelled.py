"""The labelled set: 40+ complete applications, checked field by field against hand labels.

Per-field accuracy is written to test-artifacts/labelled-accuracy.txt and printed at the
end of the run (tests/conftest.py). Every field of every case must match.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.judging import contract_of, field_by_field

FIXTURES = Path(__file__).parent / "fixtures" / "labelled"


def observed(eml: Path, mailbox: str) -> dict:
    """What the decision says, with the mailbox's postings for routing; `flags` are the
    extraction's own (the resume's state), as the labels were written before any rules."""
    result = contract_of(eml.read_bytes(), mailbox)
    period = result["internship_period"]
    resume = result["resume"]
    return {
        "kind": result["kind"],
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
    cases = []
    for label_file in sorted(FIXTURES.glob("*.json")):
        labels = json.loads(label_file.read_text())
        got = observed(label_file.with_suffix(".eml"), labels.pop("mailbox"))
        cases.append((label_file.stem, labels, got))
    assert len(cases) >= 40
    mismatches = field_by_field("labelled set (builder-made applications)", cases)
    assert not mismatches, "\n".join(mismatches)
