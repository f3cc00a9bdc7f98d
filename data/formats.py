"""File formats in: raw cells and row numbers, read in chunks so that memory stays flat.

Reading returns *raw* cells (text for CSV, the stored type otherwise) so that the parsing rules of
:mod:`data.cells` are the only place where a cell becomes a value. :func:`read_chunks` yields
:class:`RawTable` chunks of at most ``chunk_rows`` rows (pyarrow's streaming CSV reader, Parquet row
batches, openpyxl's read-only mode, JSON Lines line by line; a ``.json`` document is read whole).

Row numbers: ``row`` is the 1-based number of the data row as the user sees it in the file. For CSV and
Excel the header is not counted, so data row 1 is line (Excel row) 2 and row *n* is line *n* + 1 (a
quoted cell spanning several lines shifts later CSV lines, not row numbers). For JSON Lines, row *n* is
line *n*. For a JSON list, row *n* is the *n*-th element. CSV and Excel rows whose cells are all empty
(blank lines, padding rows of spreadsheet exports) carry no data and are not records; they keep their
number. A JSON ``{}`` is a record (and is rejected for its missing required fields).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from mmn_ddx.data.cells import looks_like_a_value
from mmn_ddx.data.contract import LABEL, fields
from mmn_ddx.data.writers import WRITE_FORMATS, write_table

__all__ = ["READ_FORMATS", "RECORD", "ROW", "WRITE_FORMATS", "CohortError", "RawTable", "read_chunks", "read_raw",
           "read_utf8", "write_table"]

READ_FORMATS: tuple[str, ...] = (".csv", ".parquet", ".xlsx", ".jsonl", ".json")
ROW = "row"
RECORD = "<row>"
"""``field`` of a problem that concerns the whole row (e.g. a CSV row with too many cells)."""
CHUNK_ROWS = 50_000
"""Rows per chunk: large enough that per-chunk costs (pandera ~10 ms per column) stay small."""
CSV_BLOCK_BYTES = 1 << 20
"""pyarrow parses CSV in blocks of this size; a row much longer fails the file (see :data:`TOO_LONG`).
Its buffers scale with it: 16 MB blocks cost ~100 MB more peak memory than 1 MB blocks."""
TOO_LONG = (f"a row is longer than {CSV_BLOCK_BYTES >> 20} MB (a cell this large is not a patient finding: "
            "is this the right file?)")
MAX_CELL_BYTES = 256 << 10
CELL_TOO_LONG = f"longer than {MAX_CELL_BYTES >> 10} kB: not a patient finding (value not shown)"
"""A CSV cell over :data:`MAX_CELL_BYTES` is rejected with its row (and never echoed)."""


def not_a_header() -> str:
    """Why a first row of values is refused; its cells are not quoted (they are a patient's values)."""
    required = ", ".join(name for name, spec in fields().items() if spec.required)
    return (f"the first row is not a header row: it names no field and holds values (numbers, true/false or "
            f"categories; not shown). Add a first row naming the columns as in the data dictionary (at least "
            f"{required})")


class CohortError(ValueError):
    """The file as a whole cannot be imported (unreadable, empty, wrong columns, duplicate ids...).

    ``problems`` lists every problem found (the message joins them), so a user fixes all at once.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or [message]
        super().__init__(message)


@dataclass
class RawTable:
    """Raw cells indexed by row number, plus problems found before parsing.

    ``bad_rows``: rows that could not even be read as records (``row -> (field, reason)``, field
    :data:`RECORD` or a key); ``cell_problems`` / ``cell_warnings``: ``(row, field) -> reason`` for cells
    that are read but must be rejected (a formula without a stored result) or reported (a formula).
    """

    frame: pd.DataFrame
    json_types: bool
    bad_rows: dict[int, tuple[str, str]] = field(default_factory=dict)
    cell_problems: dict[tuple[int, str], str] = field(default_factory=dict)
    cell_warnings: dict[tuple[int, str], str] = field(default_factory=dict)
    done: int = 0
    """Progress through the file after this chunk, in units of ``total`` (bytes or rows)."""
    total: int | None = None

    @property
    def n_read(self) -> int:
        return len(self.frame) + len(self.bad_rows)


def read_raw(path: Path) -> RawTable:
    """The whole file as one table (small files); raises :class:`CohortError` if it cannot be read."""
    chunks = list(read_chunks(path, chunk_rows=None))
    if len(chunks) == 1:
        return chunks[0]
    return RawTable(pd.concat([c.frame for c in chunks]), chunks[0].json_types,
                    {k: v for c in chunks for k, v in c.bad_rows.items()},
                    {k: v for c in chunks for k, v in c.cell_problems.items()},
                    {k: v for c in chunks for k, v in c.cell_warnings.items()})


def read_chunks(path: Path, chunk_rows: int | None = CHUNK_ROWS) -> Iterator[RawTable]:
    """Chunks of ``path`` by extension (all with the same columns); :class:`CohortError` if unusable.

    ``chunk_rows=None`` reads everything into one chunk.
    """
    suffix = path.suffix.lower()
    if suffix not in READ_FORMATS:
        raise CohortError(f"{path.name}: unsupported file type '{suffix}' (use {', '.join(READ_FORMATS)})")
    if not path.is_file():
        raise CohortError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CohortError(f"{path.name}: the file is empty")
    if suffix == ".xlsx":
        from mmn_ddx.data.excel import read_xlsx as reader  # openpyxl only for .xlsx files
    else:
        reader = {".csv": _read_csv, ".parquet": _read_parquet}.get(suffix, _read_json)
    rows = chunk_rows or 2**62
    any_rows = False
    for table in reader(path, rows):
        table.frame.index.name = ROW
        if table.n_read:
            any_rows = True
            yield table
    if not any_rows:
        raise CohortError(f"{path.name}: " + ("no records" if suffix in (".json", ".jsonl") else
                                              "no data rows (only a header, or only empty rows)"))


def read_utf8(path: Path) -> str:
    """Decode as UTF-8 (a leading byte-order mark is allowed), naming the line of a bad byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, data[exc.start], data[: exc.start].count(b"\n") + 1) from None


