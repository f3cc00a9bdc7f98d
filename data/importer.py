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

Big files: :func:`iter_cohort` yields the result chunk by chunk (flat memory: ``cohort validate`` and
``predict -o`` use it); :func:`read_cohort` is the whole file at once. Both check ``patient_id``
uniqueness across the whole file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data._pandera import errors as pa_errors
from mmn_ddx.data.cells import PARSED_DTYPES, cell_texts, parse_column
from mmn_ddx.data.contract import ID_FIELD, LABEL, FieldSpec, fields, label_spec, to_canonical
from mmn_ddx.data.formats import CHUNK_ROWS, RECORD, ROW, CohortError, RawTable, read_chunks, write_table
from mmn_ddx.data.json_records import RecordRejected, single_record
from mmn_ddx.data.record import validate_record
from mmn_ddx.data.schema import BUILTIN_REASONS, LABEL_MISSING, LABEL_REQUIRED, validate_cohort

__all__ = ["CohortError", "ImportResult", "RowError", "iter_cohort", "read_cohort", "read_record_json", "write_table"]

REJECTION_COLUMNS = (ROW, "field", "value", "reason")


class RowError(CohortError):
    """``strict=True``: the first rejected row, with its row number, field and reason (no value)."""

    def __init__(self, source: str, row: int, field: str, reason: str) -> None:
        self.row, self.field, self.reason = row, field, reason
        super().__init__(f"{source}: row {row}, field '{field}': {reason}")


@dataclass(frozen=True)
class ImportResult:
    """Accepted rows (canonical dtypes, index = row number), one rejection row per problem, and warnings
    about accepted cells (an Excel formula whose stored result was used), in the same four columns."""

    valid: pd.DataFrame
    rejections: pd.DataFrame
    n_read: int
    warnings: pd.DataFrame = field(default_factory=lambda: _empty_table())
    done: int = 0
    """Progress through the file (units of ``total``: bytes or rows; None when unknown)."""
    total: int | None = None

    @property
    def n_rejected(self) -> int:
        """Rejected *rows* (a row with three bad fields counts once)."""
        return int(self.rejections[ROW].nunique())

    @property
    def n_valid(self) -> int:
        return len(self.valid)


def read_cohort(path: str | Path, *, require_label: bool = False, strict: bool = False) -> ImportResult:
    """Read and validate a cohort file (.csv UTF-8, .parquet, .xlsx one sheet, .jsonl, .json).

    Raises :class:`CohortError` when the file as a whole is unusable (unreadable, not UTF-8, empty,
    unknown or missing required columns, no ``diagnosis`` column with ``require_label``, duplicate
    ``patient_id``), and :class:`RowError` for the first bad row when ``strict``.
    """
    chunks = list(iter_cohort(path, require_label=require_label, strict=strict, chunk_rows=None))
    if len(chunks) == 1:
        return chunks[0]
    return ImportResult(valid=pd.concat([c.valid for c in chunks]),
                        rejections=pd.concat([c.rejections for c in chunks], ignore_index=True),
                        n_read=sum(c.n_read for c in chunks),
                        warnings=pd.concat([c.warnings for c in chunks], ignore_index=True))


def iter_cohort(path: str | Path, *, require_label: bool = False, strict: bool = False,
                chunk_rows: int | None = CHUNK_ROWS) -> Iterator[ImportResult]:
    """:func:`read_cohort` chunk by chunk (at most ``chunk_rows`` rows each): flat memory for big files.

    A ``patient_id`` that repeats one of an earlier chunk raises :class:`CohortError` in the chunk where
    it appears: consumers that write as they go must write to a temporary file.
    """
    path = Path(path)
    ids = _UniqueIds(path.name)
    for raw in read_chunks(path, chunk_rows):
        yield _import_chunk(raw, path.name, ids, require_label=require_label, strict=strict)


def _import_chunk(raw: RawTable, source: str, ids: _UniqueIds, *, require_label: bool, strict: bool) -> ImportResult:
    if raw.json_types:  # a key missing from every record of a chunk is a per-row problem, not a column
        required = [n for n, spec in fields().items() if spec.required] + ([LABEL] if require_label else [])
        for name in (n for n in required if n not in raw.frame.columns):
            raw.frame[name] = None
    _check_columns(list(raw.frame.columns), require_label=require_label, source=source)
    parsed, problems = _parse(raw)
    ids.add(parsed[ID_FIELD])
    problems.append(_schema_problems(parsed, list(raw.frame.columns), require_label=require_label))
    rejections = _rejection_table(problems, raw)
    if strict and len(rejections):
        first = rejections.iloc[0]
        raise RowError(source, int(first[ROW]), str(first["field"]), str(first["reason"]))
    valid = to_canonical(parsed.loc[~parsed.index.isin(rejections[ROW])])
    warnings = _rejection_table([_cell_table(raw.cell_warnings)], raw)
    warnings = warnings[warnings[ROW].isin(valid.index)].reset_index(drop=True)
    result = ImportResult(valid=valid, rejections=rejections, n_read=raw.n_read, warnings=warnings,
                          done=raw.done, total=raw.total)
    assert result.n_valid + result.n_rejected == raw.n_read, "import lost or duplicated rows"
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
            record = single_record(path)
        except RecordRejected as exc:
            raise CohortError(f"{path.name}: {exc}") from None
        if record is None:
            raise CohortError(f"{path.name}: expected one JSON object (one patient), got a list or a value")
        raw = record
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
        problems.append(f"no '{LABEL}' column ({LABEL_REQUIRED})")
    if problems:
        raise CohortError(f"{source}: " + "; ".join(problems), problems)


