"""File formats in and out of a cohort: raw cells and row numbers in, tables out.

Reading returns *raw* cells (text for CSV, the stored type otherwise) so that the parsing rules of
:mod:`data.cells` are the only place where a cell becomes a value.

Row numbers: ``row`` is the 1-based number of the data row as the user sees it in the file. For CSV and
Excel the header is not counted, so data row 1 is line (Excel row) 2 and row *n* is line *n* + 1 (a
quoted cell spanning several lines shifts later CSV lines, not row numbers). For JSON Lines, row *n* is
line *n*. For a JSON list, row *n* is the *n*-th element. CSV and Excel rows whose cells are all empty
(blank lines, padding rows of spreadsheet exports) carry no data and are not records; they keep their
number. A JSON ``{}`` is a record (and is rejected for its missing required fields).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

READ_FORMATS: tuple[str, ...] = (".csv", ".parquet", ".xlsx", ".jsonl", ".json")
WRITE_FORMATS: tuple[str, ...] = (".csv", ".parquet", ".jsonl", ".xlsx")
ROW = "row"


class CohortError(ValueError):
    """The file as a whole cannot be imported (unreadable, empty, wrong columns, duplicate ids...).

    ``problems`` lists every problem found (the message joins them), so a user fixes all at once.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or [message]
        super().__init__(message)


@dataclass
class RawTable:
    """Raw cells indexed by row number, plus rows that could not even be split into cells."""

    frame: pd.DataFrame
    json_types: bool
    bad_rows: dict[int, str] = field(default_factory=dict)


def read_raw(path: Path) -> RawTable:
    """Read ``path`` by extension; raises :class:`CohortError` if it cannot be read at all."""
    suffix = path.suffix.lower()
    if suffix not in READ_FORMATS:
        raise CohortError(f"{path.name}: unsupported file type '{suffix}' (use {', '.join(READ_FORMATS)})")
    if not path.is_file():
        raise CohortError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CohortError(f"{path.name}: the file is empty")
    reader = {".csv": _read_csv, ".parquet": _read_parquet, ".xlsx": _read_xlsx}.get(suffix, _read_json)
    table = reader(path)
    table.frame.index.name = ROW
    if len(table.frame) == 0 and not table.bad_rows:
        raise CohortError(f"{path.name}: no data rows (only a header, or only empty rows)")
    return table


def read_utf8(path: Path) -> str:
    """Decode as UTF-8 (a leading byte-order mark is allowed), naming the line of a bad byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CohortError(
            f"{path.name} is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line} cannot be decoded "
            "(probably Latin-1/Windows-1252; save the file as 'CSV UTF-8')"
        ) from None


def _header(names: list[Any], source: str) -> list[str]:
    """Header names with surrounding whitespace stripped; duplicates and empty names are errors."""
    header = ["" if pd.isna(name) else str(name).strip() for name in names]
    problems = [f"column {i} has no name" for i, name in enumerate(header, 1) if not name]
    seen: set[str] = set()
    problems += [f"column '{n}' appears more than once" for n in header if n and (n in seen or seen.add(n))]
    if len(header) == 1 and any(sep in header[0] for sep in ";\t"):
        problems.append("the header is a single column: the file must be comma-separated")
    if problems:
        raise CohortError(f"{source}: " + "; ".join(problems), problems)
    return header


def _read_csv(path: Path) -> RawTable:
    text = read_utf8(path)
    if not text.strip():
        raise CohortError(f"{path.name}: the file is empty")
    names = next(csv.reader(io.StringIO(text)))
    header = _header(names, path.name)
    bad: dict[int, str] = {}

    def invalid(row: pacsv.InvalidRow) -> str:
        if row.number is None:  # pragma: no cover - only when pyarrow reads with threads
            raise CohortError(f"{path.name}: a row has {row.actual_columns} cells, expected {row.expected_columns}")
        bad[row.number - 1] = f"has {row.actual_columns} cells, but the header has {row.expected_columns} columns"
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(use_threads=False, column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(
                invalid_row_handler=invalid, ignore_empty_lines=False, newlines_in_values=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise CohortError(f"{path.name}: not a readable CSV file ({exc})") from None
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    numbers = [n for n in range(1, len(frame) + len(bad) + 1) if n not in bad]
    frame.index = pd.Index(numbers, dtype="int64")
    blank = [pc.equal(pc.utf8_trim_whitespace(column), "") for column in table.columns]  # Arrow: fast
    return RawTable(frame.loc[~np.logical_and.reduce([np.asarray(b) for b in blank])], json_types=False, bad_rows=bad)


def _read_parquet(path: Path) -> RawTable:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a corrupt file
        raise CohortError(f"{path.name}: not a readable Parquet file ({type(exc).__name__})") from None
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()  # a stored index is data: check it like any column
    _header(list(frame.columns), path.name)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return RawTable(frame, json_types=False)


def _read_xlsx(path: Path) -> RawTable:
    try:
        sheet = pd.read_excel(path, sheet_name=0, header=None, dtype=object, na_filter=False, engine="openpyxl")
    except Exception as exc:  # openpyxl/zipfile raise several types for a corrupt workbook
        raise CohortError(f"{path.name}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    if sheet.empty:
        raise CohortError(f"{path.name}: the first sheet is empty")
    frame = sheet.iloc[1:].set_axis(_header(list(sheet.iloc[0]), path.name), axis=1)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return RawTable(_drop_empty_rows(frame), json_types=False)


def _read_json(path: Path) -> RawTable:
    text = read_utf8(path)
    records: dict[int, Any] = {}
    bad: dict[int, str] = {}
    if path.suffix.lower() == ".jsonl":
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records[number] = json.loads(line)
                except json.JSONDecodeError as exc:
                    bad[number] = f"not valid JSON ({exc.msg}, column {exc.colno})"
    else:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CohortError(f"{path.name}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(document, (dict, list)):
            raise CohortError(f"{path.name}: expected one JSON object or a list of objects")
        items = [document] if isinstance(document, dict) else document
        records = dict(enumerate(items, 1))
    for number, record in list(records.items()):
        if not isinstance(record, dict):
            bad[number] = f"expected a JSON object, got {type(record).__name__}"
            del records[number]
    if not records and not bad:
        raise CohortError(f"{path.name}: no records")
    frame = pd.DataFrame.from_records(list(records.values()), index=pd.Index(list(records), dtype="int64"))
    return RawTable(frame, json_types=True, bad_rows=bad)


def _drop_empty_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop spreadsheet rows without any content (Excel cells are Python objects: few rows, per cell)."""
    blank = frame.map(lambda v: v is None or v is pd.NA or (isinstance(v, str) and not v.strip()))
    return frame.loc[~blank.all(axis=1)]


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a cohort (or a rejection table) by extension: .csv, .parquet, .jsonl or .xlsx.

    The index is not written: row numbers of an import are provenance, not a field, and a written
    index would come back as an unknown column.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_FORMATS:
        raise CohortError(f"{path.name}: cannot write '{suffix}' (use {', '.join(WRITE_FORMATS)})")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_excel(path, index=False)
    return path
