"""Findings as records state them in words (contract schema version 2), read together with the counts.

Real records say "multiple conduction blocks", "demyelinating features", "sensory conduction normal" or
"asymmetric weakness" without the numbers the guidelines are written in. Each element reads such a statement
only where the guideline allows (docs/criteria.md, "Findings stated without counts"), by two rules:

* :func:`numbers_first` - the counts or grades decide where they are known; the words fill in only where the
  numbers leave the element undecided (a statement never overrides a measurement);
* :func:`proven_unless_measured` - for evidence of another disease (Gold Coast criterion 3): a stated
  finding is evidence where the record does not give the counts of the same study (with the counts, they decide).

Some statements are read differently per reading: an ungraded "conduction block" cannot be a *definite*
block and is only read as a block of the guideline's lowest grade in the chart-review reading
(:func:`chart_review_only`). Zero counts without their denominator are evidence of absence in both readings
(:func:`count_at_least`).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from mmn_ddx.data import fields
from mmn_ddx.features.criteria._logic import SMALL, Columns, Tri, decided_by, from_rows, row_truths, true_or_unknown

BLOCK_STATED = ("present", "single", "multiple")
"""``motor_conduction_block`` values that state a block (ungraded: neither definite nor probable)."""
PATTERN_DEMYELINATING = ("demyelinating", "mixed")
"""``motor_ncs_pattern`` values stating demyelinating features."""
PATTERN_NOT_DEMYELINATING = ("normal", "axonal")
"""``motor_ncs_pattern`` values stating that no motor nerve met demyelinating criteria."""
COUNT_WORDS = {"none": 0.0, "one": 1.0, "both": 2.0}
"""``weak_arms`` / ``weak_legs``: how many limbs of the pair are weak."""
BLOCK_FIELDS = ("motor_conduction_block",)
PATTERN_FIELDS = ("motor_ncs_pattern",)
SENSORY_FIELDS = ("sensory_ncs",)
WEAKNESS_FIELDS = ("weakness_symmetry", "weak_arms", "weak_legs")
REFLEX_FIELDS = ("reflexes_arms", "reflexes_legs")


def never(c: Columns) -> np.ndarray:
    return np.zeros(c.n, dtype=bool)


def chart_review_only(c: Columns, words: Tri) -> Tri:
    """``words`` where the record is read the chart-review way; in the strict reading only what they refute
    (their True is Unknown there). Reading-dependent (never shared between readings)."""
    return c.reading_dependent(refutes(~words), words)


def refutes(statement: Tri) -> Tri:
    """False where ``statement`` is True, Unknown elsewhere: a statement that can refute an element but never
    establish it."""
    return ~true_or_unknown(statement)


def numbers_first(numbers: Tri, words: Tri) -> Tri:
    """``numbers`` where known, else ``words``: a statement fills an undecided element, never overrides it."""
    return numbers.otherwise(words)


def proven(statement: Tri) -> Tri:
    """Evidence only: True where stated, False otherwise (an unstated finding adds no doubt to a disjunction
    whose other terms decide it)."""
    return statement.unknown_as(False)


def proven_unless_measured(c: Columns, statement: Tri, counts: tuple[str, ...]) -> Tri:
    """:func:`proven`, on the rows whose ``counts`` are not all recorded: where the report gives the counts of
    the study, its summary word adds nothing to them (a statement never overrides a measurement), in both
    readings alike (so chart review, which completes unrecorded counts, never overrules a statement)."""
    return proven(statement & ~c.cached(_key("measured", *counts), lambda: _all_recorded(c, counts)))


def _all_recorded(c: Columns, names: tuple[str, ...]) -> Tri:
    """True where every one of ``names`` is recorded, else False (two-valued)."""
    if len(c) <= SMALL:  # one patient: value by value
        rows = [all(v == v for v in values) for values in zip(*(c.number(f).tolist() for f in names), strict=True)]
        return from_rows(rows, [not r for r in rows], len(rows))
    recorded = np.logical_and.reduce([~np.isnan(c.number(f)) for f in names])
    return Tri(recorded, ~recorded)


def count_at_least(c: Columns, field: str, k: int, denominator: str) -> Tri:
    """:meth:`data.columns.Columns.count_at_least`, with the contract's rule for a zero count without its
    denominator in both readings: "none found in the nerves the report studied" - evidence of absence, never
    "not done" (a positive count without the denominator stays a lower bound in the strict reading)."""
    def zero_unstudied() -> Tri:
        count, studied = c.number(field), c.number(denominator)
        if len(c) <= SMALL:  # the same, value by value (one patient: numpy's cost per call is the whole cost)
            zero = [value == 0 and denominator_value != denominator_value  # NaN: not given
                    for value, denominator_value in zip(count.tolist(), studied.tolist(), strict=True)]
            return from_rows(zero, [not z for z in zero], len(zero))
        zero = (count == 0) & np.isnan(studied)
        return Tri(zero, ~zero)

    result = c.count_at_least(field, k, denominator)
    return result.false_where(c.cached(_key("zero-unstudied", field, denominator), zero_unstudied))


def stated(c: Columns, field: str, yes: tuple[str, ...], no: tuple[str, ...]) -> Tri:
    """A category statement: True for ``yes`` values, False for ``no`` values, Unknown otherwise."""
    return decided_by(category_in(c, field, yes), category_in(c, field, no))


def category_in(c: Columns, field: str, values: tuple[str, ...]) -> Tri:
    """:meth:`data.columns.Columns.isin`, read once per read of the columns: several elements read the same
    statement (``motor_ncs_pattern`` normal or axonal ~20 times), and it does not depend on the reading."""
    return c.cached(_key("isin", field, values), lambda: c.isin(field, values))


@cache
def _key(*parts: object) -> str:
    """The cache key of a read of the columns (:meth:`data.columns.Columns.cached`), made once per argument
    tuple: formatting it on every call would cost about what the cache saves for one patient."""
    return ":".join(map(str, parts))


def block_stated(c: Columns) -> Tri:
    """A motor conduction block stated (any count, no grade); ``none`` = studied, none found."""
    return stated(c, "motor_conduction_block", BLOCK_STATED, ("none",))


def block_nerves_at_least(c: Columns, k: int) -> Tri:
    """An ungraded block stated in at least ``k`` nerves: ``multiple`` >= 2, ``single`` exactly 1, ``present``
    >= 1 (count unknown), ``none`` 0."""
    at_least_k = BLOCK_STATED if k <= 1 else ("multiple",)
    fewer = ("none",) if k <= 1 else ("none", "single")
    return stated(c, "motor_conduction_block", at_least_k, fewer)


def demyelinating_pattern(c: Columns) -> Tri:
    """Motor conduction summarised as demyelinating (or mixed); normal or axonal say it is not."""
    return stated(c, "motor_ncs_pattern", PATTERN_DEMYELINATING, PATTERN_NOT_DEMYELINATING)


def no_weakness(c: Columns) -> Tri:
    """``weakness_symmetry: no_weakness``: normal strength in every limb."""
    return category_in(c, "weakness_symmetry", ("no_weakness",))


def no_weakness_stated(c: Columns) -> np.ndarray:
    """:func:`no_weakness` as a mask (True where stated)."""
    return no_weakness(c).true


def weak_pair_stated(c: Columns, kind: str) -> np.ndarray:
    """How many arms (``kind="arm"``) or legs are weak as stated, NaN where not stated (0 with no weakness).
    Read once per read of the columns: callers must not write into it."""

    def compute() -> np.ndarray:
        table = _count_table(f"weak_{kind}s")
        if len(c) <= SMALL:  # the same, value by value (one patient: numpy's cost per call is the whole cost)
            counts = [table.item(code) for code in c.codes(f"weak_{kind}s").tolist()]
            none_stated = row_truths(no_weakness(c))[0]
            return np.array([0.0 if none and x != x else x for x, none in zip(counts, none_stated, strict=True)])
        count = table[c.codes(f"weak_{kind}s")]
        return np.where(no_weakness_stated(c) & np.isnan(count), 0.0, count)

    return c.cached(_key("weak-pair-stated", kind), compute)


@cache
def _count_table(field: str) -> np.ndarray:
    """:data:`COUNT_WORDS` by category code of ``field`` (NaN for another value), then NaN, read by the null code -1:
    the stated counts of every patient in one look-up."""
    values = fields()[field].values or ()
    unknown = [word for word in COUNT_WORDS if word not in values]
    if unknown:
        raise ValueError(f"{field}: {unknown} are not contract values {list(values)}")
    table = np.array([COUNT_WORDS.get(value, np.nan) for value in values] + [np.nan])
    table.flags.writeable = False
    return table


def stated_weak_limbs(c: Columns) -> np.ndarray:
    """Arms plus legs stated weak, 0 where a pair is not stated (:func:`weak_pair_stated`); read once per read of
    the columns (several elements count stated weak limbs). Callers must not write into it."""
    def compute() -> np.ndarray:
        arms, legs = weak_pair_stated(c, "arm"), weak_pair_stated(c, "leg")
        if len(c) <= SMALL:  # the same, value by value
            return np.array([(0.0 if a != a else a) + (0.0 if b != b else b)
                             for a, b in zip(arms.tolist(), legs.tolist(), strict=True)])
        # np.where, not np.nan_to_num: the same on counts (never infinite) at a fifth of the cost per call
        return np.where(np.isnan(arms), 0.0, arms) + np.where(np.isnan(legs), 0.0, legs)

    return c.cached("stated-weak-limbs", compute)


def reflexes_stated(c: Columns, kind: str, values: tuple[str, ...]) -> Tri:
    """``reflexes_arms`` / ``reflexes_legs`` in ``values``: the worst side of the pair (its other side may be
    better, so "reduced" is a statement about one limb at least)."""
    return c.isin(f"reflexes_{kind}s", values)


def ungraded_block(c: Columns, k: int) -> Tri:
    """A block stated without its grade (``motor_conduction_block``) as a graded block in ``k`` nerves: ``none``
    (and ``single`` for two nerves) refutes it in both readings; a stated block counts only in the
    chart-review reading, as a block of the guideline's lowest grade in each nerve stated (EFNS/PNS 2010
    grades a block definite or probable, nothing less; docs/criteria.md)."""
    return chart_review_only(c, block_nerves_at_least(c, k))