def _not_utf8(path: Path, byte: int, line: int) -> CohortError:
    return CohortError(
        f"{path.name} is not UTF-8 text: byte 0x{byte:02x} on line {line} cannot be decoded "
        "(probably Latin-1/Windows-1252; save the file as 'CSV UTF-8')"
    )


def _check_utf8(path: Path) -> None:
    """Find the first byte that is not UTF-8, reading in blocks (only after pyarrow refused the text)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise _not_utf8(path, block[exc.start], line + block[: exc.start].count(b"\n")) from None
            line += block.count(b"\n")
        decoder.decode(b"", final=True)


def _header(names: list[Any], source: str) -> list[str]:
    """Header names with surrounding whitespace stripped; duplicates and empty names are errors.

    A first row that names no field and holds values is a patient's row, not a header: said so without its
    cells (unknown, duplicate or empty "names" would quote them, and ``predict`` never shows a value).
    """
    header = ["" if pd.isna(name) else str(name).strip() for name in names]
    if not set(header) & {*fields(), LABEL} and any(map(looks_like_a_value, header)):
        raise CohortError(f"{source}: {not_a_header()}")
    problems = [f"column {i} has no name" for i, name in enumerate(header, 1) if not name]
    seen: set[str] = set()
    for name in filter(None, header):
        if name in seen:
            problems.append(f"column '{name}' appears more than once")
        seen.add(name)
    if len(header) == 1 and any(sep in header[0] for sep in ";\t"):
        problems.append("the header is a single column: the file must be comma-separated")
    if problems:
        raise CohortError(f"{source}: " + "; ".join(problems), problems)
    return header


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as text:  # newline="": a CR-only file works too
            names = next(csv.reader(text), None)
    except UnicodeDecodeError:
        _check_utf8(path)
        raise
    except csv.Error as exc:
        raise CohortError(f"{path.name}: the header is not readable CSV ({exc})") from None
    if not names or not any(n.strip() for n in names):
        raise CohortError(f"{path.name}: the file is empty")
    if any("\x00" in n for n in names):
        raise CohortError(f"{path.name}: NUL bytes in the header: binary data, not CSV text")
    return _header(names, path.name)


def _read_csv(path: Path, chunk_rows: int) -> Iterator[RawTable]:
    header = _csv_header(path)
    size = path.stat().st_size
    with path.open("rb") as stream:
        yield from _csv_chunks(path, stream, header, chunk_rows, size)


def _csv_chunks(path: Path, stream: Any, header: list[str], chunk_rows: int, size: int) -> Iterator[RawTable]:
    bad: dict[int, tuple[str, str]] = {}

    def invalid(row: pacsv.InvalidRow) -> str:
        if row.number is None:  # pragma: no cover - only when pyarrow reads with threads
            raise CohortError(f"{path.name}: a row has {row.actual_columns} cells, expected {row.expected_columns}")
        reason = f"has {row.actual_columns} cells, but the header has {row.expected_columns} columns"
        bad[row.number - 1] = (RECORD, reason)
        return "skip"

    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(use_threads=False, column_names=header, skip_rows=1,
                                           block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(invalid_row_handler=invalid, ignore_empty_lines=False,
                                             newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in header},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        numbered = 0  # data rows numbered so far (bad rows included)
        pending: pa.Table | None = None
        while True:
            batch = _next_batch(reader)
            if batch is not None:
                table = pa.Table.from_batches([batch])
                pending = table if pending is None else pa.concat_tables([pending, table])
            while pending is not None and len(pending) and (len(pending) >= chunk_rows or batch is None):
                head, pending = pending.slice(0, chunk_rows), pending.slice(chunk_rows)
                numbers, numbered = _number(len(head), numbered, bad)
                chunk = _csv_table(head, numbers, {n: bad.pop(n) for n in list(bad) if n <= numbered})
                chunk.done, chunk.total = min(stream.tell(), size), size
                yield chunk
            if batch is None:
                break
    except pa.ArrowInvalid as exc:
        raise _csv_error(path, exc) from None
    if bad:  # invalid rows after the last good one
        yield RawTable(pd.DataFrame({n: pd.Series(dtype=pd.StringDtype()) for n in header}), False, bad,
                       done=size, total=size)


def _next_batch(reader: pacsv.CSVStreamingReader) -> pa.RecordBatch | None:
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None


def _number(n_rows: int, numbered: int, bad: dict[int, tuple[str, str]]) -> tuple[list[int], int]:
    """Row numbers of the next ``n_rows`` good rows: the following numbers not taken by a bad row."""
    numbers: list[int] = []
    while len(numbers) < n_rows:
        numbered += 1
        if numbered not in bad:
            numbers.append(numbered)
    return numbers, numbered


def _csv_table(table: pa.Table, numbers: list[int], bad: dict[int, tuple[str, str]]) -> RawTable:
    too_long: dict[tuple[int, str], str] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):  # Arrow: fast
        long = np.asarray(pc.greater(pc.binary_length(column), MAX_CELL_BYTES))
        if long.any():
            too_long.update({(numbers[i], name): CELL_TOO_LONG for i in np.flatnonzero(long)})
            table = table.set_column(table.column_names.index(name), name,
                                     pc.if_else(pa.array(long), pa.scalar(None, pa.string()), column))
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    frame.index = pd.Index(numbers, dtype="int64")
    blank = [pc.equal(pc.utf8_trim_whitespace(column), "") for column in table.columns]
    keep = (
        ~np.logical_and.reduce([np.asarray(b.fill_null(False)) for b in blank]) if blank else np.ones(len(frame), bool)
    )
    keep |= frame.index.isin([row for row, _ in too_long])
    return RawTable(frame.loc[keep], json_types=False, bad_rows=bad, cell_problems=too_long)


def _csv_error(path: Path, exc: pa.ArrowInvalid) -> CohortError:
    """A readable message for pyarrow's; its text is not shown, as it may quote a row (patient data)."""
    text = str(exc)
    if "Could not skip initial" in text and "\n" not in path.read_bytes()[:CSV_BLOCK_BYTES].decode("utf-8", "replace"):
        return CohortError(f"{path.name}: no data rows (only a header)")
    if "straddling" in text or "block size" in text:
        return CohortError(f"{path.name}: {TOO_LONG}")
    if "UTF8" in text or "utf8" in text.lower():
        _check_utf8(path)
    return CohortError(f"{path.name}: not a readable CSV file ({text.split(':')[0][:80]})")


