"""The age at work-up (``data.workup_age``): the one age the CSF protein limit is read at."""

from __future__ import annotations

import numpy as np
import pytest

from mmn_ddx.data import workup_age_at_most
from mmn_ddx.data.workup_age import longest_duration_within


@pytest.mark.parametrize(("onset", "months", "expected"), [
    (49.0, 12.0, True),       # 50 at work-up: at most 50
    (49.0, 12.1, False),      # 50.008
    (50.0, 0.0, True),
    (50.0, np.nan, None),     # the duration could still be 0
    (50.5, np.nan, False),    # older at onset, so older at work-up
    (38.0, 144.0, True),      # 12 years: exactly 50 (38 + 144 / 12)
])
def test_age_at_workup_at_most_is_three_valued(onset: float, months: float, expected: bool | None) -> None:
    read = workup_age_at_most(np.array([onset]), np.array([months]), 50.0)
    assert (bool(read.true[0]) if read.true[0] or read.false[0] else None) == expected


def test_longest_duration_within_is_the_rules_boundary() -> None:
    """On the duration grid (0.1 month) the longest duration the rule keeps within the age limit, one step
    more leaving it, for whole and fractional onsets (float error at the boundary moves nothing)."""
    onset = np.concatenate([np.arange(0.0, 50.5, 0.5), np.linspace(40.0, 50.0, 97)])
    longest = longest_duration_within(onset, 50.0, 1)
    assert workup_age_at_most(onset, longest, 50.0).true.all()
    assert workup_age_at_most(onset, longest + 0.1, 50.0).false.all()
    at_limit, older = longest_duration_within(np.array([50.0, 51.0]), 50.0, 1)
    assert at_limit == 0.0 and older < 0
