"""The one columnar form of patient data: numpy arrays per contract field, read once per prediction.

Every consumer of a prediction - the clinical features, the rule-based criteria, the out-of-distribution
check (through the features), the warnings' null masks and the next-test search - works on one :class:`Columns`,
read by :mod:`data.column_readers` (``read_frame`` for a cohort DataFrame, ``read_records`` for record dicts):

* numbers and booleans are float64 with NaN for null (a boolean is 1.0 / 0.0), categories are int64
  codes in dictionary order with ``NULL_CODE`` (-1) for null. Nothing is imputed.
* An absent optional field reads as all null (a sparse record); the identifier is never read.

Three-valued reads (:meth:`Columns.num`, :meth:`Columns.flag`, :meth:`Columns.isin`, ...) return
:class:`data.kleene.Tri` for the criteria; the features read the arrays directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd

from mmn_ddx.data._column_checks import NULL_CODE, ColumnsError, null_array
from mmn_ddx.data.contract import FIELD_NAMES, LABEL, FieldSpec, fields
from mmn_ddx.data.kleene import SMALL, Tri, ones, small

__all__ = ["NULL_CODE", "Columns", "ColumnsError", "compare", "compare_value"]

ACCEPTED_COLUMNS = frozenset(FIELD_NAMES) | {LABEL}
"""Columns an input may have: the contract fields and the label (ignored)."""
TOLERANCE = 1e-9
"""Guards ``>=`` on differences of float grades (4.6 - 3.6 = 0.9999999999999996)."""

T = TypeVar("T")
_MISSING = object()
"""Marks a key absent from :meth:`Columns.cached`'s cache (a cached value may be None)."""

Reading = Literal["strict", "chart-review"]
"""How a record is read (docs/criteria.md): ``strict`` - three-valued, an unknown never counts;
``chart-review`` - as retrospective validation studies read charts: an exclusion or a supportive finding the
record does not mention is absent, and a nerve count reported without its denominator is the complete count
(a zero count: none found)."""
READINGS: tuple[Reading, ...] = ("strict", "chart-review")


