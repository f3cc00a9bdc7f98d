"""The ``treatment_response_ignored`` rule: a recorded response the at-presentation model does not read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data import fields, read_records, to_canonical
from mmn_ddx.features import MODES, NO_TRIAL, TREATMENT_FIELDS
from mmn_ddx.training.artifact import unread_response_mask, unread_responses

BASE = {"age_at_onset_years": 41.0, "sex": "male"}
CASES = [(name, value) for name in TREATMENT_FIELDS for value in (*(fields()[name].values or ()), None)]
"""Every value of each treatment field in the data dictionary, and null."""


@pytest.mark.parametrize(("name", "value"), CASES, ids=[f"{n}={v}" for n, v in CASES])
def test_a_response_is_unread_at_presentation_unless_no_trial_or_null(name: str, value: str | None) -> None:
    records = [BASE, {**BASE, name: value}]
    unread = unread_responses(read_records(records), MODES[0])
    expected = value is not None and value != NO_TRIAL
    assert unread.shape == (2, len(TREATMENT_FIELDS))
    assert unread[1].tolist() == [expected and field == name for field in TREATMENT_FIELDS]
    assert not unread[0].any()
    frame = to_canonical(pd.DataFrame(records))
    np.testing.assert_array_equal(unread_response_mask(frame, MODES[0]), unread.any(axis=1))  # the pyfunc's reading


def test_the_with_treatment_model_reads_every_response() -> None:
    records = [{**BASE, **dict.fromkeys(TREATMENT_FIELDS, "improved")}] * 3
    assert unread_responses(read_records(records), MODES[1]).shape == (3, 0)
    np.testing.assert_array_equal(unread_response_mask(to_canonical(pd.DataFrame(records)), MODES[1]), [False] * 3)
