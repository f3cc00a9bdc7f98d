"""Three-valued (Kleene) logic over a canonical cohort frame (criteria.md §0.1).

Every criterion element yields True, False or Unknown per patient. ``Tri`` holds that as two numpy masks
(``true``: known to hold; ``false``: known not to hold) and implements Kleene ``&``, ``|`` and ``~`` exactly as
pandas' nullable ``boolean`` dtype does (``False & NA`` is False, ``True | NA`` is True, anything else
with NA is NA; a test checks the two agree on every combination). Elements are exposed as pandas
``boolean`` Series; internally they combine ``Tri`` values because a pandas ``BooleanArray`` operation
costs ~10-15 us against ~2 us here, and one served prediction evaluates ~160 of them.

Nothing here imputes: a null field makes the comparisons on it Unknown, never False.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache, reduce
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.arrays import BooleanArray

from mmn_ddx.data.contract import fields

Reading = Literal["strict", "chart-review"]
"""How a record is read (docs/criteria.md): ``strict`` - three-valued, an unknown never counts;
``chart-review`` - as retrospective validation studies read charts: an exclusion or a supportive finding the
record does not mention is absent, and a nerve count reported without its denominator is the complete count
(a zero count: none found)."""
READINGS: tuple[Reading, ...] = ("strict", "chart-review")

_TOLERANCE = 1e-9
"""Guards ``>=`` on differences of float grades (4.6 - 3.6 = 0.9999999999999996)."""


class Tri:
    """A vector of Kleene truth values as two disjoint masks: ``true`` (known True) and ``false`` (known
    False); Unknown is neither. Stored this way because Kleene AND / OR / NOT are then two, two and zero
    mask operations, and one served prediction combines ~300 of them."""

    __slots__ = ("false", "true")

    def __init__(self, true: np.ndarray, false: np.ndarray) -> None:
        self.true = true
        self.false = false

    @classmethod
    def of(cls, true: np.ndarray, known: np.ndarray) -> Tri:
        """From a value mask and a known-mask (values outside ``known`` are ignored)."""
        return cls(true & known, known & ~true)

    @property
    def known(self) -> np.ndarray:
        return self.true | self.false

    def isna(self) -> np.ndarray:
        return ~(self.true | self.false)

    def __len__(self) -> int:
        return len(self.true)

    def __and__(self, other: Tri) -> Tri:
        return Tri(self.true & other.true, self.false | other.false)

    def __or__(self, other: Tri) -> Tri:
        return Tri(self.true | other.true, self.false & other.false)

    def __invert__(self) -> Tri:
        return Tri(self.false, self.true)

    def to_pandas(self) -> Tri:
        """The same values as a pandas nullable ``boolean`` array (NA = Unknown)."""
        return BooleanArray(self.true.copy(), self.isna())

    @classmethod
    def from_pandas(cls, values: BooleanArray) -> Tri:
        known = ~np.asarray(values.isna())
        return cls.of(values.to_numpy(dtype=bool, na_value=False), known)


def tri(values: np.ndarray, unknown: np.ndarray) -> Tri:
    """A three-valued array from plain booleans and an unknown-mask (values under the mask are ignored)."""
    known = ~np.asarray(unknown, dtype=bool)
    return Tri.of(np.asarray(values, dtype=bool), known)


def is_true(x: Tri) -> np.ndarray:
    return x.true


def all_of(*conditions: Tri) -> Tri:
    """Kleene AND of several conditions: False if any is False, True if all are True, else Unknown."""
    return reduce(lambda a, b: a & b, conditions)


def any_of(*conditions: Tri) -> Tri:
    """Kleene OR of several conditions: True if any is True, False if all are False, else Unknown."""
    return reduce(lambda a, b: a | b, conditions)


def _counts(conditions: Iterable[Tri]) -> tuple[np.ndarray, np.ndarray]:
    """Per patient, how many conditions are True and how many could be (True or Unknown)."""
    conditions = list(conditions)
    n_true = np.array([c.true for c in conditions]).sum(axis=0)
    n_possible = len(conditions) - np.array([c.false for c in conditions]).sum(axis=0)
    return n_true, n_possible


def at_least(k: int, conditions: Iterable[Tri]) -> Tri:
    """"At least k of these hold": True once k are True, False once too few can still be True."""
    n_true, n_possible = _counts(conditions)
    return Tri(n_true >= k, n_possible < k)


def exactly(k: int, conditions: Iterable[Tri]) -> Tri:
    """"Exactly k of these hold", three-valued (used for "weakness in one limb only")."""
    n_true, n_possible = _counts(conditions)
    return Tri((n_true == k) & (n_possible == k), (n_true > k) | (n_possible < k))


def true_or_unknown(x: Tri) -> Tri:
    """True where ``x`` is True, Unknown elsewhere: a finding that can establish but never refute."""
    return Tri(x.true, np.zeros_like(x.true))


class Columns:
    """Read-only, cached numpy views of the canonical frame's columns, with three-valued comparisons.

    Built once per evaluation so each field is extracted from pandas only once. ``cached`` memoises
    derived helpers (criteria.md §0.2) that several elements share.
    """

    reading: Reading = "strict"

    def __init__(self, frame: pd.DataFrame) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
        self.frame: pd.DataFrame | None = frame
        self.index = frame.index
        self._arrays: dict[str, Any] = {}
        self._numbers: dict[str, np.ndarray] = {}
        self._cache: dict[str, Any] = {}

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]]) -> Columns:
        """The same columns read from *validated* record dicts (``PatientRecord.to_dict()``): the
        per-patient serving path, where building a one-row canonical frame costs more than every element."""
        return RecordColumns(records)

    def __len__(self) -> int:
        return len(self.index)

    def with_reading(self, reading: Reading) -> Columns:
        """The same columns read another way. The copy shares the extracted arrays and the cache, so a second
        reading costs only its elements: nothing cached may depend on the reading (``count_at_least``, the
        one reading-dependent read, is never cached)."""
        if reading not in READINGS:
            raise ValueError(f"reading: {reading!r} is not one of {list(READINGS)}")
        other = copy.copy(self)
        other.reading = reading
        return other

    def _count_reads(self) -> list[int]:
        """How many reading-dependent reads (``count_at_least``) these columns have served, shared by every
        reading: a computation that made none gives the same result under every reading."""
        return self._cache.setdefault("count_reads", [0])

    def same_in_every_reading(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, remembered for every reading of these columns when it read no count (the only
        reading-dependent read): a second reading then costs only what depends on it."""
        if key in self._cache:
            return self._cache[key]
        counter = self._count_reads()
        before = counter[0]
        result = compute()
        if counter[0] == before:
            self._cache[key] = result
        return result

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def array(self, field: str) -> Any:
        """The column's pandas array, extracted from the frame once (``frame[field]`` is slow)."""
        if field not in self._arrays:
            self._arrays[field] = self.frame[field].array
        return self._arrays[field]

    def is_null(self, field: str) -> np.ndarray:
        return self.cached(f"null:{field}", lambda: np.asarray(self.array(field).isna()))

    def codes(self, field: str) -> np.ndarray:
        """A category field as codes of the contract values (in contract order), -1 for null."""
        return self.cached(f"codes:{field}", lambda: np.asarray(self.array(field).codes))

    # --- numeric (float and Int64 fields) ---------------------------------------------------------------
    def number(self, field: str) -> np.ndarray:
        """The field as float64 with NaN for null (Int64 counts included)."""
        if field not in self._numbers:
            self._numbers[field] = self.array(field).to_numpy(dtype="float64", na_value=np.nan)
        return self._numbers[field]

    def compare(self, values: np.ndarray, op: str, threshold: float) -> Tri:
        if op == ">":
            result = values > threshold
        elif op == ">=":
            result = values >= threshold - _TOLERANCE
        elif op == "<":
            result = values < threshold
        elif op == "<=":
            result = values <= threshold + _TOLERANCE
        elif op == "==":
            result = np.abs(values - threshold) <= _TOLERANCE
        else:
            raise ValueError(f"unknown comparison {op!r}")
        # every comparison with NaN is False (no warning), so ``result`` is already the known-True mask
        # and known-False is known XOR result: three array operations instead of six per comparison
        return Tri(result, (values == values) ^ result)

    def num(self, field: str, op: str, threshold: float) -> Tri:
        """Three-valued ``field <op> threshold``; Unknown where the field is null."""
        return self.compare(self.number(field), op, threshold)

    def count_at_least(self, field: str, k: int, denominator: str) -> Tri:
        """"At least k nerves/regions show this", reading a count field (criteria.md §0.1).

        A count of at least k is evidence whatever the denominator says. A smaller count only refutes
        the element when the denominator (``motor_nerves_studied`` / ``sensory_nerves_studied``) is known
        and > 0: a zero count with no nerves studied means "not examined", not "normal".

        Strict reading: a count without its denominator is a lower bound ("at least this many of the
        nerves the report names"), so it never refutes. Chart-review reading: it is the complete count, as
        a chart reviewer reads "no conduction block was found" (docs/criteria.md, "zero counts").
        """
        self._count_reads()[0] += 1
        count = self.number(field)
        studied = self.number(denominator)
        met = count >= k
        counted = (studied > 0) if self.reading == "strict" else ~(studied == 0)
        refuted = (count < k) & counted  # NaN compares False: a null count refutes nothing in either reading
        return Tri(met, refuted)

    # --- booleans and categories ------------------------------------------------------------------------
    def flag(self, field: str) -> Tri:
        """A ``boolean`` field as-is (already three-valued)."""
        return self.cached(f"flag:{field}", lambda: Tri.from_pandas(self.array(field)))

    def isin(self, field: str, values: Iterable[str]) -> Tri:
        """Three-valued ``field in values`` for a category field; a value outside the contract is a bug."""
        codes = self.codes(field)
        first, *others = _category_codes(field, tuple(values))
        hits = codes == first  # never at a null (code -1)
        for code in others:
            hits |= codes == code
        return Tri(hits, (codes != -1) ^ hits)


