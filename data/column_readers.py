"""Reading patient data into :class:`data.columns.Columns`: a cohort frame or a list of record dicts, read once.

Both readers check what they read the same way - no unknown column, types, dictionary ranges, whole counts,
known categories, required fields - and raise :class:`ColumnsError` naming the field and the rows, never a
value. :func:`read_frame` takes canonical dtypes or compatible ones (any numeric dtype for a number, text or
categorical for a category); :func:`read_records` takes ``PatientRecord.to_dict()``-like dicts (a missing key is
null), and with ``validated=True`` only encodes records the record model has already accepted (the serving
path).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data._column_checks import NULL_CODE, UNKNOWN_CODE, ColumnsError, null_array, rows, value_problems
from mmn_ddx.data.columns import ACCEPTED_COLUMNS, Columns
from mmn_ddx.data.contract import FEATURE_FIELDS, FieldSpec, fields

__all__ = ["read_frame", "read_records"]


# --- reading a frame -------------------------------------------------------------------------------------
_CANONICAL = {name: spec.pandas_dtype() for name, spec in fields().items()}


def read_frame(frame: object, names: Iterable[str] = FEATURE_FIELDS) -> Columns:
    """Read and check the contract fields ``names`` of a cohort DataFrame; raise :class:`ColumnsError`."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            "expected a pandas DataFrame with data-dictionary columns (see data.contract.to_canonical), "
            f"not {type(frame).__name__}"
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
        raise ColumnsError(problems)
    return Columns(arrays, frame.index, len(frame))


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
    """One column as an array plus the reason its *type* breaks the contract ('' if it does not)."""
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
    raise ValueError(f"{spec.name} is not read into columns")  # the free-text identifier


def _read_category(series: pd.Series, spec: FieldSpec) -> tuple[np.ndarray, str]:
    """Codes in dictionary order; a value outside the dictionary is marked with ``UNKNOWN_CODE``."""
    dtype = series.dtype
    if dtype == _CANONICAL[spec.name]:
        return series.array.codes.astype(np.int64), ""
    allowed = pd.Index(spec.values or ())
    if isinstance(dtype, pd.CategoricalDtype):  # same values in another order, or foreign ones
        raw = series.array.codes
        lookup = allowed.get_indexer(dtype.categories)
        codes = np.where(raw >= 0, lookup[raw], NULL_CODE)
        codes[(raw >= 0) & (codes == NULL_CODE)] = UNKNOWN_CODE
    elif pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        codes = allowed.get_indexer(series).astype(np.int64)
        codes[series.notna().to_numpy() & (codes == NULL_CODE)] = UNKNOWN_CODE
    else:
        return null_array(spec, len(series)), f"expected a categorical or string column, got dtype {dtype}"
    return codes, ""


# --- reading record dicts --------------------------------------------------------------------------------


def read_records(records: Sequence[Mapping[str, Any]], names: Iterable[str] = FEATURE_FIELDS, *,
                 validated: bool = False) -> Columns:
    """Like :func:`read_frame`, for a list of record dicts; "rows" in messages are list positions.

    ``None`` / NaN / ``pd.NA`` and a missing key are nulls. ``validated=True``: the records passed the
    record model (``data.record.validate_record``), so only their encoding is done - all numbers in one
    array call, which is what makes one patient cheap to read.
    """
    if isinstance(records, (Mapping, pd.DataFrame)) or not isinstance(records, Sequence):
        raise TypeError(f"records must be a list of dicts, not {type(records).__name__}")
    names = tuple(names)
    if validated:
        return _read_valid(records, names)
    problems: dict[str, str] = {}
    for position, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise TypeError(f"record {position} is a {type(record).__name__}, not a dict")
        for key in record:
            if key not in ACCEPTED_COLUMNS:
                problems.setdefault(str(key), f"unknown field (not in the data dictionary) at rows [{position}]")
    specs = fields()
    index = pd.RangeIndex(len(records))
    arrays: dict[str, np.ndarray] = {}
    for name in names:
        values = [record.get(name) for record in records]
        array, bad = _from_values(values, specs[name])
        arrays[name] = array
        if bad is not None and bad.any():
            problems[name] = f"expected {_PYTHON_KIND[specs[name].type]} at {rows(index, bad)}"
    problems.update(value_problems(arrays, index, problems))
    if problems:
        raise ColumnsError(problems)
    return Columns(arrays, index, len(records))


