"""Input checks shared by every entry point: only canonical cohort frames are evaluated.

A canonical frame is ``data.contract.to_canonical`` of validated records (the importer and
``data.record.validate_record`` produce them). Anything else - a missing column, a non-canonical dtype,
a value outside the contract range, a null required field - is a caller bug, reported with the field and
the offending row labels. Never the values: they are patient data.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data.contract import fields
from mmn_ddx.features.criteria._logic import Columns


class CriteriaInputError(ValueError):
    """The frame is not a canonical cohort frame; ``problems`` maps field name to reason."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in problems.items()))


def _rows(frame: pd.DataFrame, bad: np.ndarray) -> str:
    labels = [str(x) for x in frame.index[bad][:5]]
    more = f" and {int(bad.sum()) - 5} more" if bad.sum() > 5 else ""
    return f"rows {', '.join(labels)}{more}"


@cache
def _canonical_dtype(name: str) -> Any:
    return fields()[name].pandas_dtype()


def check_frame(cols: Columns, names: Iterable[str]) -> None:
    """Raise :class:`CriteriaInputError` listing every problem with the fields ``names`` of the frame."""
    frame = cols.frame
    problems: dict[str, str] = {}
    dtypes = dict(zip(frame.columns, frame.dtypes, strict=True))
    for name in names:
        spec, expected = fields()[name], _canonical_dtype(name)
        if name not in dtypes:
            problems[name] = "column missing (build the frame with data.contract.to_canonical)"
            continue
        if dtypes[name] != expected:
            problems[name] = f"dtype {dtypes[name]}, expected canonical {expected}"
            continue
        if spec.is_numeric and spec.range is not None:
            values = cols.number(name)
            bad = (values < spec.range[0]) | (values > spec.range[1])
            if bad.any():
                low, high = spec.range
                problems[name] = f"outside the contract range [{low:g}, {high:g}] in {_rows(frame, bad)}"
        if spec.required and cols.is_null(name).any():
            problems[name] = f"required field is null in {_rows(frame, cols.is_null(name))}"
    if problems:
        raise CriteriaInputError(problems)