class Columns:
    """Contract fields of ``n`` patients as numpy arrays, with three-valued reads and a per-read cache."""

    __slots__ = ("_cache", "_chart_review_bits_value", "_chart_review_rows", "_index", "_reads", "arrays", "n",
                 "reading")

    def __init__(self, arrays: Mapping[str, np.ndarray], index: pd.Index | None = None, n: int | None = None,
                 reading: Reading = "strict") -> None:
        self.arrays = arrays
        self.n = n if n is not None else len(next(iter(arrays.values()))) if arrays else 0
        self._index = index
        self.reading: Reading = reading
        self._cache: dict[Any, Any] = {}
        self._reads = [0]
        """How many reading-dependent reads (``count_at_least``) these columns have served, shared by every
        reading (as the cache is): a computation that made none gives the same result under every reading."""
        self._chart_review_rows: np.ndarray | None = None
        """Set by :meth:`stacked_readings` only: per row, whether it is read the chart-review way."""
        self._chart_review_bits_value: int | None = None
        """The same as an int mask (:func:`data.kleene.small`), made when first needed."""

    def with_reading(self, reading: Reading) -> Columns:
        """The same columns read another way. The copy shares the arrays and the cache, so a second
        reading costs only its elements: nothing cached may depend on the reading (``count_at_least``, the
        one reading-dependent read, caches under its reading's name)."""
        if reading not in READINGS:
            raise ValueError(f"reading: {reading!r} is not one of {list(READINGS)}")
        other = Columns(self.arrays, self._index, self.n, reading)
        other._cache, other._reads = self._cache, self._reads
        return other

    def stacked_readings(self, readings: Sequence[Reading]) -> Columns:
        """These patients once per reading, block after block (block ``k``, rows ``k*n`` to ``(k+1)*n``, read
        the ``k``-th way), so every reading is evaluated in one pass. For one patient numpy's cost per call,
        not the number of rows, is what an evaluation costs: two readings in one pass cost about one.
        One patient's fields are stacked at once, others' when first read; the copy has its own cache (its rows
        differ)."""
        unknown = [r for r in readings if r not in READINGS]
        if unknown or not readings:
            raise ValueError(f"readings: {list(readings)!r} must be some of {list(READINGS)}")
        times = len(readings)
        arrays = _stack_one(self.arrays, times) if self.n == 1 else _Stacked(self.arrays, times)
        stacked = Columns(arrays, n=self.n * times, reading=readings[0])
        # a method call on an array, not np.repeat of the list (which converts it first: ~4 us on one patient)
        chart_review = np.array([r == "chart-review" for r in readings], dtype=bool)
        stacked._chart_review_rows = chart_review if self.n == 1 else chart_review.repeat(self.n)
        return stacked

    def by_reading(self, strict: Tri, chart_review: Tri) -> Tri:
        """``strict`` where a row is read strictly, ``chart_review`` where it is read the chart-review way."""
        if self._chart_review_rows is None:
            return strict if self.reading == "strict" else chart_review
        if type(strict._t) is int and type(chart_review._t) is int:  # a few rows (data.kleene.small)
            rows = self._chart_review_bits()
            return small((chart_review._t & rows) | (strict._t & ~rows), (chart_review._f & rows) | (strict._f & ~rows),
                         self.n)
        return Tri(self._by_reading(strict.true, chart_review.true), self._by_reading(strict.false, chart_review.false))

    def unknown_in_chart_review(self, result: Tri, value: bool) -> Tri:
        """``result``, with its Unknown read as ``value`` where a row is read the chart-review way: what
        :meth:`by_reading` of ``result`` and ``result.unknown_as(value)`` gives, without making the second (one
        patient's criteria ask this of about half their elements, most of them known in every row)."""
        t, f = result._t, result._f
        if type(t) is not int:
            return self.by_reading(result, result.unknown_as(value))
        n = result._n
        fill = (ones(n) ^ (t | f)) & self._chart_review_bits()  # Unknown rows read the chart-review way
        if not fill:
            return result
        return small(t | fill, f, n) if value else small(t, f | fill, n)

    def reading_dependent(self, strict: Tri, chart_review: Tri) -> Tri:
        """:meth:`by_reading` inside a computation whose result depends on the reading: counted like
        ``count_at_least``, so never shared between readings (the Tri form of :meth:`chart_review_rows`)."""
        self._reads[0] += 1
        return self.by_reading(strict, chart_review)

    def _chart_review_bits(self) -> int:
        """:meth:`chart_review_rows` as an int mask (:func:`data.kleene.small`), for a few rows; not counted."""
        rows = self._chart_review_rows
        if rows is None:
            return ones(self.n) if self.reading == "chart-review" else 0
        bits = self._chart_review_bits_value
        if bits is None:
            bits = self._chart_review_bits_value = int.from_bytes(rows.tobytes(), "little")
        return bits

    def _by_reading(self, strict: np.ndarray, chart_review: np.ndarray) -> np.ndarray:
        rows = self._chart_review_rows
        if rows is None:
            return strict if self.reading == "strict" else chart_review
        return np.where(rows, chart_review, strict)

    @property
    def index(self) -> pd.Index:
        """The patients' index (a frame's own, else positions), made when first asked for: one patient's
        prediction never needs it."""
        if self._index is None:
            self._index = pd.RangeIndex(self.n)
        return self._index

    def same_in_every_reading(self, key: str, compute: Callable[[Columns], T]) -> T:
        """``compute(self)``, remembered for every reading of these columns when it read no count (the only
        reading-dependent read): a second reading then costs only what depends on it. A result that read a
        count is remembered for this reading only, and reading it again counts as a reading-dependent read
        (so a computation built on it is never shared either)."""
        cache = self._cache
        result = cache.get(key)
        if result is not None:
            return result
        own = (key, self.reading, self._chart_review_rows is None)
        counter = self._reads
        if own in cache:
            counter[0] += 1
            return cache[own]
        before = counter[0]
        result = compute(self)
        cache[key if counter[0] == before else own] = result
        return result

    def depends_on_reading(self) -> Reading:
        """The reading, for a computation whose result depends on it: counted like ``count_at_least``, so
        never shared. Columns stacked over several readings have no one reading: use :meth:`chart_review_rows`
        (the per-row form, right for every columns)."""
        if self._chart_review_rows is not None:
            raise ValueError("stacked columns hold several readings: use chart_review_rows()")
        self._reads[0] += 1
        return self.reading

    def chart_review_rows(self) -> np.ndarray:
        """Per row, whether it is read the chart-review way, for a computation whose result depends on the
        reading (the criteria's reading of a finding stated without counts, docs/criteria.md): counted like
        ``count_at_least``, so never shared between readings. Per row, so that the rows of columns stacked
        over several readings (:meth:`stacked_readings`) each get their own reading."""
        self._reads[0] += 1
        rows = self._chart_review_rows
        if rows is None:
            return np.full(self.n, self.reading == "chart-review")
        return rows

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __contains__(self, name: object) -> bool:
        return name in self.arrays

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, once per read: intermediate results shared between features or elements."""
        cache = self._cache
        value = cache.get(key, _MISSING)  # one look-up when present: one patient's criteria ask ~200 times
        if value is _MISSING:
            value = cache[key] = compute()
        return value

    def row(self, i: int) -> Row:
        """Patient ``i`` as a read-only record of plain values (for the wording, without building dicts)."""
        return Row(self, i)

    @classmethod
    def empty(cls, names: Iterable[str]) -> Columns:
        """Zero-patient columns: used to list a transformer's output names without data."""
        specs = fields()
        return cls({name: null_array(specs[name], 0) for name in names}, n=0)

    # --- plain reads -------------------------------------------------------------------------------
    def number(self, field: str) -> np.ndarray:
        """A number or boolean field as float64 with NaN for null (Int64 counts included)."""
        return self.arrays[field]

    def codes(self, field: str) -> np.ndarray:
        """A category field as codes of the contract values (in contract order), -1 for null."""
        return self.arrays[field]

    def is_null(self, field: str) -> np.ndarray:
        array = self.arrays[field]
        return array == NULL_CODE if array.dtype.kind == "i" else np.isnan(array)

    def null_mask(self, names: tuple[str, ...]) -> np.ndarray:
        """(patients, fields): True where null. One mask of every field read is made once per read (by the
        record reader while it reads, else from the arrays) and ``names`` are its columns."""
        return self.cached("nulls", self._nulls)[:, _positions(tuple(self.arrays), names)]

    def _nulls(self) -> np.ndarray:
        numbers, categories = _null_layout(tuple(self.arrays))
        arrays = list(self.arrays.values())
        out = np.empty((self.n, len(arrays)), dtype=bool)
        if numbers:
            out[:, numbers] = np.isnan(np.vstack([arrays[j] for j in numbers])).T
        if categories:
            out[:, categories] = (np.vstack([arrays[j] for j in categories]) == NULL_CODE).T
        return out

    # --- three-valued reads (criteria.md §0.1): Unknown where the field is null -------------------
    @staticmethod
    def compare(values: np.ndarray, op: str, threshold: float) -> Tri:
        """Three-valued ``values <op> threshold`` (:func:`compare`)."""
        return compare(values, op, threshold)

    def num(self, field: str, op: str, threshold: float) -> Tri:
        """Three-valued ``field <op> threshold``."""
        values = self.arrays[field]
        if self.n <= SMALL:  # :func:`compare`'s few-rows path, called directly (one patient's criteria read ~40)
            test = _COMPARISONS.get(op)
            if test is not None:
                return _compare_small(values, test, threshold)
        return compare(values, op, threshold)

    def count_at_least(self, field: str, k: int, denominator: str) -> Tri:
        """"At least k nerves/regions show this", reading a count field (criteria.md §0.1).

        A count of at least k is evidence whatever the denominator says. A smaller count only refutes
        the element when the denominator (``motor_nerves_studied`` / ``sensory_nerves_studied``) is known
        and > 0: a zero count with no nerves studied means "not examined", not "normal".

        Strict reading: a count without its denominator is a lower bound ("at least this many of the
        nerves the report names"), so it never refutes. Chart-review reading: it is the complete count, as
        a chart reviewer reads "no conduction block was found" (docs/criteria.md, "zero counts").
        """
        self._reads[0] += 1
        key = ("count", field, k, denominator, self.reading)  # several elements read the same count
        if key not in self._cache:
            count, studied = self.arrays[field], self.arrays[denominator]
            if self.n <= SMALL:  # the same, row by row on int masks
                at_least = below = studied_some = studied_not_none = 0
                bit = 1
                for value, denominator_value in zip(count.tolist(), studied.tolist(), strict=True):
                    if value >= k:
                        at_least |= bit
                    elif value < k:
                        below |= bit
                    if denominator_value > 0:
                        studied_some |= bit
                    if denominator_value != 0:  # NaN too, as ~(studied == 0)
                        studied_not_none |= bit
                    bit <<= 8
                rows = self._chart_review_bits()
                counted = (studied_not_none & rows) | (studied_some & ~rows)
                self._cache[key] = small(at_least, below & counted, self.n)
            else:
                counted_rows = self._by_reading(studied > 0, ~(studied == 0))
                # NaN compares False: null refutes nothing
                self._cache[key] = Tri(count >= k, (count < k) & counted_rows)
        return self._cache[key]

    def flag(self, field: str) -> Tri:
        """A boolean field, three-valued (read once per read of the columns)."""
        key = ("flag", field)  # :meth:`cached` inlined: no key formatted, no closure made per call
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = Tri.from_float(self.arrays[field])
        return value

    def isin(self, field: str, values: Iterable[str]) -> Tri:
        """Three-valued ``field in values`` for a category field; a value outside the contract is a bug."""
        codes = self.arrays[field]
        if self.n <= SMALL:  # the same, row by row on int masks
            wanted = _category_code_set(field, tuple(values))
            hits = known = 0
            bit = 1
            for code in codes.tolist():
                if code in wanted:
                    hits |= bit
                elif code != NULL_CODE:
                    known |= bit
                bit <<= 8
            return small(hits, known, self.n)
        first, *others = _category_codes(field, tuple(values))
        hits = codes == first  # never at a null (code -1)
        for code in others:
            hits |= codes == code
        return Tri(hits, (codes != NULL_CODE) ^ hits)


