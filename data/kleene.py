"""Three-valued (Kleene) logic over patient arrays: the one logic of "null means not examined".

A finding or criterion element is True, False or Unknown per patient (criteria.md §0.1). :class:`Tri` holds
that as two disjoint masks (``true``: known to hold; ``false``: known not to hold) and implements
Kleene ``&``, ``|`` and ``~`` exactly as pandas' nullable ``boolean`` dtype does (``False & NA`` is False,
``True | NA`` is True, anything else with NA is NA; a test checks the two agree on every combination).
Masks rather than pandas ``BooleanArray``: one operation costs ~2 us instead of ~10-15 us, and one served
prediction combines ~300 of them. The features' float encoding (1.0 / 0.0 / NaN) converts both ways.

A few rows (at most :data:`SMALL`: one served patient is two rows, one per reading) are held as Python ints
instead, one byte per row (row ``i`` is bit ``8 * i``): numpy spends ~0.3-1 us on any call whatever the
length, an int operation ~20 ns, and one patient's criteria make ~1 000 of them. The representation is
internal: ``true`` / ``false`` are numpy masks either way (read-only for a few rows), every operation has the
same result (a test holds the two equal), and a mask built with numpy converts on construction.

Nothing here imputes: Unknown never becomes False.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import reduce
from typing import Any

import numpy as np
from pandas.arrays import BooleanArray

SMALL = 8
"""Tri of at most this many rows hold their masks as ints (one byte per row); more rows stay numpy masks."""
_ONES = [int.from_bytes(b"\x01" * n, "little") for n in range(SMALL + 1)]
"""Per number of rows, the mask with every row set."""
_MASKS: list[dict[int, np.ndarray]] = [{} for _ in range(SMALL + 1)]
"""Per number of rows, each int mask met so far as its read-only numpy mask (at most 2**SMALL per length)."""
_BOOL = np.dtype(bool)
_NAN = float("nan")
_new = object.__new__


def _array(bits: int, n: int) -> np.ndarray:
    """The numpy mask of an int mask of ``n`` rows (shared and read-only: made once per value)."""
    array = _MASKS[n].get(bits)
    if array is None:
        array = _MASKS[n].setdefault(bits, np.frombuffer(bits.to_bytes(n, "little"), dtype=bool))
    return array


def _bits(mask: np.ndarray) -> int:
    """A numpy mask of at most :data:`SMALL` rows as an int mask."""
    if mask.dtype is not _BOOL:
        mask = mask.astype(bool)
    return int.from_bytes(mask.tobytes(), "little")


def small(true: int, false: int, n: int) -> Tri:
    """A :class:`Tri` of ``n <= SMALL`` rows from int masks (row ``i`` is bit ``8 * i``; disjoint, as arrays)."""
    out = _new(Tri)
    out._t, out._f, out._n = true, false, n
    return out


def ones(n: int) -> int:
    """The int mask of ``n <= SMALL`` rows with every row set."""
    return _ONES[n]


class Tri:
    """A vector of Kleene truth values as two disjoint masks: ``true`` (known True) and ``false`` (known
    False); Unknown is neither. Kleene AND / OR / NOT are then two, two and zero mask operations."""

    __slots__ = ("_f", "_n", "_t")
    _t: Any
    _f: Any
    """The masks: numpy arrays, or for at most :data:`SMALL` rows ints (:func:`small`)."""
    _n: int

    def __init__(self, true: np.ndarray, false: np.ndarray) -> None:
        n = len(true)
        if n <= SMALL and true.ndim == 1 and false.shape == true.shape:
            self._t, self._f = _bits(true), _bits(false)
        else:
            self._t, self._f = true, false
        self._n = n

    @property
    def true(self) -> np.ndarray:
        """Known True (for a few rows a shared read-only array: do not write into it)."""
        t = self._t
        return _array(t, self._n) if type(t) is int else t

    @property
    def false(self) -> np.ndarray:
        """Known False (for a few rows a shared read-only array: do not write into it)."""
        f = self._f
        return _array(f, self._n) if type(f) is int else f

    @classmethod
    def of(cls, true: np.ndarray, known: np.ndarray) -> Tri:
        """From a value mask and a known-mask (values outside ``known`` are ignored)."""
        return cls(true & known, known & ~true)

    @property
    def known(self) -> np.ndarray:
        t = self._t
        if type(t) is int:
            return _array(t | self._f, self._n)
        return t | self._f

    def isna(self) -> np.ndarray:
        t = self._t
        if type(t) is int:
            return _array(_ONES[self._n] ^ (t | self._f), self._n)
        return ~(t | self._f)

    def __len__(self) -> int:
        return self._n

    def __and__(self, other: Tri) -> Tri:
        t, o = self._t, other._t
        if type(t) is int and type(o) is int:  # small() inlined: the criteria make ~120 per patient
            out = _new(Tri)
            out._t, out._f, out._n = t & o, self._f | other._f, self._n
            return out
        return Tri(self.true & other.true, self.false | other.false)

    def __or__(self, other: Tri) -> Tri:
        t, o = self._t, other._t
        if type(t) is int and type(o) is int:
            out = _new(Tri)
            out._t, out._f, out._n = t | o, self._f & other._f, self._n
            return out
        return Tri(self.true | other.true, self.false & other.false)

    def __invert__(self) -> Tri:
        if type(self._t) is int:  # small() inlined, as in & and |
            out = _new(Tri)
            out._t, out._f, out._n = self._f, self._t, self._n
            return out
        return Tri(self._f, self._t)

    def otherwise(self, other: Tri) -> Tri:
        """These values where known, ``other``'s where Unknown."""
        t, f, ot, of = self._t, self._f, other._t, other._f
        if type(t) is int and type(ot) is int:
            unknown = _ONES[self._n] ^ (t | f)
            out = _new(Tri)
            out._t, out._f, out._n = t | (unknown & ot), f | (unknown & of & ~ot), self._n
            return out
        t, f, ot, of = self.true, self.false, other.true, other.false
        unknown = ~(t | f)
        return Tri(t | (unknown & ot), f | (unknown & of & ~ot))

    def unknown_as(self, value: bool) -> Tri:
        """Two-valued: Unknown read as ``value`` (True: not known False; False: known True)."""
        if type(self._t) is int:
            if value:
                return small(_ONES[self._n] ^ self._f, self._f, self._n)
            return small(self._t, _ONES[self._n] ^ self._t, self._n)
        if value:
            return Tri(~self._f, self._f)
        return Tri(self._t, ~self._t)

    def false_where(self, where: Tri) -> Tri:
        """These values, and False also where ``where`` is True."""
        if type(self._t) is int and type(where._t) is int:
            out = _new(Tri)
            out._t, out._f, out._n = self._t, self._f | where._t, self._n
            return out
        return Tri(self.true, self.false | where.true)

    def rows(self, start: int, stop: int) -> Tri:
        """Rows ``start`` to ``stop`` (exclusive)."""
        if type(self._t) is int:
            mask = _ONES[stop - start]
            shift = 8 * start
            return small((self._t >> shift) & mask, (self._f >> shift) & mask, stop - start)
        return Tri(self._t[start:stop], self._f[start:stop])

    def to_pandas(self) -> BooleanArray:
        """The same values as a pandas nullable ``boolean`` array (NA = Unknown)."""
        return BooleanArray(self.true.copy(), self.isna().copy())

    @classmethod
    def from_pandas(cls, values: BooleanArray) -> Tri:
        known = ~np.asarray(values.isna())
        return cls.of(values.to_numpy(dtype=bool, na_value=False), known)

    def to_float(self) -> np.ndarray:
        """1.0 (True), 0.0 (False), NaN (Unknown): the encoding of the clinical features."""
        t = self._t
        if type(t) is int:  # a few rows: byte by byte, one array call
            n = self._n
            return np.array([1.0 if is_true else 0.0 if is_false else _NAN
                             for is_true, is_false in zip(t.to_bytes(n, "little"), self._f.to_bytes(n, "little"),
                                                          strict=True)], dtype=np.float64)
        return np.where(self.true, 1.0, np.where(self.false, 0.0, np.nan))

    @classmethod
    def from_float(cls, values: np.ndarray) -> Tri:
        """From the features' encoding: 1.0 True, 0.0 False, NaN Unknown (a boolean field reads so too)."""
        n = len(values)
        if n <= SMALL and values.ndim == 1:
            t = f = 0
            bit = 1
            for value in values.tolist():
                if value == 1.0:
                    t |= bit
                elif value == 0.0:
                    f |= bit
                bit <<= 8
            return small(t, f, n)
        return cls(values == 1.0, values == 0.0)


