"""Import a cohort file: every row is either accepted in canonical dtypes or rejected with reasons.

Pipeline: read raw cells (:mod:`data.formats`) -> check the columns against the data dictionary ->
parse every cell with explicit rules (:mod:`data.cells`) -> check duplicate ``patient_id`` -> the
pandera schema, lazily (:mod:`data.schema`: ranges, categories, whole numbers, required fields) ->
cast the accepted rows to canonical dtypes (:func:`data.contract.to_canonical`).

A row with any problem is rejected as a whole (a record with one unreadable finding is not the record
the clinician wrote); each problem is one rejection row ``(row, field, value, reason)``. Invariant:
``len(valid) + n_rejected == n_read``. Nothing is imputed: an empty cell stays null ("not examined").

Row numbers (index of ``valid``, column ``row`` of ``rejections``) are 1-based *data* rows as the user
sees them: for CSV and Excel row 1 is the first row under the header (file line / Excel row 2); for
JSON Lines row *n* is line *n*; for a JSON list, element *n* (see :mod:`data.formats`).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mmn_ddx.data._pandera import errors as pa_errors
from mmn_ddx.data.cells import PARSED_DTYPES, cell_text, parse_column
from mmn_ddx.data.contract import ID_FIELD, LABEL, FieldSpec, fields, label_spec, to_canonical
from mmn_ddx.data.formats import ROW, CohortError, RawTable, read_raw, read_utf8, write_table
from mmn_ddx.data.record import validate_record
from mmn_ddx.data.schema import BUILTIN_REASONS, LABEL_MISSING, validate_cohort

__all__ = ["CohortError", "ImportResult", "RowError", "read_cohort", "read_record_json", "write_table"]

RECORD = "<row>"
"""``field`` of a rejection that concerns the whole row (e.g. a CSV row with too many cells)."""
REJECTION_COLUMNS = (ROW, "field", "value", "reason")


class RowError(CohortError):
    """``strict=True``: the first rejected row, with its row number, field and reason (no value)."""

    def __init__(self, source: str, row: int, field: str, reason: str) -> None:
        self.row, self.field, self.reason = row, field, reason
        super().__init__(f"{source}: row {row}, field '{field}': {reason}")


@dataclass(frozen=True)
class ImportResult:
    """Accepted rows (canonical dtypes, index = row number) and one rejection row per problem."""

    valid: pd.DataFrame
    rejections: pd.DataFrame
    n_read: int

    @property
    def n_rejected(self) -> int:
        """Rejected *rows* (a row with three bad fields counts once)."""
        return int(self.rejections[ROW].nunique())

    @property
    def n_valid(self) -> int:
        return len(self.valid)


def read_cohort(path: str | Path, *, require_label: bool = False, strict: bool = False) -> ImportResult:
    """Read and validate a cohort file (.csv UTF-8, .parquet, .xlsx first sheet, .jsonl, .json).

    Raises :class:`CohortError` when the file as a whole is unusable (unreadable, not UTF-8, empty,
    unknown or missing required columns, no ``diagnosis`` column with ``require_label``, duplicate
    ``patient_id``), and :class:`RowError` for the first bad row when ``strict``.
    """
    path = Path(path)
    raw = read_raw(path)
    _check_columns(list(raw.frame.columns), require_label=require_label, source=path.name)
    parsed, problems = _parse(raw)
    _check_unique_ids(parsed, path.name)
    problems.append(_schema_problems(parsed, list(raw.frame.columns), require_label=require_label))
    rejections = _rejection_table(problems, raw)
    n_read = len(raw.frame) + len(raw.bad_rows)
    if strict and len(rejections):
        first = rejections.iloc[0]
        raise RowError(path.name, int(first[ROW]), str(first["field"]), str(first["reason"]))
    valid = to_canonical(parsed.loc[~parsed.index.isin(rejections[ROW])])
    result = ImportResult(valid=valid, rejections=rejections, n_read=n_read)
    assert result.n_valid + result.n_rejected == n_read, "import lost or duplicated rows"
    return result


def read_record_json(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """One patient record from a .json file (one object) or a mapping, validated by ``PatientRecord``.

    Returns every contract field, nulls included. Raises :class:`CohortError` for an unreadable file
    and :class:`data.record.RecordError` (naming each bad field) for an invalid record.
    """
    if isinstance(source, Mapping):
        raw = dict(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise CohortError(f"{path}: no such file")
        try:
            raw = json.loads(read_utf8(path))
        except json.JSONDecodeError as exc:
            raise CohortError(f"{path.name}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(raw, dict):
            raise CohortError(f"{path.name}: expected one JSON object (one patient), got {type(raw).__name__}")
    return validate_record(raw).to_dict()


def _suggest(name: str, candidates: list[str]) -> str:
    """A "did you mean" hint for a near-miss, ignoring case ("Sex" -> "sex", "mmn" -> "MMN")."""
    by_lower = {candidate.lower(): candidate for candidate in candidates}
    match = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean '{by_lower[match[0]]}'?)" if match else ""


def _check_columns(columns: list[str], *, require_label: bool, source: str) -> None:
    """Column-level problems, all at once: a typo in a header must never drop a finding silently."""
    known = [*fields(), LABEL]
    problems = [f"unknown column '{c}'{_suggest(c, known)}" for c in columns if c not in known]
    missing = [name for name, spec in fields().items() if spec.required and name not in columns]
    if missing:
        problems.append("missing required column(s): " + ", ".join(missing))
    if require_label and LABEL not in columns:
        problems.append(f"no '{LABEL}' column, but the reference diagnosis is required (training data)")
    if problems:
        raise CohortError(f"{source}: " + "; ".join(problems), problems)


def _specs(raw: RawTable) -> list[FieldSpec]:
    return [*fields().values(), *([label_spec()] if LABEL in raw.frame.columns else [])]


def _parse(raw: RawTable) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Typed columns in the parsed stage (missing optional fields null) and the parse problems."""
    index = raw.frame.index
    columns: dict[str, pd.Series] = {}
    problems = [_problems(pd.Series(raw.bad_rows, dtype=object), RECORD)]
    for spec in _specs(raw):
        if spec.name in raw.frame.columns:
            values, reasons = parse_column(raw.frame[spec.name], spec, json_types=raw.json_types)
            if len(reasons):
                problems.append(_problems(reasons, spec.name))
        else:
            values = pd.Series(None, index=index, dtype=PARSED_DTYPES[spec.type])
        columns[spec.name] = values
    return pd.DataFrame(columns, index=index), problems