class RecordColumns(Columns):
    """:class:`Columns` over validated record dicts: plain values, ``None`` (or a missing key) = null.

    Same arrays as for the canonical frame of the same records (a test holds every element equal on
    both), without pandas: for one patient the whole criteria evaluation takes about a third of the time.
    """

    def __init__(self, records: Sequence[Mapping[str, Any]]) -> None:
        if isinstance(records, (Mapping, pd.DataFrame)):
            raise TypeError(f"expected a list of record dicts, got {type(records).__name__}")
        self.frame = None
        self.records = records
        self.index = pd.RangeIndex(len(records))
        self._numbers = {}
        self._cache = {}

    def _values(self, field: str) -> list[Any]:
        return [record.get(field) for record in self.records]

    def array(self, field: str) -> Any:
        raise TypeError("record columns have no pandas arrays; use number / flag / codes / is_null")

    def is_null(self, field: str) -> np.ndarray:
        return self.cached(f"null:{field}", lambda: np.array([v is None for v in self._values(field)], dtype=bool))

    def number(self, field: str) -> np.ndarray:
        if field not in self._numbers:
            self._numbers[field] = np.array(self._values(field), dtype=np.float64)  # None -> NaN
        return self._numbers[field]

    def flag(self, field: str) -> Tri:
        def read() -> Tri:
            values = self._values(field)
            return Tri(np.array([v is not None and bool(v) for v in values], dtype=bool),
                       np.array([v is not None and not v for v in values], dtype=bool))
        return self.cached(f"flag:{field}", read)

    def codes(self, field: str) -> np.ndarray:
        def read() -> np.ndarray:
            lookup = _category_lookup(field)
            try:
                return np.array([-1 if v is None else lookup[v] for v in self._values(field)], dtype=np.int64)
            except KeyError:
                raise ValueError(f"{field}: a value is not one of the contract values {list(lookup)}") from None
        return self.cached(f"codes:{field}", read)


@cache
def _category_lookup(field: str) -> dict[str, int]:
    return {value: code for code, value in enumerate(fields()[field].values or ())}


@cache
def _category_codes(field: str, values: tuple[str, ...]) -> list[int]:
    """Codes of contract values in the canonical categorical dtype (categories = contract values, in order)."""
    allowed = fields()[field].values or ()
    unknown_values = [v for v in values if v not in allowed]
    if unknown_values:
        raise ValueError(f"{field}: {unknown_values} are not contract values {list(allowed)}")
    return [allowed.index(v) for v in values]