def _read_parquet(path: Path, chunk_rows: int) -> Iterator[RawTable]:
    try:
        file = pq.ParquetFile(path)
        _header(file.schema_arrow.names, path.name)
        start = 1
        for batch in file.iter_batches(batch_size=min(chunk_rows, 2**31 - 1)):
            # an integer column with a null would become float64 (2**53 + 1 -> 2**53, 1 -> 1.0): keep its ints
            frame = batch.to_pandas(integer_object_nulls=True)
            if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
                frame = frame.reset_index()  # a stored index is data: check it like any column
            _header(list(frame.columns), path.name)
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield RawTable(frame, json_types=False, done=start - 1, total=file.metadata.num_rows)
    except CohortError:
        raise
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several unrelated types for a corrupt file
        raise CohortError(f"{path.name}: not a readable Parquet file ({type(exc).__name__})") from None


def _read_json(path: Path, chunk_rows: int) -> Iterator[RawTable]:
    from mmn_ddx.data.json_records import json_lines, json_list

    source = json_lines(path) if path.suffix.lower() == ".jsonl" else json_list(path)
    records: dict[int, dict[str, Any]] = {}
    bad: dict[int, tuple[str, str]] = {}
    number = 0
    for number, record, problem in source:
        if problem is not None:
            bad[number] = problem
        else:
            records[number] = record
        if len(records) + len(bad) >= chunk_rows:
            yield _json_table(records, bad, number)
            records, bad = {}, {}
    yield _json_table(records, bad, number)


def _json_table(records: dict[int, dict[str, Any]], bad: dict[int, tuple[str, str]], done: int) -> RawTable:
    frame = pd.DataFrame.from_records(list(records.values()), index=pd.Index(list(records), dtype="int64"))
    return RawTable(frame, json_types=True, bad_rows=bad, done=done)
