"""The one columnar reader: a frame, record dicts and validated record dicts read into the same arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data import Columns, ColumnsError, read_frame, read_records
from mmn_ddx.data.contract import FEATURE_FIELDS, ID_FIELD, LABEL
from mmn_ddx.data.generator import generate_cohort


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return generate_cohort(300, seed=11).drop(columns=[LABEL])


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if v is pd.NA or v != v else v) for k, v in row.items()}
            for row in frame.astype(object).to_dict("records")]


def _assert_same(a: Columns, b: Columns) -> None:
    assert list(a.arrays) == list(b.arrays) == list(FEATURE_FIELDS)
    for name in FEATURE_FIELDS:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_frame_records_and_validated_records_read_the_same(cohort: pd.DataFrame) -> None:
    records = _records(cohort)
    frame_read = read_frame(cohort)
    _assert_same(frame_read, read_records(records))
    _assert_same(frame_read, read_records(records, validated=True))


def test_a_row_is_the_patients_record_again(cohort: pd.DataFrame) -> None:
    columns, records = read_frame(cohort), _records(cohort)
    for i in range(len(cohort)):
        row = columns.row(i)
        expected = {k: v for k, v in records[i].items() if k != ID_FIELD}
        assert dict(row) == expected
        assert all(type(row[k]) is type(v) for k, v in expected.items() if v is not None)
        assert row.get(ID_FIELD) is None  # the identifier is never read


def test_null_mask_marks_every_null_of_every_field(cohort: pd.DataFrame) -> None:
    expected = cohort[list(FEATURE_FIELDS)].isna().to_numpy()
    for columns in (read_frame(cohort), read_records(_records(cohort), validated=True)):
        np.testing.assert_array_equal(columns.null_mask(FEATURE_FIELDS), expected)
        some = ("sex", "course", "csf_protein_g_per_l")
        np.testing.assert_array_equal(columns.null_mask(some), cohort[list(some)].isna().to_numpy())


def test_bad_values_name_field_and_rows_never_the_value() -> None:
    records = [{"age_at_onset_years": 40.0, "sex": "male", "mrc_arm_distal_left": 7.25},
               {"age_at_onset_years": 41.0, "sex": "other", "nerves_definite_cb": 2.5}]
    with pytest.raises(ColumnsError) as caught:
        read_records(records)
    assert set(caught.value.problems) == {"mrc_arm_distal_left", "sex", "nerves_definite_cb"}
    assert "rows [0]" in caught.value.problems["mrc_arm_distal_left"] and "7.25" not in str(caught.value)


def test_stacked_readings_repeat_the_patients_once_per_reading(cohort: pd.DataFrame) -> None:
    cols = read_frame(cohort)
    n = len(cols)
    stacked = cols.stacked_readings(("strict", "chart-review"))
    assert len(stacked) == 2 * n
    np.testing.assert_array_equal(stacked["nerves_definite_cb"], np.tile(cols["nerves_definite_cb"], 2))
    count = stacked.count_at_least("nerves_definite_cb", 1, "motor_nerves_studied")
    alone = [cols.with_reading(r).count_at_least("nerves_definite_cb", 1, "motor_nerves_studied")
             for r in ("strict", "chart-review")]
    assert (alone[0].false != alone[1].false).any()  # the readings differ on some patients of the cohort
    assert count.true.tolist() == alone[0].true.tolist() + alone[1].true.tolist()
    assert count.false.tolist() == alone[0].false.tolist() + alone[1].false.tolist()
    with pytest.raises(ValueError, match="readings"):
        cols.stacked_readings(("strict", "lenient"))  # type: ignore[arg-type]


def test_chart_review_rows_are_per_row_in_stacked_readings(cohort: pd.DataFrame) -> None:
    """A reading-dependent computation asks per row: stacked columns have no one reading (their ``reading``
    is the first block's), so ``depends_on_reading`` refuses them and ``chart_review_rows`` tells each block."""
    cols = read_frame(cohort)
    n = len(cols)
    assert not cols.chart_review_rows().any()
    assert cols.with_reading("chart-review").chart_review_rows().all()
    stacked = cols.stacked_readings(("strict", "chart-review"))
    assert stacked.chart_review_rows().tolist() == [False] * n + [True] * n
    with pytest.raises(ValueError, match="stacked"):
        stacked.depends_on_reading()
