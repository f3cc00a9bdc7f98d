"""A few rows of three-valued values (``data.kleene.SMALL``: one served patient is two rows) are held as int
masks, more rows as numpy masks: every operation and every three-valued read of the columns gives the same
values either way (the criteria are one code for one patient and for a cohort)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmn_ddx.data import compare, read_frame
from mmn_ddx.data.contract import LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.data.kleene import (
    SMALL,
    Bounds,
    Tri,
    at_least,
    decided_by,
    exactly,
    first_true,
    masks,
    true_or_unknown,
    truth_codes,
)
from mmn_ddx.features._random_frame import random_frame

LARGE = 3 * SMALL + 1


def _values(n: int, seed: int) -> np.ndarray:
    """Codes 1 (True), 0 (False), -1 (Unknown)."""
    return np.random.default_rng(seed).integers(-1, 2, n)


def _tri(codes: np.ndarray) -> Tri:
    return Tri(codes == 1, codes == 0)


def _tiled(codes: np.ndarray) -> np.ndarray:
    """The same rows first, then more: a Tri of these is held as numpy masks."""
    return np.resize(codes, LARGE)


def _same(small: Tri, large: Tri, n: int) -> None:
    assert len(small) == n
    np.testing.assert_array_equal(small.true, large.true[:n])
    np.testing.assert_array_equal(small.false, large.false[:n])
    assert not (small.true & small.false).any()


@pytest.mark.parametrize(("n", "seed"), [(n, seed) for n in range(1, SMALL + 1) for seed in range(4)])
def test_every_operation_gives_the_same_values_on_int_and_numpy_masks(n: int, seed: int) -> None:
    a, b, c = (_values(n, seed * 3 + k) for k in range(3))
    small = [_tri(x) for x in (a, b, c)]
    large = [_tri(_tiled(x)) for x in (a, b, c)]
    assert all(type(s._t) is int for s in small) and all(type(x._t) is np.ndarray for x in large)
    ops = (lambda x, y, z: x & y, lambda x, y, z: x | y, lambda x, y, z: ~x, lambda x, y, z: x.otherwise(y),
           lambda x, y, z: x.unknown_as(True), lambda x, y, z: x.unknown_as(False), lambda x, y, z: true_or_unknown(x),
           lambda x, y, z: at_least(2, (x, y, z)), lambda x, y, z: exactly(1, (x, y, z)),
           lambda x, y, z: (x & ~y) | z.otherwise(x), lambda x, y, z: x.false_where(~x & y),
           lambda x, y, z: decided_by(Tri(x.true, ~x.true), Tri(y.true & ~x.true, ~(y.true & ~x.true))))
    for op in ops:
        _same(op(*small), op(*large), n)
    for got, expected in zip(first_true(small), first_true(large), strict=True):
        np.testing.assert_array_equal(got, expected[:n])
    for got, expected in zip(masks(small), masks(large), strict=True):
        np.testing.assert_array_equal(got, expected[:, :n])
    true, false = masks(large)
    np.testing.assert_array_equal(truth_codes(large), np.where(true, 1, np.where(false, 0, 2)))
    np.testing.assert_array_equal(truth_codes(small), truth_codes(large)[:, :n])
    for s, x in zip(small, large, strict=True):
        np.testing.assert_array_equal(s.known, x.known[:n])
        np.testing.assert_array_equal(s.isna(), x.isna()[:n])
        np.testing.assert_array_equal(s.to_float(), x.to_float()[:n])
        pd.testing.assert_extension_array_equal(s.to_pandas(), x.to_pandas()[:n])
        _same(Tri.from_float(s.to_float()), x, n)
        for start, stop in itertools.combinations(range(n + 1), 2):
            np.testing.assert_array_equal(s.rows(start, stop).true, x.true[start:stop])
            np.testing.assert_array_equal(s.rows(start, stop).false, x.false[start:stop])


_ROWS = st.lists(st.tuples(st.integers(-1, 1), st.integers(-1, 1), st.integers(-1, 1), st.integers(-1, 1),
                           st.sampled_from([np.nan, 0.0, 1.0, 2.0]), st.sampled_from([np.nan, 0.0, 1.0, 2.0])),
                 min_size=1, max_size=SMALL)


@given(_ROWS)
def test_bounds_give_the_same_values_on_a_few_and_many_rows(rows: list[tuple[float, ...]]) -> None:
    """Bounds of counts (two pairs of conditions, each narrowed by a stated count, then summed) compare with
    every number the same way whether held as Python floats (a few rows) or as numpy arrays."""
    n = len(rows)
    columns = [np.array(column) for column in zip(*rows, strict=True)]

    def bounds(resize: int) -> Bounds:
        codes = [np.resize(column, resize) for column in columns]
        conditions = [_tri(c.astype(np.int64)) for c in codes[:4]]
        left = Bounds.of(conditions[:2]).stated(codes[4])
        return left + Bounds.of(conditions[2:]).stated(codes[5])

    few, many = bounds(n), bounds(LARGE)
    assert type(few.lower) is tuple and type(many.lower) is np.ndarray
    np.testing.assert_array_equal(np.array(few.lower), many.lower[:n])
    np.testing.assert_array_equal(np.array(few.upper), many.upper[:n])
    for k in (0, 0.5, 1, 2, 3, 4, 5):
        _same(few.at_least(k), many.at_least(k), n)
        _same(few.exactly(k), many.exactly(k), n)


def test_int_masks_read_as_read_only_numpy_masks() -> None:
    value = _tri(np.array([1, 0, -1]))
    with pytest.raises(ValueError):
        value.true[0] = False
    assert value.true.dtype == bool and value.false.tolist() == [False, True, False]


@pytest.mark.parametrize("op", [">", ">=", "<", "<=", "=="])
def test_comparisons_give_the_same_values_on_few_and_many_rows(op: str) -> None:
    values = np.array([0.0, 1.0, 1.0 - 1e-12, 1.0 + 1e-12, 2.0, np.nan, -3.5, 5.0])
    for threshold in (1, 1.0, 0.5, 5):
        large = compare(np.resize(values, LARGE), op, threshold)
        for n in range(1, len(values) + 1):
            _same(compare(values[:n], op, threshold), large, n)


@pytest.mark.parametrize("reading", ["strict", "chart-review"])
def test_reads_of_a_few_rows_equal_the_reads_of_a_cohort(reading: str) -> None:
    """``num``, ``isin``, ``flag``, ``count_at_least`` and ``by_reading`` of patients read alone (and stacked
    over both readings) equal those of the cohort they come from."""
    cohort = pd.concat([generate_cohort(40, seed=5).drop(columns=[LABEL]), random_frame(40, seed=6, null_rate=0.4)],
                       ignore_index=True)
    whole = read_frame(cohort).with_reading(reading)
    reads = [
        lambda c: c.num("symptom_duration_months", ">", 1),
        lambda c: c.num("weak_nerve_territories", "==", 1),
        lambda c: c.isin("course", ("progressive", "stepwise")),
        lambda c: c.isin("sensory_loss", ("none",)),
        lambda c: c.flag("cramps"),
        lambda c: c.count_at_least("nerves_definite_cb", 1, "motor_nerves_studied"),
        lambda c: c.count_at_least("sensory_nerves_abnormal", 2, "sensory_nerves_studied"),
    ]
    for start in range(0, len(cohort), 3):
        rows = slice(start, min(start + 3, len(cohort)))
        part = read_frame(cohort.iloc[rows])
        alone, stacked = part.with_reading(reading), part.stacked_readings(("strict", "chart-review"))
        for read in reads:
            _same(read(alone), read(whole).rows(rows.start, rows.stop), len(part))
            both = read(stacked)
            for k, name in enumerate(("strict", "chart-review")):
                expected = read(read_frame(cohort).with_reading(name)).rows(rows.start, rows.stop)
                _same(both.rows(k * len(part), (k + 1) * len(part)), expected, len(part))
        value = reads[0](stacked)
        mixed = stacked.by_reading(value, ~value)
        n = len(part)
        _same(mixed.rows(0, n), value.rows(0, n), n)
        _same(mixed.rows(n, 2 * n), (~value).rows(n, 2 * n), n)


@pytest.mark.parametrize("value", [True, False])
def test_unknown_in_chart_review_is_by_reading_of_unknown_as(value: bool) -> None:
    """The one-call form the criteria elements use equals ``by_reading(x, x.unknown_as(value))`` on columns of
    one reading and on stacked readings, held as int masks (a few rows) or numpy masks (a cohort)."""
    cohort = random_frame(3 * LARGE, seed=8, null_rate=0.5)
    for frame in (cohort.iloc[:1], cohort.iloc[:3], cohort):
        cols = read_frame(frame)
        for columns in (cols, cols.with_reading("chart-review"), cols.stacked_readings(("strict", "chart-review"))):
            x = columns.num("symptom_duration_months", ">", 12)
            assert x.isna().any() or len(frame) < 3  # the cohort has Unknowns to fill
            expected = columns.by_reading(x, x.unknown_as(value))
            _same(columns.unknown_in_chart_review(x, value), expected, len(columns))
