"""Value checks of the columnar reader (:mod:`data.columns`), vectorised over all fields at once.

Ranges and types come from the data dictionary. Cross-field rules are checked where records enter (the
record model and the cohort schema, :func:`data.contract.rules`), not again here. Messages name the field
and the offending row labels, never the values, so they can be logged without patient data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from mmn_ddx.data.contract import FieldSpec, fields

NULL_CODE = -1
"""Category code of a null value."""

UNKNOWN_CODE = -2
"""Transient code of a category value outside the dictionary (reported, never returned)."""

MAX_ROWS_IN_MESSAGE = 5


class ColumnsError(ValueError):
    """Data read into columns breaks the contract; ``problems`` maps field to reason (never a value)."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in self.problems.items()))


def rows(index: pd.Index, mask: np.ndarray) -> str:
    labels = [str(label) for label in index[mask][:MAX_ROWS_IN_MESSAGE]]
    more = int(mask.sum()) - len(labels)
    return f"rows [{', '.join(labels)}{f', ... {more} more' if more > 0 else ''}]"


def null_array(spec: FieldSpec, n: int) -> np.ndarray:
    """All-null values of a field: NaN, or the null category code."""
    if spec.type == "category":
        return np.full(n, NULL_CODE, dtype=np.int64)
    return np.full(n, np.nan)


@dataclass(frozen=True)
class _Checks:
    """Per-field check parameters for one tuple of field names, stacked for vectorised checks."""

    numeric: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    integer: np.ndarray
    categories: tuple[str, ...]
    required: tuple[str, ...]


@cache
def _checks(names: tuple[str, ...]) -> _Checks:
    specs = [fields()[name] for name in names]
    numeric = [spec for spec in specs if spec.is_numeric]
    return _Checks(
        numeric=tuple(spec.name for spec in numeric),
        low=np.array([_range(spec)[0] for spec in numeric])[:, None],
        high=np.array([_range(spec)[1] for spec in numeric])[:, None],
        integer=np.array([spec.type == "int" for spec in numeric])[:, None],
        categories=tuple(spec.name for spec in specs if spec.type == "category"),
        required=tuple(spec.name for spec in specs if spec.required),
    )


def value_problems(arrays: Mapping[str, np.ndarray], index: pd.Index, known: Mapping[str, str]) -> dict[str, str]:
    """Range, integrality, category and required-null checks, vectorised over all columns."""
    specs = fields()
    checks = _checks(tuple(arrays))
    problems: dict[str, str] = {}
    if checks.numeric:
        values = np.vstack([arrays[name] for name in checks.numeric])
        bad = np.isinf(values) | (values < checks.low) | (values > checks.high)
        bad |= checks.integer & (values != np.floor(values)) & np.isfinite(values)
        for j in np.flatnonzero(bad.any(axis=1)):
            problems[checks.numeric[j]] = _value_reason(values[j], specs[checks.numeric[j]], index)
    if checks.categories:
        codes = np.vstack([arrays[name] for name in checks.categories])
        for j in np.flatnonzero((codes == UNKNOWN_CODE).any(axis=1)):
            spec = specs[checks.categories[j]]
            problems[spec.name] = (
                f"value not among {list(spec.values or ())} at {rows(index, codes[j] == UNKNOWN_CODE)}"
            )
    for name in checks.required:
        array = arrays[name]
        null = array == NULL_CODE if array.dtype.kind == "i" else np.isnan(array)
        if null.any():
            problems[name] = f"null in a required field at {rows(index, null)}"
    return {name: reason for name, reason in problems.items() if name not in known}


def _range(spec: FieldSpec) -> tuple[float, float]:
    return spec.range if spec.range is not None else (-np.inf, np.inf)


def _value_reason(values: np.ndarray, spec: FieldSpec, index: pd.Index) -> str:
    low, high = _range(spec)
    for mask, what in (
        (np.isinf(values), "infinite value"),
        ((values < low) | (values > high), f"value outside the allowed range [{low:g}, {high:g}]"),
        (np.isfinite(values) & (values != np.floor(values)), "fractional count"),
    ):
        if mask.any():
            return f"{what} at {rows(index, mask)}"
    raise AssertionError("no problem found")  # pragma: no cover