def decided_by(true: Tri, false: Tri) -> Tri:
    """True where ``true`` is True, False where ``false`` is True (the two never both), else Unknown."""
    if type(true._t) is int and type(false._t) is int:
        return small(true._t, false._t, true._n)
    return Tri(true.true, false.true)


def tri(values: np.ndarray, unknown: np.ndarray) -> Tri:
    """A three-valued array from plain booleans and an unknown-mask (values under the mask are ignored)."""
    known = ~np.asarray(unknown, dtype=bool)
    return Tri.of(np.asarray(values, dtype=bool), known)


def is_true(x: Tri) -> np.ndarray:
    return x.true


def all_of(*conditions: Tri) -> Tri:
    """Kleene AND of several conditions: False if any is False, True if all are True, else Unknown."""
    first = conditions[0]
    if type(first._t) is int and all(type(c._t) is int for c in conditions):  # & of every pair at once
        t, f = first._t, first._f
        for c in conditions[1:]:
            t &= c._t
            f |= c._f
        return small(t, f, first._n)
    return reduce(lambda a, b: a & b, conditions)


def any_of(*conditions: Tri) -> Tri:
    """Kleene OR of several conditions: True if any is True, False if all are False, else Unknown."""
    first = conditions[0]
    if type(first._t) is int and all(type(c._t) is int for c in conditions):  # | of every pair at once
        t, f = first._t, first._f
        for c in conditions[1:]:
            t |= c._t
            f &= c._f
        return small(t, f, first._n)
    return reduce(lambda a, b: a | b, conditions)