def _stack_one(arrays: Mapping[str, np.ndarray], times: int) -> dict[str, np.ndarray]:
    """One patient's fields (the serving path), each repeated ``times`` over: one array call per kind (numbers,
    category codes) for every field, as the criteria read nearly all of them; one call per field cost ~1 us each."""
    names, values = tuple(arrays), list(arrays.values())
    stacked: list[np.ndarray] = [values[0]] * len(names)
    for positions in _null_layout(names):
        if positions:
            # one value per field: concatenated, repeated and cut into rows (np.array of arrays costs ~50 % more)
            block = np.concatenate([values[j] for j in positions]).repeat(times).reshape(len(positions), times)
            for j, row in zip(positions, block, strict=True):
                stacked[j] = row
    return dict(zip(names, stacked, strict=True))


class _Stacked(dict[str, np.ndarray]):
    """The fields of some columns, each repeated ``times`` over (for :meth:`Columns.stacked_readings`), on
    first access: a criteria evaluation reads about half of the fields. A dict of the fields stacked so far
    (so a field read again costs a plain dict look-up), answering for every field of the columns."""

    __slots__ = ("_arrays", "_times")

    def __init__(self, arrays: Mapping[str, np.ndarray], times: int) -> None:
        super().__init__()
        self._arrays, self._times = arrays, times

    def __missing__(self, name: str) -> np.ndarray:
        array = self._arrays[name]
        # one patient (the serving path): repeating its value is the same stacking at a third of the cost per call
        array = self[name] = array.repeat(self._times) if len(array) == 1 else np.concatenate([array] * self._times)
        return array

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self._arrays else default

    def __contains__(self, name: object) -> bool:
        return name in self._arrays

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def keys(self) -> Any:
        return self._arrays.keys()

    def values(self) -> Any:
        return (self[name] for name in self._arrays)

    def items(self) -> Any:
        return ((name, self[name]) for name in self._arrays)


