"""The shared scikit-learn plumbing of the clinical feature transformers, and small vectorised helpers.

Every transformer is stateless: the features are clinical definitions (guideline thresholds), not
quantities learned from the training cohort, so ``fit`` only checks the input and records the output
column names. A transformer subclass lists the contract fields it reads and implements ``_compute``,
a function from :class:`data.columns.Columns` (the one columnar reader) to named float64 arrays; the base class handles
the scikit-learn contract (``get_feature_names_out``, ``set_output``, cloning, pickling).

Three-valued helpers follow criteria.md section 0.1: a finding is 1.0 (present), 0.0 (absent) or
NaN (not examined / not tested), combined by the one Kleene logic of :mod:`data.kleene`. Nothing here
turns an unknown into "normal".

For a few patients (at most :data:`data.kleene.SMALL` rows: one served patient) the arithmetic helpers work
value by value on Python floats and return one new array: numpy's cost per call (~0.5-1 us whatever the length)
is then the whole cost, and a helper such as :func:`fraction` makes ~10 calls. The same IEEE arithmetic either
way (a test holds one patient's features equal to the same patient's row of a large batch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from mmn_ddx.data import SMALL, Columns, Tri, all_of, any_of, fields, read_frame, read_records

_NAN = float("nan")

Features = dict[str, np.ndarray]
"""Output column name -> float64 array, in output order."""


class ContractTransformer(TransformerMixin, BaseEstimator):
    """Base class: a stateless transformer from a contract DataFrame to float64 clinical features."""

    input_fields: ClassVar[tuple[str, ...]] = ()
    """Contract fields this transformer reads (subclasses set it)."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}

    def _fields(self) -> tuple[str, ...]:
        return self.input_fields

    def _compute(self, columns: Columns) -> Features:
        raise NotImplementedError

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> ContractTransformer:
        """Check ``X`` against the contract and record the output names; nothing is learned.

        ``y`` is ignored (present for Pipeline compatibility).
        """
        read_frame(X, self._fields())
        names = list(self._compute(Columns.empty(self._fields())))
        self.feature_names_in_ = np.asarray(self._fields(), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.feature_names_out_ = np.asarray(names, dtype=object)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Features of every row of ``X`` as a float64 array (NaN = finding unknown)."""
        check_is_fitted(self)
        return stack(self._compute(read_frame(X, self._fields())), self.feature_names_out_)

    def transform_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Features of a list of record dicts (contract field -> value), same checks as ``transform``.

        For one patient at a time (serving): no DataFrame is built, so this takes well under the
        cost of ``to_canonical`` on a one-row frame. Always returns a numpy array in the order of
        :meth:`get_feature_names_out` (``set_output`` applies to ``transform`` only).
        """
        return self.transform_columns(self.read(records))

    def read(self, data: Any) -> Columns:
        """The checked contract fields this transformer reads, from a cohort frame or record dicts."""
        if isinstance(data, Sequence) and not isinstance(data, str):
            return read_records(data, self._fields())
        return read_frame(data, self._fields())

    def transform_columns(self, columns: Columns) -> np.ndarray:
        """Features of columns already read (:meth:`read`, or :meth:`Columns.take` of them) as a numpy array."""
        if "feature_names_out_" not in self.__dict__:  # what check_is_fitted finds, without its ~8 us per patient
            check_is_fitted(self)
        return stack(self._compute(columns), self.feature_names_out_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names; ``input_features`` is ignored (outputs are new clinical features)."""
        check_is_fitted(self)
        return self.feature_names_out_.copy()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags


def stack(features: Features, names: np.ndarray) -> np.ndarray:
    """Columns in the order of ``names`` as one C-contiguous float64 matrix."""
    if list(features) != names.tolist():
        raise RuntimeError("computed feature columns differ from the names recorded at fit")
    if not features:
        return np.empty((0, len(names)), dtype=np.float64)
    columns = list(features.values())
    if len(columns[0]) == 1:  # one patient (serving): its values as one row, half the cost of the general layout
        return np.array([[column.item() for column in columns]], dtype=np.float64)
    # one call for every column (features, n), then laid out row-major: ~100 column writes cost more on a few rows
    return np.ascontiguousarray(np.array(columns, dtype=np.float64).T)


# --- vectorised three-valued helpers (float arrays: 1.0 / 0.0 / NaN) --------------------------------


def column_matrix(columns: Sequence[np.ndarray]) -> np.ndarray:
    """``np.column_stack`` of 1-D columns (patients x columns, C-contiguous) in one array call: column_stack's
    Python-level checks cost ~3 us on one patient, and the features stack ~10 matrices per patient."""
    return np.ascontiguousarray(np.array(columns).T)


def known(*arrays: np.ndarray) -> np.ndarray:
    """True where every array is non-null."""
    mask = ~np.isnan(arrays[0])
    for array in arrays[1:]:
        mask &= ~np.isnan(array)
    return mask


def flag(condition: np.ndarray, is_known: np.ndarray) -> np.ndarray:
    """1.0 / 0.0 where known, NaN elsewhere."""
    return np.where(is_known, condition.astype(np.float64), np.nan)


def at_least(values: np.ndarray, threshold: float) -> np.ndarray:
    """Whether ``values >= threshold``, NaN where the value is null."""
    if values.ndim == 1 and len(values) <= SMALL:  # value by value (module docstring); NaN first: it compares False
        return np.array([_NAN if v != v else float(v >= threshold) for v in values.tolist()])
    return flag(values >= threshold, ~np.isnan(values))


def above(values: np.ndarray, threshold: float) -> np.ndarray:
    """Whether ``values > threshold``, NaN where the value is null."""
    if values.ndim == 1 and len(values) <= SMALL:
        return np.array([_NAN if v != v else float(v > threshold) for v in values.tolist()])
    return flag(values > threshold, ~np.isnan(values))


def kleene_or(*flags: np.ndarray) -> np.ndarray:
    """1 if any flag is 1, 0 if all are 0, NaN otherwise (Kleene OR, :mod:`data.kleene`)."""
    if len(flags) == 2:  # the usual case, without reduce's call per pair (one patient: the calls are the cost)
        return (Tri.from_float(flags[0]) | Tri.from_float(flags[1])).to_float()
    return any_of(*map(Tri.from_float, flags)).to_float()


def kleene_and(*flags: np.ndarray) -> np.ndarray:
    """0 if any flag is 0, 1 if all are 1, NaN otherwise (Kleene AND, :mod:`data.kleene`)."""
    if len(flags) == 2:
        return (Tri.from_float(flags[0]) & Tri.from_float(flags[1])).to_float()
    return all_of(*map(Tri.from_float, flags)).to_float()


def either(*flags: np.ndarray) -> np.ndarray:
    """A finding that several sources can establish (counts or the words of a report, grades or words):
    1 where any source shows it, else 0 where a source shows its absence, else NaN (none tells).

    Unlike :func:`kleene_or`, one source's "absent" decides when the others are silent: a report that says
    "no conduction block" is evidence of absence even though it gives no counts.
    """
    out = flags[0]
    for other in flags[1:]:  # pairwise: a few patients per call, so stacking would cost more than it saves
        out = np.fmax(out, other)
    return out


def category_flag(codes: np.ndarray, field: str, present: tuple[str, ...], absent: tuple[str, ...]) -> np.ndarray:
    """1.0 where the category ``field`` is one of ``present``, 0.0 where one of ``absent``, NaN elsewhere."""
    return _category_table(field, present, absent)[codes]


@cache
def _category_table(field: str, present: tuple[str, ...], absent: tuple[str, ...]) -> np.ndarray:
    """One score per contract value of ``field`` plus a trailing NaN that the null code -1 reads."""
    values = fields()[field].values or ()
    unknown = [v for v in (*present, *absent) if v not in values]
    if unknown:
        raise ValueError(f"{field}: {unknown} are not contract values {list(values)}")
    table = np.full(len(values) + 1, np.nan)
    table[np.asarray([values.index(v) for v in present], dtype=np.intp)] = 1.0
    table[np.asarray([values.index(v) for v in absent], dtype=np.intp)] = 0.0
    table.flags.writeable = False
    return table


def fraction(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """``part / whole``; NaN where either is null or ``whole`` is 0 (nothing studied)."""
    if whole.ndim == 1 and len(whole) <= SMALL:  # value by value (module docstring); ``part`` may be a matrix
        w = whole.tolist()  # of several counts (rows) over the same patients, divided row by row as numpy broadcasts
        if part.ndim == 1:
            return np.array(_divide(part.tolist(), w))
        return np.array([_divide(row, w) for row in part.tolist()]).reshape(part.shape)
    ok = known(part, whole) & (whole > 0)
    return np.divide(part, whole, out=np.full(part.shape, np.nan), where=ok)


def _divide(part: list[float], whole: list[float]) -> list[float]:
    """:func:`fraction` of plain floats: NaN fails every comparison, so ``p == p`` and ``w > 0`` are known()."""
    return [p / w if p == p and w > 0 else _NAN for p, w in zip(part, whole, strict=True)]


def not_done(*arrays: np.ndarray) -> np.ndarray:
    """1.0 where every one of ``arrays`` is null (the test was not done or not reported), else 0.0."""
    if arrays[0].ndim == 1 and len(arrays[0]) <= SMALL:  # value by value (module docstring)
        rows = zip(*(a.tolist() for a in arrays), strict=True)
        return np.array([float(all(v != v for v in row)) for row in rows])
    return (~known_any(*arrays)).astype(np.float64)


def known_any(*arrays: np.ndarray) -> np.ndarray:
    """True where at least one array is non-null."""
    if arrays[0].ndim == 1 and len(arrays[0]) <= SMALL:  # value by value (module docstring)
        rows = zip(*(a.tolist() for a in arrays), strict=True)
        return np.array([any(v == v for v in row) for row in rows], dtype=bool)
    if len(arrays) > 2:  # as one matrix: four array calls whatever their number (one patient: the calls are the cost)
        return ~np.isnan(np.array(arrays)).all(axis=0)
    mask = ~np.isnan(arrays[0])
    for array in arrays[1:]:
        mask |= ~np.isnan(array)
    return mask


def one_hot(codes: np.ndarray, values: tuple[str, ...], prefix: str) -> Features:
    """One 0/1 column per category value, all NaN where the category is null."""
    matrix = _one_hot_table(len(values))[codes]
    return {f"{prefix}_{value}": matrix[:, j] for j, value in enumerate(values)}


@cache
def _one_hot_table(k: int) -> np.ndarray:
    """Identity rows for codes 0..k-1 plus a trailing NaN row that code -1 reads."""
    table = np.vstack([np.eye(k), np.full(k, np.nan)])
    table.flags.writeable = False
    return table


def ordinal(codes: np.ndarray, scores: tuple[float, ...]) -> np.ndarray:
    """Map category codes to ordered scores (one per value, dictionary order); NaN where null."""
    return _ordinal_table(scores)[codes]


@cache
def _ordinal_table(scores: tuple[float, ...]) -> np.ndarray:
    """The scores then a trailing NaN, which the null code -1 reads (made once per scale)."""
    table = np.append(np.asarray(scores, dtype=np.float64), np.nan)
    table.flags.writeable = False
    return table


def row_max(matrix: np.ndarray) -> np.ndarray:
    """Row-wise maximum ignoring NaN; NaN for an all-null row (no warning)."""
    return np.fmax.reduce(matrix, axis=1)


def row_count(matrix: np.ndarray) -> np.ndarray:
    """Number of non-null entries per row, as float64."""
    if matrix.ndim == 2 and len(matrix) <= SMALL:  # value by value (module docstring)
        return np.array([float(sum(v == v for v in row)) for row in matrix.tolist()])
    return (~np.isnan(matrix)).sum(axis=1).astype(np.float64)