def first_true(conditions: Sequence[Tri]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the position of the first condition that is True (-1 where none is), and whether any
    condition is Unknown."""
    n = len(conditions[0])
    if all(type(c._t) is int for c in conditions):  # a few rows: int masks, row by row only where one is found
        ones = _ONES[n]
        found = unknown = 0
        positions = [-1] * n
        for j, c in enumerate(conditions):
            newly = c._t & ~found
            if newly:
                found |= newly
                for i in range(n):
                    if newly >> (8 * i) & 1:
                        positions[i] = j
            unknown |= ones ^ (c._t | c._f)
        return np.array(positions, dtype=np.intp), _array(unknown, n)
    first = np.full(n, -1, dtype=np.intp)
    seen = np.zeros(n, dtype=bool)
    any_unknown = np.zeros(n, dtype=bool)
    for j, c in enumerate(conditions):
        new = c.true & ~seen
        first[new] = j
        seen |= new
        any_unknown |= c.isna()
    return first, any_unknown


def truth_codes(conditions: Sequence[Tri]) -> np.ndarray:
    """Several conditions as one (conditions, rows) ``uint8`` matrix: 0 False, 1 True, 2 Unknown. For a few rows
    one int per condition, ``2 - true - 2 * false`` byte by byte (at most 2 a byte: no borrow between rows)."""
    n = len(conditions[0])
    if all(type(c._t) is int for c in conditions):
        twos = _ONES[n] << 1
        joined = b"".join([(twos - c._t - (c._f << 1)).to_bytes(n, "little") for c in conditions])
        return np.frombuffer(joined, dtype=np.uint8).reshape(len(conditions), n)
    true, false = masks(conditions)
    return 2 - true.astype(np.uint8) - 2 * false.astype(np.uint8)


def masks(conditions: Sequence[Tri]) -> tuple[np.ndarray, np.ndarray]:
    """The ``true`` and the ``false`` masks of several conditions as two (conditions, rows) matrices."""
    n = len(conditions[0])
    if all(type(c._t) is int for c in conditions):
        true = b"".join([c._t.to_bytes(n, "little") for c in conditions])
        false = b"".join([c._f.to_bytes(n, "little") for c in conditions])
        shape = (len(conditions), n)
        return np.frombuffer(true, dtype=bool).reshape(shape), np.frombuffer(false, dtype=bool).reshape(shape)
    return np.array([c.true for c in conditions]), np.array([c.false for c in conditions])


def _counts(conditions: Iterable[Tri]) -> tuple[Any, Any]:
    """Per patient, how many conditions are True and how many could be (True or Unknown): numpy arrays, or for
    a few rows lists (one sum of the int masks counts every row at once: a row is one byte, and fewer than
    256 conditions never carry into the next)."""
    conditions = list(conditions)
    n = len(conditions[0])
    if all(type(c._t) is int for c in conditions):
        n_true = list(sum(c._t for c in conditions).to_bytes(n, "little"))
        n_false = sum(c._f for c in conditions).to_bytes(n, "little")
        return n_true, [len(conditions) - f for f in n_false]
    true, false = masks(conditions)
    return true.sum(axis=0), len(conditions) - false.sum(axis=0)


def from_rows(true: Iterable[bool], false: Iterable[bool], n: int) -> Tri:
    """A :class:`Tri` of ``n <= SMALL`` rows from per-row truths (:func:`small`; ``true`` wins where both)."""
    t = f = 0
    bit = 1
    for is_true, is_false in zip(true, false, strict=True):
        if is_true:
            t |= bit
        elif is_false:
            f |= bit
        bit <<= 8
    return small(t, f, n)


def _at_least_rows(lower: Sequence[float], upper: Sequence[float], k: float) -> Tri:
    """Per row, True where ``lower >= k``, else False where ``upper < k`` (a count within bounds against k), for a
    few rows: :func:`from_rows` written out, as its generator arguments cost three times the comparisons."""
    t = f = 0
    bit = 1
    for lo, hi in zip(lower, upper, strict=True):
        if lo >= k:
            t |= bit
        elif hi < k:
            f |= bit
        bit <<= 8
    return small(t, f, len(lower))


def _exactly_rows(lower: Sequence[float], upper: Sequence[float], k: float) -> Tri:
    """Per row, True where both bounds are ``k``, else False where ``k`` is outside them."""
    t = f = 0
    bit = 1
    for lo, hi in zip(lower, upper, strict=True):
        if lo == k and hi == k:
            t |= bit
        elif lo > k or hi < k:
            f |= bit
        bit <<= 8
    return small(t, f, len(lower))


def at_least(k: int, conditions: Iterable[Tri]) -> Tri:
    """"At least k of these hold": True once k are True, False once too few can still be True."""
    n_true, n_possible = _counts(conditions)
    if type(n_true) is list:
        return _at_least_rows(n_true, n_possible, k)
    return Tri(n_true >= k, n_possible < k)


def exactly(k: int, conditions: Iterable[Tri]) -> Tri:
    """"Exactly k of these hold", three-valued (used for "weakness in one limb only")."""
    n_true, n_possible = _counts(conditions)
    if type(n_true) is list:
        return _exactly_rows(n_true, n_possible, k)
    return Tri((n_true == k) & (n_possible == k), (n_true > k) | (n_possible < k))


def true_or_unknown(x: Tri) -> Tri:
    """True where ``x`` is True, Unknown elsewhere: a finding that can establish but never refute."""
    if type(x._t) is int:
        return small(x._t, 0, x._n)
    return Tri(x.true, np.zeros_like(x.true))


def row_truths(x: Tri) -> tuple[bytes, bytes]:
    """Per row of a :class:`Tri` of ``n <= SMALL`` rows, 1 where known True and 1 where known False (two byte
    strings; iterating gives ints): the values a row-by-row computation reads without a numpy call."""
    t, f = x._t, x._f
    if type(t) is not int:
        raise ValueError(f"row_truths reads a Tri of at most {SMALL} rows, got {x._n}")
    return t.to_bytes(x._n, "little"), f.to_bytes(x._n, "little")


class Bounds:
    """A count per patient known only within bounds, ``lower <= count <= upper`` (e.g. the weak limbs when some
    grades are null): comparing it with a number is three-valued. The bounds are float arrays, or for at most
    :data:`SMALL` rows tuples of Python floats - the same IEEE arithmetic value by value, as numpy's cost per
    call exceeds a few rows' whole computation (a test holds the two paths equal)."""

    __slots__ = ("lower", "upper")

    def __init__(self, lower: Any, upper: Any) -> None:
        self.lower, self.upper = lower, upper

    @classmethod
    def of(cls, conditions: Sequence[Tri]) -> Bounds:
        """How many of ``conditions`` hold: at least the known True, at most those not known False."""
        if all(type(c._t) is int for c in conditions):
            n_true, n_possible = _counts(conditions)
            return cls(tuple(map(float, n_true)), tuple(map(float, n_possible)))
        true, false = masks(conditions)
        return cls(true.sum(axis=0, dtype=np.float64), len(conditions) - false.sum(axis=0, dtype=np.float64))

    def stated(self, count: np.ndarray) -> Bounds:
        """Narrowed to a count stated in words (NaN where not stated) without contradicting the bounds' lower
        end: the count where it fits, else the lower bound (what is known to hold stays)."""
        if type(self.lower) is tuple:
            pairs = [(lo, max(lo, hi)) if w != w else (max(lo, w), max(max(lo, w), min(hi, w)))
                     for lo, hi, w in zip(self.lower, self.upper, count.tolist(), strict=True)]
            return Bounds(tuple(lo for lo, _ in pairs), tuple(hi for _, hi in pairs))
        lower = np.fmax(self.lower, count)
        return Bounds(lower, np.fmax(lower, np.fmin(self.upper, count)))

    def __add__(self, other: Bounds) -> Bounds:
        if type(self.lower) is tuple:
            return Bounds(tuple(a + b for a, b in zip(self.lower, other.lower, strict=True)),
                          tuple(a + b for a, b in zip(self.upper, other.upper, strict=True)))
        return Bounds(self.lower + other.lower, self.upper + other.upper)

    def at_least(self, k: float) -> Tri:
        """``count >= k``: True once the lower bound reaches k, False while even the upper bound is below."""
        if type(self.lower) is tuple:
            return _at_least_rows(self.lower, self.upper, k)
        return Tri(self.lower >= k, self.upper < k)

    def exactly(self, k: float) -> Tri:
        """``count == k``: True when both bounds are k, False when k is outside them."""
        if type(self.lower) is tuple:
            return _exactly_rows(self.lower, self.upper, k)
        return Tri((self.lower == k) & (self.upper == k), (self.lower > k) | (self.upper < k))