class Row(Mapping[str, Any]):
    """One patient of :class:`Columns` as a record: field -> plain value (float, int, bool, category text),
    ``None`` for null; only the fields that were read. Decoded on access, so a row costs nothing to make."""

    __slots__ = ("_columns", "_i")

    def __init__(self, columns: Columns, i: int) -> None:
        self._columns = columns
        self._i = i

    def __getitem__(self, name: str) -> Any:
        return _DECODERS[name](self._columns.arrays[name].item(self._i))

    def get(self, name: str, default: Any = None) -> Any:
        """As ``Mapping.get``, without its exception for a field not read (the wording asks for many).
        ``item``: the plain Python value, without making a numpy scalar first (a batch reads ~10 per patient)."""
        array = self._columns.arrays.get(name)
        return default if array is None else _DECODERS[name](array.item(self._i))

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns.arrays)

    def __len__(self) -> int:
        return len(self._columns.arrays)


def _decoder(spec: FieldSpec) -> Callable[[Any], Any]:
    if spec.type == "category":
        values = spec.values or ()
        return lambda code: None if code < 0 else values[code]
    kinds: dict[str, Callable[[Any], Any]] = {"float": float, "int": int, "bool": lambda v: bool(v == 1.0)}
    kind = kinds[spec.type]
    return lambda value: None if value != value else kind(value)


