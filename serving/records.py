"""Patient input for serving: validate what a clinician or a file gives, and build canonical frames fast.

Everything entering the predictor passes the record contract first (``data.record.PatientRecord``):
a bad record raises :class:`data.record.RecordError` naming each field and reason, a bad row of a batch
raises :class:`BatchRecordError` naming row, field and reason - never the value (patient data).

``canonical_frame`` builds the canonical DataFrame straight from validated dicts. It exists because
``data.contract.to_canonical(pd.DataFrame(records))`` costs several milliseconds for one record (type
inference and casts of every column), far over the serving budget; this builder fills the canonical
arrays directly (well under a millisecond for one patient) and a test holds the two equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data import (
    ID_FIELD,
    LABEL,
    FieldSpec,
    PatientRecord,
    RecordError,
    fields,
    frame_rule_problems,
    to_canonical,
    validate_record,
    without_label,
)
from mmn_ddx.features import ClinicalFeatures, FeatureInputError


class BatchRecordError(RecordError):
    """Some rows of a batch break the contract; ``rows`` maps row number -> {field: reason}.

    Rows are counted from 1 in the order given (the importer's convention for files). ``problems``
    flattens them as ``"row 3: field" -> reason`` for code that handles any :class:`RecordError`.
    """

    def __init__(self, rows: Mapping[int, Mapping[str, str]]) -> None:
        self.rows = {row: dict(problems) for row, problems in rows.items()}
        super().__init__({f"row {row}: {field}": reason for row, problems in self.rows.items()
                          for field, reason in problems.items()})


# PatientRecord is built at run time (pydantic create_model from the data dictionary): mypy sees a variable,
# hence the valid-type ignores below (as in serving/http/routes.py).
def validate_one(record: Mapping[str, Any] | PatientRecord) -> dict[str, Any]:  # type: ignore[valid-type]
    """One record as a dict of every contract field (nulls included), or :class:`RecordError`.

    ``None``, NaN and ``pd.NA`` all mean null (a row of a DataFrame holds nulls as NaN); numpy scalars are
    read as plain Python values; an identifier or category is read without surrounding whitespace, as in a
    cohort file; a ``diagnosis`` key is not read (one that is not a diagnosis is refused). The record model
    checks the data dictionary's cross-field rules as well (e.g. a count of abnormal nerves within the nerves
    studied).
    """
    if isinstance(record, PatientRecord):  # validated: a label (PatientRecordOptionalLabel) is a diagnosis or None
        valid = record.to_dict()
        valid.pop(LABEL, None)
    elif not isinstance(record, Mapping):
        raise RecordError({"<record>": f"expected a JSON object (field -> value), got {type(record).__name__}"})
    else:
        valid = validate_record(without_label({k: _plain(v) for k, v in record.items()})).to_dict()
    return valid


def validate_many(records: Iterable[Mapping[str, Any] | PatientRecord]) -> list[dict[str, Any]]:  # type: ignore[valid-type]
    """Every record validated; :class:`BatchRecordError` lists every bad row (nothing is half-done)."""
    valid: list[dict[str, Any]] = []
    problems: dict[int, dict[str, str]] = {}
    for row, record in enumerate(records, start=1):
        try:
            valid.append(validate_one(record))
        except RecordError as exc:
            problems[row] = exc.problems
    if problems:
        raise BatchRecordError(problems)
    return valid


def validate_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A cohort DataFrame in canonical dtypes, checked against the contract (vectorised).

    A frame already in canonical dtypes (``data.importer.read_cohort``'s ``valid``, the generator) is
    checked with the feature layer's vectorised contract check and the data dictionary's cross-field rules;
    anything else is validated row by row. Raises :class:`BatchRecordError` for rows breaking a rule (rows
    named by the frame's index: the importer's 1-based row numbers) and :class:`RecordError` otherwise.
    """
    unknown = [str(c) for c in frame.columns if c not in fields() and c != LABEL]
    if unknown:
        raise RecordError({name: "unknown field (not in the data dictionary)" for name in unknown})
    if not _is_canonical(frame):
        records = frame.to_dict("records")  # a diagnosis column is checked, then not read (validate_one)
        return canonical_frame(validate_many([_whole_counts(record) for record in records]))
    canonical = to_canonical(frame.drop(columns=[LABEL], errors="ignore"))
    rows = broken_rules(canonical)
    if rows:
        raise BatchRecordError(rows)
    try:
        ClinicalFeatures(mode="with-treatment").fit(canonical)
    except FeatureInputError as exc:
        raise RecordError(exc.problems) from None
    return canonical


def broken_rules(frame: pd.DataFrame) -> dict[Any, dict[str, str]]:
    """Rows (index labels) of a canonical frame breaking a cross-field rule of the data dictionary, per field."""
    rows: dict[Any, dict[str, str]] = {}
    for rule, mask in frame_rule_problems(frame):
        for label in frame.index[mask]:
            rows.setdefault(label, {})[rule.field] = rule.message
    return rows


def _whole_counts(record: dict[str, Any]) -> dict[str, Any]:
    """A count read from a float column (pandas' only way to hold NaN) back to an int: 3.0 -> 3, 2.5 stays."""
    specs = fields()
    return {k: int(v) if k in specs and specs[k].type == "int" and isinstance(v, float) and v.is_integer() else v
            for k, v in record.items()}


def _is_canonical(frame: pd.DataFrame) -> bool:
    dtypes = _dtypes()
    return all(frame[name].dtype == dtypes[name] for name in frame.columns if name in dtypes)


_PLAIN_TYPES = frozenset({str, int, bool, type(None)})


def _plain(value: Any) -> Any:
    """numpy scalars and pandas nulls as plain Python (the strict contract accepts JSON types only)."""
    if type(value) in _PLAIN_TYPES:  # the common case first: one set lookup per field
        return value
    if value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        return None if isinstance(value, float) and value != value else value
    return value


@cache
def _dtypes() -> dict[str, Any]:
    return {name: spec.pandas_dtype() for name, spec in fields().items()}


def canonical_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Validated record dicts (missing key = null) as a canonical frame, same as ``to_canonical``."""
    return pd.DataFrame({name: _column([r.get(name) for r in records], spec) for name, spec in fields().items()},
                        copy=False)


def _column(values: list[Any], spec: FieldSpec) -> Any:
    null = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    if spec.type == "float":
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if spec.type == "int":
        return pd.arrays.IntegerArray(np.array([0 if v is None else v for v in values], dtype=np.int64), null)
    if spec.type == "bool":
        return pd.arrays.BooleanArray(np.array([bool(v) for v in values], dtype=bool) & ~null, null)
    if spec.type == "category":
        lookup = _lookup(spec.name)
        codes = np.array([-1 if v is None else lookup[v] for v in values], dtype=np.int64)
        return pd.Categorical.from_codes(codes, dtype=_dtypes()[spec.name])
    return pd.array(values, dtype=_dtypes()[spec.name])


@cache
def _lookup(name: str) -> dict[str, int]:
    return {value: code for code, value in enumerate(fields()[name].values or ())}


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Canonical frame -> plain record dicts (None for null), e.g. to word the findings of each row."""
    columns = {name: frame[name].astype(object).where(frame[name].notna(), None).tolist()
               for name in frame.columns if name in fields()}
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def patient_ids(frame: pd.DataFrame) -> list[str | None]:
    if ID_FIELD not in frame.columns:
        return [None] * len(frame)
    return [None if v is pd.NA or v is None else str(v) for v in frame[ID_FIELD].tolist()]
