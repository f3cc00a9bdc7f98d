"""The warning codes: one order for every entry point, and no entry point may leave a code out."""

from __future__ import annotations

import numpy as np
import pytest

from mmn_ddx.serving.result import Warning
from mmn_ddx.training.artifact import WARNING_CODES, codes_per_patient


def test_codes_come_in_the_one_order_whatever_order_the_flags_are_given_in() -> None:
    flags = {code: np.array([True, False, True]) for code in reversed(WARNING_CODES)}
    assert codes_per_patient(flags, 3) == [list(WARNING_CODES), [], list(WARNING_CODES)]


def test_a_flag_may_be_one_bool_for_every_patient() -> None:
    flags = {code: np.zeros(2, dtype=bool) for code in WARNING_CODES} | {WARNING_CODES[0]: True}
    assert codes_per_patient(flags, 2) == [[WARNING_CODES[0]]] * 2


def test_every_code_must_be_given() -> None:
    with pytest.raises(ValueError, match=WARNING_CODES[-1]):
        codes_per_patient({code: True for code in WARNING_CODES[:-1]}, 1)


def test_the_http_schema_lists_the_same_codes() -> None:
    assert tuple(Warning.model_json_schema()["properties"]["code"]["enum"]) == WARNING_CODES
