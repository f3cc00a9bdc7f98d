"""How much a record holds: the ``little_information`` rule.

One rule, below serving, for everything that depends on it: the warning (:mod:`serving.alerts` words it, the
pyfunc lists its code) and the information groups the prediction sets are calibrated in
(:func:`conformal.group_class_thresholds`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import pandas as pd

from mmn_ddx.data import FEATURE_FIELDS, Columns, fields, find_test, read_frame, result_recorded
from mmn_ddx.features import fields_for_mode

LITTLE_INFORMATION_FRACTION = 0.5
"""``little_information`` when fewer than this share of the optional findings are recorded ("most fields
null"), or when no result of a motor nerve conduction study is (:func:`motor_ncs_done`). Written here,
below serving, so that the pyfunc, :mod:`serving.alerts` (which words the warnings) and the
prediction sets' information groups (:func:`conformal.group_class_thresholds`) apply one rule.

Why one half, by principle rather than by tuning: "most findings unrecorded" is the documented meaning,
and the generator's documents fall on either side of it - every referral letter and case report records
fewer than half of the optional findings, a complete tertiary work-up about 70 % (measured on generated
records: ``tests/serving/test_sparse_records.py``)."""
MOTOR_NCS = find_test("motor_ncs")
MOTOR_NCS_FIELDS: tuple[str, ...] = MOTOR_NCS.report
"""The fields of a motor conduction study's report, in numbers and in words. The study counts as recorded when
*any* of them is (:func:`motor_ncs_done`): letters and case reports state "conduction block in two nerves"
without the number of nerves studied (null in 15 of 15 development cases, ``data/priors.yaml`` reporting), or
only in words ("multiple conduction blocks", contract v2), so the count of nerves studied alone would call
every such study missing."""


def motor_ncs_done(columns: Columns) -> np.ndarray:
    """Per patient: a result of the motor conduction study is recorded (:func:`data.result_recorded`, the rule the
    next-test search reads too; 0 nerves studied is "not done"). The one reading of the warning, the batch
    table, the pyfunc and the information group the prediction-set thresholds are calibrated and served in."""
    return result_recorded(MOTOR_NCS, columns)


@cache
def optional_fields(mode: str) -> tuple[str, ...]:
    """The findings that count for 'how much is recorded': all but the always-required ones (listed once per
    mode: every prediction asks)."""
    specs = fields()
    return tuple(name for name in fields_for_mode(FEATURE_FIELDS, mode) if not specs[name].required)


def few_recorded(recorded: np.ndarray | int, total: int) -> np.ndarray | bool:
    """Fewer optional findings recorded than :data:`LITTLE_INFORMATION_FRACTION` of them (per patient)."""
    return recorded < LITTLE_INFORMATION_FRACTION * total


def lacks_information(recorded: np.ndarray | int, total: int, motor_ncs_done: np.ndarray | bool) -> np.ndarray | bool:
    """The ``little_information`` rule (per patient): too few optional findings, or no motor conduction result.
    The one rule of the pyfunc's codes, ``mmn-ddx predict``'s table and each prediction's warning."""
    return np.logical_or(few_recorded(recorded, total), np.logical_not(motor_ncs_done))


def little_information_mask(frame: pd.DataFrame, optional: Sequence[str]) -> np.ndarray:
    """Per patient of a canonical frame: :func:`lacks_information` (at training, calibration and in the pyfunc;
    serving reads its columns with the same :func:`motor_ncs_done`)."""
    recorded = frame[list(optional)].notna().to_numpy().sum(axis=1)
    done = motor_ncs_done(read_frame(frame[list(MOTOR_NCS_FIELDS)], MOTOR_NCS_FIELDS))
    return np.asarray(lacks_information(recorded, len(optional), done), dtype=bool)
