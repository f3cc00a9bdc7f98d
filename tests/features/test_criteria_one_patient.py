"""One patient's criteria (the serving path: both readings stacked, reads cached per read of the columns)
give exactly the verdicts and elements of the vectorised evaluation of a whole cohort, in both readings.

The criteria remember reading-independent reads (a category statement, the stated weak limbs, "not
demyelinating") once per read of the columns; these tests pin that the remembered reads change nothing,
whichever reading is evaluated first on shared columns.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from mmn_ddx.data import read_frame, read_records
from mmn_ddx.data.contract import LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.features._random_frame import random_frame
from mmn_ddx.features.criteria import READINGS, evaluate_all, evaluate_readings
from mmn_ddx.serving.records import frame_records


def _statuses(ev: Any, row: int) -> dict[str, tuple[bool, bool]]:
    arrays = {f"{s}.{k}": v for kind in (ev.elements, ev.categories) for s, results in kind.items()
              for k, v in results.items()}
    arrays.update({f"rule_based.{k}": v for k, v in ev.steps.items()}, el_escorial=ev.el_escorial)
    return {name: (bool(v.true[row]), bool(v.false[row])) for name, v in arrays.items()}


def _cohorts() -> list[pd.DataFrame]:
    return [generate_cohort(250, seed=23).drop(columns=[LABEL]), random_frame(150, seed=8, null_rate=0.4)]


@pytest.mark.parametrize("cohort", _cohorts(), ids=["generated", "sparse-random"])
def test_each_patient_alone_equals_the_cohort_evaluation(cohort: pd.DataFrame) -> None:
    whole = {reading: evaluate_all(cohort, reading) for reading in READINGS}
    for i, record in enumerate(frame_records(cohort)):
        alone = evaluate_readings(read_records([record], validated=True))
        for reading in READINGS:
            assert _statuses(alone[reading], 0) == _statuses(whole[reading], i), (i, reading)
            assert alone[reading].labels[0] == whole[reading].labels[i]


@pytest.mark.parametrize("first", READINGS)
def test_shared_columns_give_each_reading_its_own_result(first: str) -> None:
    """Readings evaluated one after the other on the same columns share their cache: each still equals its
    evaluation on freshly read columns, whichever comes first."""
    cohort = random_frame(300, seed=4, null_rate=0.4)
    shared = read_frame(cohort)
    order = [first, *(r for r in READINGS if r != first)]
    results = {reading: evaluate_all(shared, reading) for reading in order}
    for reading in READINGS:
        fresh = evaluate_all(read_frame(cohort), reading)
        for row in range(0, len(cohort), 7):
            assert _statuses(results[reading], row) == _statuses(fresh, row), (reading, row)
        assert results[reading].labels.tolist() == fresh.labels.tolist()
