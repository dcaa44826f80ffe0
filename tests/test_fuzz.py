"""Hypothesis fuzzing, bounded for `make test` (FUZZ_EXAMPLES=N scales it to N% of each
property's count; `make fuzz` runs a campaign): hostile headers, MIME trees and documents
never raise past the quarantine boundary, and the sender is always the address in angle
brackets. The conftest prints how many inputs each property tried."""

from __future__ import annotations

import os

import pytest

from tests import fuzzing

SCALE = int(os.environ.get("FUZZ_EXAMPLES", "100"))


@pytest.mark.parametrize("prop", fuzzing.PROPERTIES, ids=lambda prop: prop.name)
def test_property(prop: fuzzing.Property):
    fuzzing.run(prop, max(1, prop.examples * SCALE // 100))