def _specs(raw: RawTable) -> list[FieldSpec]:
    return [*fields().values(), *([label_spec()] if LABEL in raw.frame.columns else [])]


def _parse(raw: RawTable) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Typed columns in the parsed stage (missing optional fields null) and the parse problems."""
    index = raw.frame.index
    columns: dict[str, pd.Series] = {}
    problems = [_bad_row_table(raw.bad_rows), _cell_table(raw.cell_problems)]
    for spec in _specs(raw):
        if spec.name in raw.frame.columns:
            values, reasons = parse_column(raw.frame[spec.name], spec, json_types=raw.json_types)
            if len(reasons):
                problems.append(_problems(reasons, spec.name))
        else:
            values = pd.Series(None, index=index, dtype=PARSED_DTYPES[spec.type])
        columns[spec.name] = values
    return pd.DataFrame(columns, index=index), problems


class _UniqueIds:
    """Duplicate ids are a file-level error: which copy is right cannot be decided row by row.

    Checked over all chunks, as each is parsed (before the schema, which would reject them row by row).
    Memory stays flat: 16 bytes per row (a 64-bit hash of the id and its row number), not the ids. Two
    different ids with the same hash (odds ~1e-8 for a million rows) would be reported as duplicates,
    never missed.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.hashes = np.empty(0, dtype=np.uint64)
        self.rows = np.empty(0, dtype=np.int64)

    def add(self, ids: pd.Series) -> None:
        known = ids[ids.notna()]
        self.hashes = np.concatenate([self.hashes, pd.util.hash_array(known.to_numpy(dtype=object))])
        self.rows = np.concatenate([self.rows, known.index.to_numpy(dtype=np.int64)])
        repeated = pd.Series(self.hashes).duplicated(keep=False).to_numpy()
        if not repeated.any():
            return
        groups = pd.Series(self.rows[repeated]).groupby(self.hashes[repeated], sort=False).agg(list)
        shown_groups = [" and ".join(map(str, rows)) for rows in groups]
        shown = "; ".join(f"rows {rows}" for rows in shown_groups[:10]) + ("; ..." if len(groups) > 10 else "")
        raise CohortError(f"{self.source}: {len(groups)} duplicated patient_id value(s), {shown}", [shown])


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
        on_column = cases["schema_context"].eq("Column")  # a cross-field rule's value is valid: no spelling hint
        reasons = reasons + [_category_hint(c, v) if own else "" for c, v, own in
                             zip(cases["column"], cases["failure_case"], on_column, strict=True)]
        return pd.DataFrame({ROW: cases["index"].astype("int64"), "field": cases["column"], "reason": reasons})
    return _problems(pd.Series(dtype=object), "")


def _category_hint(column: str, value: Any) -> str:
    spec = label_spec() if column == LABEL else fields().get(column)
    if spec is None or spec.type != "category" or not isinstance(value, str):
        return ""
    return _suggest(value, list(spec.values or ()))


def _problems(reasons: pd.Series, field: str) -> pd.DataFrame:
    return pd.DataFrame({ROW: reasons.index.astype("int64"), "field": field, "reason": reasons.to_numpy(dtype=object)})


def _bad_row_table(bad_rows: dict[int, tuple[str, str]]) -> pd.DataFrame:
    rows = list(bad_rows)
    return pd.DataFrame({ROW: pd.Series(rows, dtype="int64"), "field": [bad_rows[r][0] for r in rows],
                         "reason": [bad_rows[r][1] for r in rows]})


def _cell_table(cells: dict[tuple[int, str], str]) -> pd.DataFrame:
    keys = list(cells)
    return pd.DataFrame({ROW: pd.Series([k[0] for k in keys], dtype="int64"), "field": [k[1] for k in keys],
                         "reason": [cells[k] for k in keys]})


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({ROW: pd.Series(dtype="int64"), **{c: pd.Series(dtype=pd.StringDtype())
                                                          for c in REJECTION_COLUMNS[1:]}})


def _rejection_table(problems: list[pd.DataFrame], raw: RawTable) -> pd.DataFrame:
    """One row per (row, field) problem, the first reason kept, with the cell as written in the file."""
    table = pd.concat([p for p in problems if len(p)] or [_problems(pd.Series(dtype=object), "")], ignore_index=True)
    table = table.drop_duplicates([ROW, "field"], keep="first")
    order = {name: i for i, name in enumerate([RECORD, *fields(), LABEL])}
    table = table.assign(_order=table["field"].map(order).fillna(-1)).sort_values([ROW, "_order"], kind="stable")
    values = pd.Series(None, index=table.index, dtype=object)
    for name, group in table.groupby("field", sort=False):
        if name in raw.frame.columns:
            cells = raw.frame[name].reindex(group[ROW].to_numpy())
            values[group.index] = cell_texts(cells)
    table["value"] = values.astype(pd.StringDtype())
    table = table.astype({ROW: "int64", "field": pd.StringDtype(), "reason": pd.StringDtype()})
    return table.loc[:, list(REJECTION_COLUMNS)].reset_index(drop=True)