_DECODERS: dict[str, Callable[[Any], Any]] = {name: _decoder(spec) for name, spec in fields().items()
                                              if spec.type != "string"}


@cache
def _positions(fields_read: tuple[str, ...], names: tuple[str, ...]) -> np.ndarray:
    """Positions of ``names`` among ``fields_read``, as an index array (read-only: shared by every read of the same
    layout); numpy converts a list of positions on every indexing (~3 us for ~90 fields)."""
    index = {name: j for j, name in enumerate(fields_read)}
    positions = np.array([index[name] for name in names], dtype=np.intp)
    positions.flags.writeable = False
    return positions


@cache
def _null_layout(names: tuple[str, ...]) -> tuple[list[int], list[int]]:
    """Positions of the number-like and of the category fields among ``names``."""
    specs = fields()
    categories = [j for j, name in enumerate(names) if specs[name].type == "category"]
    return [j for j in range(len(names)) if j not in categories], categories


_COMPARISONS: dict[str, Callable[[Any, float], Any]] = {
    ">": lambda values, threshold: values > threshold,
    ">=": lambda values, threshold: values >= threshold - TOLERANCE,
    "<": lambda values, threshold: values < threshold,
    "<=": lambda values, threshold: values <= threshold + TOLERANCE,
    "==": lambda values, threshold: abs(values - threshold) <= TOLERANCE,
}
"""The comparisons of :func:`compare`: the same arithmetic on an array or on one Python float."""


def compare(values: np.ndarray, op: str, threshold: float) -> Tri:
    """Three-valued ``values <op> threshold``, Unknown where ``values`` is NaN; ``>=``, ``<=`` and ``==``
    tolerate float representation error (:data:`TOLERANCE`)."""
    test = _COMPARISONS.get(op)
    if test is None:
        raise ValueError(f"unknown comparison {op!r}")
    if values.ndim == 1 and len(values) <= SMALL:
        return _compare_small(values, test, threshold)
    result = test(values, threshold)
    # every comparison with NaN is False (no warning), so ``result`` is already the known-True mask
    # and known-False is known XOR result: three array operations instead of six per comparison
    return Tri(result, (values == values) ^ result)


def compare_value(value: float, op: str, threshold: float) -> bool | None:
    """:func:`compare` of one Python float: None (Unknown) for NaN, with the same tolerance."""
    if value != value:
        return None
    return bool(_COMPARISONS[op](value, threshold))


def _compare_small(values: np.ndarray, test: Callable[[Any, float], Any], threshold: float) -> Tri:
    """:func:`compare` for a few rows, value by value into int masks (:func:`data.kleene.small`)."""
    true = false = 0
    bit = 1
    for value in values.tolist():
        if test(value, threshold):
            true |= bit
        elif value == value:  # known (not NaN)
            false |= bit
        bit <<= 8
    return small(true, false, len(values))


@cache
def _category_code_set(field: str, values: tuple[str, ...]) -> frozenset[int]:
    return frozenset(_category_codes(field, values))


@cache
def _category_codes(field: str, values: tuple[str, ...]) -> list[int]:
    allowed = fields()[field].values or ()
    unknown_values = [v for v in values if v not in allowed]
    if unknown_values:
        raise ValueError(f"{field}: {unknown_values} are not contract values {list(allowed)}")
    return [allowed.index(v) for v in values]
