"""Read contract fields from a cohort DataFrame into plain numpy arrays, checking them on the way.

Every transformer in this package reads its inputs through :func:`read_columns`, so the rules for
what a feature transformer accepts are written once:

* the input is a pandas DataFrame in the data-dictionary contract (``data.contract.to_canonical``);
  ``patient_id`` and the label ``diagnosis`` may be present and are ignored;
* a column that is not in the data dictionary is an error (a typo must not vanish silently);
* an absent optional field is read as all-null (a sparse record), an absent required field is an error;
* a value of the wrong type, out of the dictionary range, a fractional count, an unknown category or a
  null in a required field is an error naming the field and the offending row labels - never the values, so messages can be logged without patient data.

Nothing is imputed: numbers and booleans become float64 with NaN for null; categories become integer
codes in dictionary order with -1 for null.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmn_ddx.data.contract import FIELD_NAMES, LABEL, FieldSpec, fields
from mmn_ddx.features._checks import (
    NULL_CODE,
    UNKNOWN_CODE,
    FeatureInputError,
    null_array,
    value_problems,
)

__all__ = ["NULL_CODE", "Columns", "FeatureInputError", "read_columns"]

ACCEPTED_COLUMNS = frozenset(FIELD_NAMES) | {LABEL}
"""Columns a feature input may have: the contract fields and the label (ignored)."""
_CANONICAL = {name: spec.pandas_dtype() for name, spec in fields().items()}


@dataclass(frozen=True)
class Columns:
    """Contract fields of ``n`` patients as numpy arrays (float64 with NaN, or category codes)."""

    n: int
    arrays: Mapping[str, np.ndarray]
    _derived: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def derived(self, key: str, compute: Callable[[Columns], np.ndarray]) -> np.ndarray:
        """``compute(self)``, computed once per read: intermediate results shared between parts."""
        if key not in self._derived:
            self._derived[key] = compute(self)
        return self._derived[key]

    def take(self, rows: np.ndarray, fill: Iterable[tuple[slice, Mapping[str, np.ndarray]]] = ()) -> Columns:
        """The patients at ``rows`` (repeats allowed) as new columns, then each ``(part, values)`` of
        ``fill`` writes field values (in this encoding, one per row of ``part``) into those new rows;
        fields these columns do not hold are skipped. E.g. copies of patients with a test result filled
        in, without reading and checking their records again."""
        arrays = {name: array[rows] for name, array in self.arrays.items()}
        for part, values in fill:
            for name, value in values.items():
                if name in arrays:
                    arrays[name][part] = value
        return Columns(len(rows), arrays)

    @classmethod
    def empty(cls, names: Iterable[str]) -> Columns:
        """Zero-patient columns: used to list a transformer's output names without data."""
        specs = fields()
        return cls(0, {name: null_array(specs[name], 0) for name in names})


def read_columns(frame: object, names: Iterable[str]) -> Columns:
    """Read and check the contract fields ``names`` of ``frame``; raise :class:`FeatureInputError`."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            "feature transformers take a pandas DataFrame with data-dictionary columns "
            f"(see data.contract.to_canonical), not {type(frame).__name__}"
        )
    problems = _frame_problems(frame)
    specs = fields()
    arrays: dict[str, np.ndarray] = {}
    for name in names:
        spec = specs[name]
        if name not in frame.columns:
            if spec.required:
                problems[name] = "required field is missing from the frame"
            arrays[name] = null_array(spec, len(frame))
            continue
        array, reason = _read_series(frame[name], spec)
        arrays[name] = array
        if reason:
            problems[name] = reason
    problems.update(value_problems(arrays, frame.index, problems))
    if problems:
        raise FeatureInputError(problems)
    return Columns(len(frame), arrays)


def _frame_problems(frame: pd.DataFrame) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not frame.columns.is_unique:
        for column in frame.columns[frame.columns.duplicated()]:
            problems[str(column)] = "column appears more than once"
    for column in frame.columns.tolist():
        if column not in ACCEPTED_COLUMNS:
            problems[str(column)] = "unknown column (not in the data dictionary)"
    return problems


def _read_series(series: pd.Series, spec: FieldSpec) -> tuple[np.ndarray, str]:
    """One column as an array plus the reason its *type* breaks the contract ('' if it does not).

    Values are checked afterwards, for all columns at once (:func:`_value_problems`).
    """
    kind = series.dtype.kind
    if spec.type in ("float", "int"):
        if kind not in "iuf":
            return null_array(spec, len(series)), f"expected a numeric column, got dtype {series.dtype}"
        if series.dtype == np.float64:
            return series.to_numpy(), ""
        return series.to_numpy(dtype=np.float64, na_value=np.nan), ""
    if spec.type == "bool":
        if kind != "b":
            return null_array(spec, len(series)), f"expected a boolean column, got dtype {series.dtype}"
        return series.to_numpy(dtype=np.float64, na_value=np.nan), ""
    if spec.type == "category":
        return _read_category(series, spec)
    raise ValueError(f"{spec.name} is not a feature field")  # the free-text identifier is never read


def _read_category(series: pd.Series, spec: FieldSpec) -> tuple[np.ndarray, str]:
    """Codes in dictionary order; a value outside the dictionary is marked with :data:`UNKNOWN_CODE`."""
    dtype = series.dtype
    if dtype == _CANONICAL[spec.name]:
        return series.array.codes.astype(np.int64), ""
    allowed = pd.Index(spec.values or ())
    if isinstance(dtype, pd.CategoricalDtype):  # same values in another order, or foreign ones
        raw = series.array.codes
        lookup = allowed.get_indexer(dtype.categories)
        codes = np.where(raw >= 0, lookup[raw], NULL_CODE)
        codes[(raw >= 0) & (codes == NULL_CODE)] = UNKNOWN_CODE
    elif pd.api.types.is_string_dtype(dtype) or dtype == object:
        codes = allowed.get_indexer(series).astype(np.int64)
        codes[series.notna().to_numpy() & (codes == NULL_CODE)] = UNKNOWN_CODE
    else:
        return null_array(spec, len(series)), f"expected a categorical or string column, got dtype {dtype}"
    return codes, ""