def _check_unique_ids(parsed: pd.DataFrame, source: str) -> None:
    """Duplicate ids are a file-level error: which copy is right cannot be decided row by row."""
    ids = parsed[ID_FIELD]
    duplicated = ids[ids.notna() & ids.duplicated(keep=False)]
    if duplicated.empty:
        return
    groups = [" and ".join(map(str, rows)) for rows in duplicated.groupby(duplicated, sort=False).groups.values()]
    shown = "; ".join(f"rows {rows}" for rows in groups[:10]) + ("; ..." if len(groups) > 10 else "")
    raise CohortError(f"{source}: {len(groups)} duplicated patient_id value(s), {shown}", [shown])


def _schema_problems(parsed: pd.DataFrame, present: list[str], *, require_label: bool) -> pd.DataFrame:
    only = tuple(name for name in parsed.columns if name in present)
    try:
        validate_cohort(parsed, require_label=require_label, canonical=False, only=only)
    except pa_errors.SchemaErrors as exc:
        cases = exc.failure_cases
        column_level = cases[cases["index"].isna()]
        if len(column_level):  # dtypes are set by _parse: a failure here is a bug, not bad data
            raise RuntimeError(f"parsed cohort failed column checks: {column_level[['column', 'check']]}") from None
        reasons = cases["check"].map(lambda check: BUILTIN_REASONS.get(check, check))
        is_label = cases["column"].eq(LABEL) & cases["check"].eq("not_nullable")
        reasons = reasons.mask(is_label, LABEL_MISSING)
        reasons = reasons + [_category_hint(c, v) for c, v in zip(cases["column"], cases["failure_case"], strict=True)]
        return pd.DataFrame({ROW: cases["index"].astype("int64"), "field": cases["column"], "reason": reasons})
    return _problems(pd.Series(dtype=object), "")


def _category_hint(column: str, value: Any) -> str:
    spec = label_spec() if column == LABEL else fields().get(column)
    if spec is None or spec.type != "category" or not isinstance(value, str):
        return ""
    return _suggest(value, list(spec.values or ()))


def _problems(reasons: pd.Series, field: str) -> pd.DataFrame:
    return pd.DataFrame({ROW: reasons.index.astype("int64"), "field": field, "reason": reasons.to_numpy(dtype=object)})


def _rejection_table(problems: list[pd.DataFrame], raw: RawTable) -> pd.DataFrame:
    """One row per (row, field) problem, the first reason kept, with the cell as written in the file."""
    table = pd.concat([p for p in problems if len(p)] or [_problems(pd.Series(dtype=object), "")], ignore_index=True)
    table = table.drop_duplicates([ROW, "field"], keep="first")
    order = {name: i for i, name in enumerate([RECORD, *fields(), LABEL])}
    table = table.assign(_order=table["field"].map(order)).sort_values([ROW, "_order"], kind="stable")
    values = pd.Series(None, index=table.index, dtype=object)
    for field, group in table.groupby("field", sort=False):
        if field in raw.frame.columns:
            cells = raw.frame[field].reindex(group[ROW].to_numpy())
            values[group.index] = [cell_text(v) for v in cells]
    table["value"] = values.astype(pd.StringDtype())
    table = table.astype({ROW: "int64", "field": pd.StringDtype(), "reason": pd.StringDtype()})
    return table.loc[:, list(REJECTION_COLUMNS)].reset_index(drop=True)
