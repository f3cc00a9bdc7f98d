"""Read a list of record dicts (contract field -> value) into the same arrays as a frame.

The per-patient path of serving: building and canonicalising a one-row DataFrame costs far more than
the features themselves, so a validated record (``PatientRecord.to_dict()``) is read straight into
arrays, with the same checks and messages as :func:`features._columns.read_columns`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data.contract import FieldSpec, fields
from mmn_ddx.features._checks import NULL_CODE, UNKNOWN_CODE, FeatureInputError, rows, value_problems
from mmn_ddx.features._columns import ACCEPTED_COLUMNS, Columns


def read_records(records: Sequence[Mapping[str, Any]], names: Iterable[str]) -> Columns:
    """Like :func:`read_columns`, for a list of record dicts (e.g. ``PatientRecord.to_dict()``).

    The per-patient path of serving: building a one-row canonical DataFrame costs far more than the
    features themselves, so records are read straight into arrays. Same rules and messages as for a
    frame; a missing key is a null, ``None`` / NaN / ``pd.NA`` are nulls, and "rows" are list positions.
    """
    if isinstance(records, (Mapping, pd.DataFrame)) or not isinstance(records, Sequence):
        raise TypeError(f"records must be a list of dicts, not {type(records).__name__}")
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
        raise FeatureInputError(problems)
    return Columns(len(records), arrays)


def encode(name: str, values: Sequence[Any]) -> np.ndarray:
    """Plain values of one field in the arrays' encoding (float64 with NaN, or category codes).

    For values already known to be valid (e.g. a generator's test results): a value of the wrong type
    is a programming error here, not a user's.
    """
    array, bad = _from_values(list(values), fields()[name])
    if bad is not None and bad.any():
        raise TypeError(f"{name}: values of the wrong type for a {fields()[name].type} field")
    return array


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
        codes = [NULL_CODE if is_null else lookup.get(value, UNKNOWN_CODE) if isinstance(value, str) else None
                 for value, is_null in zip(values, null, strict=True)]
        bad = np.array([code is None for code in codes], dtype=bool)
        return np.array([NULL_CODE if code is None else code for code in codes], dtype=np.int64), bad
    accepted: tuple[type, ...] = (bool, np.bool_) if spec.type == "bool" else (int, float, np.integer, np.floating)
    bad = np.array(
        [not is_null and (not isinstance(value, accepted) or (spec.type != "bool" and isinstance(value, (bool, np.bool_))))
         for value, is_null in zip(values, null, strict=True)],
        dtype=bool,
    )
    array = np.array([np.nan if is_null or wrong else float(value)  # type: ignore[arg-type]
                      for value, is_null, wrong in zip(values, null, bad, strict=True)], dtype=np.float64)
    return array, bad


@cache
def _category_lookup(spec: FieldSpec) -> dict[str, int]:
    return {value: code for code, value in enumerate(spec.values or ())}


