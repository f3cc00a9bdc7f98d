"""Three-valued logic primitives of the criteria (criteria.md §0.1): Kleene truth tables and counts."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data import read_frame
from mmn_ddx.data.contract import rules
from mmn_ddx.features.criteria import NOT_ASSESSABLE, NOT_MET, first_met
from mmn_ddx.features.criteria._logic import Tri, all_of, any_of, at_least, exactly, true_or_unknown
from mmn_ddx.features.criteria.examples import example_frame

T, F, U = True, False, None
VALUES = (T, F, U)


def arr(*values: bool | None) -> Tri:
    return Tri.from_pandas(pd.array(list(values), dtype="boolean"))


def py(x: Tri) -> list[bool | None]:
    return [None if v is pd.NA else bool(v) for v in x.to_pandas()]


def kleene_and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def kleene_or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


PAIRS = list(itertools.product(VALUES, repeat=2))


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_all_of_and_any_of_follow_kleene_truth_tables(a: bool | None, b: bool | None) -> None:
    assert py(all_of(arr(a), arr(b))) == [kleene_and(a, b)]
    assert py(any_of(arr(a), arr(b))) == [kleene_or(a, b)]


def test_negation_keeps_unknown_unknown() -> None:
    assert py(~arr(T, F, U)) == [False, True, None]


def test_operators_agree_with_pandas_boolean_dtype_on_every_combination() -> None:
    """pandas' nullable ``boolean`` dtype is the reference Kleene implementation."""
    left, right = zip(*PAIRS, strict=True)
    a, b = pd.array(list(left), dtype="boolean"), pd.array(list(right), dtype="boolean")
    ta, tb = Tri.from_pandas(a), Tri.from_pandas(b)
    for ours, reference in ((ta & tb, a & b), (ta | tb, a | b), (~ta, ~a)):
        pd.testing.assert_extension_array_equal(ours.to_pandas(), reference)


def _brute_at_least(k: int, values: tuple[bool | None, ...], exact: bool = False) -> bool | None:
    """Enumerate every completion of the unknowns: the answer is known only if all completions agree."""
    unknown = [i for i, v in enumerate(values) if v is None]
    outcomes = set()
    for fill in itertools.product((True, False), repeat=len(unknown)):
        completed = list(values)
        for i, v in zip(unknown, fill, strict=True):
            completed[i] = v
        n = sum(bool(v) for v in completed)
        outcomes.add(n == k if exact else n >= k)
    return outcomes.pop() if len(outcomes) == 1 else None


@pytest.mark.parametrize("values", list(itertools.product(VALUES, repeat=4)))
@pytest.mark.parametrize("k", [1, 2, 4])
def test_counting_conditions_matches_enumeration_of_unknowns(values: tuple[bool | None, ...], k: int) -> None:
    columns = [arr(v) for v in values]
    assert py(at_least(k, columns)) == [_brute_at_least(k, values)]
    assert py(exactly(k, columns)) == [_brute_at_least(k, values, exact=True)]


def test_true_or_unknown_never_refutes() -> None:
    assert py(true_or_unknown(arr(T, F, U))) == [True, None, None]


@pytest.mark.parametrize(("count", "studied", "expected"), [
    (2, 8, True),      # reaches the threshold
    (1, 8, False),     # below it, with nerves studied
    (2, None, True),   # a positive count is evidence even without the denominator
    (1, None, None),   # below, but nothing says how many nerves were studied
    (0, 0, None),      # no nerve studied: "not examined", never "normal"
    (None, 8, None),
])
def test_count_threshold_needs_a_positive_denominator_to_refute(
    count: int | None, studied: int | None, expected: bool | None
) -> None:
    others = {rule.field: None for rule in rules()  # no nerve studied: the other counts cannot be recorded either
              if studied == 0 and rule.at_most == "motor_nerves_studied" and rule.field != "nerves_definite_cb"}
    frame = example_frame("typical_mmn", nerves_definite_cb=count, motor_nerves_studied=studied, **others)
    assert py(read_frame(frame).count_at_least("nerves_definite_cb", 2, "motor_nerves_studied")) == [expected]


def test_float_comparisons_tolerate_representation_error() -> None:
    frame = example_frame("typical_mmn", mrc_arm_distal_left=4.6, mrc_arm_distal_right=3.6)
    cols = read_frame(frame)
    diff = np.abs(cols.number("mrc_arm_distal_left") - cols.number("mrc_arm_distal_right"))
    assert diff[0] < 1.0  # the float difference really is below 1 ...
    assert py(cols.compare(diff, ">=", 1.0)) == [True]  # ... but one MRC grade is one MRC grade


def test_category_test_rejects_values_outside_the_contract() -> None:
    cols = read_frame(example_frame("typical_mmn"))
    with pytest.raises(ValueError, match="sensory_loss"):
        cols.isin("sensory_loss", ("severe",))


@pytest.mark.parametrize("n", [1, 2, 40])
def test_first_met_is_the_first_true_category_else_not_assessable_if_any_unknown(n: int) -> None:
    """The verdict rule on every combination of three categories, for a few patients (held as int masks, read
    column by column) and for many (numpy): the highest met; else not assessable if one is Unknown; else not met."""
    rows = list(itertools.product(VALUES, repeat=3))
    rows = (rows * (n // len(rows) + 1))[:n] if n >= len(rows) else rows  # a few at a time: every combination
    for start in range(0, len(rows), n):
        part = rows[start:start + n]
        categories = {key: arr(*(row[j] for row in part)) for j, key in enumerate(("definite", "probable", "possible"))}
        expected = [next((key for key, value in zip(categories, row, strict=True) if value is True),
                         NOT_ASSESSABLE if None in row else NOT_MET) for row in part]
        assert first_met(categories).tolist() == expected