@cache
def _layout(names: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[tuple[str, dict[object, int]], ...]]:
    """The numeric (float, int, bool) fields of ``names`` and each category field with its code lookup."""
    specs = fields()
    numeric = tuple(n for n in names if specs[n].type in ("float", "int", "bool"))
    categories = tuple((n, _category_lookup(specs[n])) for n in names if specs[n].type == "category")
    return numeric, categories


def _read_valid(records: Sequence[Mapping[str, Any]], names: tuple[str, ...]) -> Columns:
    numeric, categories = _layout(names)
    n = len(records)
    matrix = np.array([[record.get(name) for name in numeric] for record in records], dtype=np.float64)
    matrix = matrix.reshape(n, len(numeric)).T.copy()  # field-major: each field's values contiguous
    arrays: dict[str, np.ndarray] = dict(zip(numeric, matrix, strict=True))
    if categories:  # every category field's codes in one array call too (one call per field cost ~0.5 us each)
        codes = np.array([[NULL_CODE if (v := record.get(name)) is None else lookup[v] for name, lookup in categories]
                          for record in records], dtype=np.int64)
        codes = codes.reshape(n, len(categories)).T.copy()
        arrays.update(zip((name for name, _ in categories), codes, strict=True))
    columns = Columns({name: arrays[name] for name in names}, n=n)
    # the null mask of every field, in plain Python while the values are at hand (cheaper than numpy for a few rows)
    columns.cached("nulls", lambda: np.array([[record.get(name) is None for name in names] for record in records],
                                             dtype=bool).reshape(n, len(names)))
    return columns


_PYTHON_KIND = {"float": "a number", "int": "an integer", "bool": "true or false", "category": "a text category"}


def _is_null(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


_FAST_TYPES: dict[str, frozenset[type]] = {
    "float": frozenset({int, float, type(None)}),
    "int": frozenset({int, float, type(None)}),
    "bool": frozenset({bool, type(None)}),
    "category": frozenset({str, type(None)}),
}


def _from_values(values: list[object], spec: FieldSpec) -> tuple[np.ndarray, np.ndarray | None]:
    """Values of one field as an array, and a mask of values of the wrong Python type (None: all fine)."""
    if {type(value) for value in values} <= _FAST_TYPES[spec.type]:  # plain JSON-like values
        if spec.type == "category":
            lookup = _category_lookup(spec)
            codes = [NULL_CODE if value is None else lookup.get(value, UNKNOWN_CODE) for value in values]
            return np.array(codes, dtype=np.int64), None
        return np.array(values, dtype=np.float64), None  # None -> NaN
    null = np.array([_is_null(value) for value in values], dtype=bool)
    if spec.type == "category":
        lookup = _category_lookup(spec)
        looked_up = [NULL_CODE if is_null else lookup.get(value, UNKNOWN_CODE) if isinstance(value, str) else None
                     for value, is_null in zip(values, null, strict=True)]
        bad = np.array([code is None for code in looked_up], dtype=bool)
        return np.array([NULL_CODE if code is None else code for code in looked_up], dtype=np.int64), bad
    accepted: tuple[type, ...] = (bool, np.bool_) if spec.type == "bool" else (int, float, np.integer, np.floating)
    bad = np.array(
        [not is_null and (not isinstance(value, accepted)
                          or (spec.type != "bool" and isinstance(value, (bool, np.bool_))))
         for value, is_null in zip(values, null, strict=True)],
        dtype=bool,
    )
    array = np.array([np.nan if is_null or wrong else float(value)  # type: ignore[arg-type]
                      for value, is_null, wrong in zip(values, null, bad, strict=True)], dtype=np.float64)
    return array, bad


@cache
def _category_lookup(spec: FieldSpec) -> dict[object, int]:
    return {value: code for code, value in enumerate(spec.values or ())}
