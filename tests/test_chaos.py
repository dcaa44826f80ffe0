"""A short chaos campaign in `make test` (tests/chaos.py; `make chaos` runs a longer one):
`intake run` killed 20 times, mostly with SIGKILL, while 300 messages arrive; every
message stored once, every acknowledgement sent, none twice with different Message-IDs.
INTAKE_CHAOS_SEED repeats a campaign; the report is printed at the end of the run."""

from __future__ import annotations

import os

import pytest

from tests.chaos import Plan, campaign
from tests.judging import ARTIFACTS

# One worker runs the daemon tests one after another: the campaign's daemons would eat the
# CPU the latency tests of tests/test_daemon.py measure (make test uses --dist loadgroup).
pytestmark = pytest.mark.xdist_group("daemons")
SEED = int(os.environ.get("INTAKE_CHAOS_SEED", "1307"))


def test_killed_at_random_moments_while_mail_arrives_nothing_lost_or_doubled():
    outcome = campaign(Plan(rounds=20, messages=300, seed=SEED), say=lambda line: print(line))
    report = outcome.report() + f"(INTAKE_CHAOS_SEED={SEED} to run this campaign again)\n"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "chaos-campaign.txt").write_text(report)
    print(report)
    assert outcome.kills >= 20 and outcome.messages >= 300
    assert not outcome.problems, report
