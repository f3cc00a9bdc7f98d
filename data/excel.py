"""Excel (.xlsx) cohorts, read in openpyxl's read-only mode (flat memory).

One sheet: a cohort is one table. The sheet read is the one that holds cells (hidden or not, wherever it
is in the workbook); a workbook with cells on several sheets is refused, naming them, since reading one
would ignore the patients on the others without a word.

Merged cells: Excel keeps a merged range's value in its first cell and leaves the others empty, so a
range merged over data rows would read as nulls ("not examined") where the user sees a value. Every
covered cell of a named column in a data row is rejected with its row, naming the range. A range within
the header row is left to the header checks (it leaves a column without a name, which is refused).
openpyxl's read-only mode does not report merged ranges: they are read from the sheet's XML.

Formula cells: a formula is not a finding. openpyxl reads either the formulas or the results Excel
stored with them, so the sheet is read twice in step: a formula without a stored result (written by a
script, never recalculated) rejects its row ("formula cell", as the cell would otherwise read as null =
"not examined"); a formula with a stored result is read as that result and reported as a warning.
Row numbers are Excel's, minus the header row (see :mod:`data.formats`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from openpyxl.utils.cell import range_boundaries

from mmn_ddx.data.formats import RECORD, CohortError, RawTable, _header

FORMULA_UNCACHED = "formula cell without a stored result: enter the value itself"
FORMULA_CACHED = "formula cell: its stored result was used (check it, or enter the value itself)"
SHOWN_SHEETS = 10
XML_BLOCK = 1 << 20
"""Bytes of sheet XML scanned at a time for merged ranges."""
_MERGE_CELL = re.compile(rb"""<(?:[\w.-]+:)?mergeCell\s[^>]*?\bref\s*=\s*["']([^"']+)["']""")
"""A ``<mergeCell ref="D2:D4"/>`` element (any namespace prefix). Cell text cannot hold a literal ``<``."""


def read_xlsx(path: Path, chunk_rows: int) -> Iterator[RawTable]:
    """Two read-only passes in step: the formulas (to reject or report them) and their stored results."""
    try:
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
        results = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl/zipfile raise several types for a corrupt workbook
        raise CohortError(f"{path.name}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        index = _sheet_with_cells(path, formulas.worksheets)
        sheet = formulas.worksheets[index]
        yield from _xlsx_chunks(path, sheet.iter_rows(), results.worksheets[index].iter_rows(), chunk_rows,
                                sheet.max_row, _Merged(_merged_ranges(sheet)))
    except CohortError:
        raise
    except Exception as exc:  # noqa: BLE001 - a truncated workbook fails while its sheet is read
        raise CohortError(f"{path.name}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    finally:
        formulas.close()
        results.close()


def _sheet_with_cells(path: Path, sheets: list[Any]) -> int:
    """Index of the one worksheet holding a non-blank cell; none, or several, is a file-level error."""
    filled = [i for i, sheet in enumerate(sheets) if any(not _blank(v) for row in sheet.iter_rows(values_only=True)
                                                          for v in row)]
    if not filled:
        raise CohortError(f"{path.name}: the workbook is empty (no sheet has a cell)")
    if len(filled) > 1:
        names = [f"'{sheets[i].title}'" + ("" if sheets[i].sheet_state == "visible" else " (hidden)")
                 for i in filled]
        shown = ", ".join(names[:SHOWN_SHEETS]) + (", ..." if len(names) > SHOWN_SHEETS else "")
        raise CohortError(f"{path.name}: {len(filled)} sheets hold cells ({shown}), but only one sheet is read: "
                          "put every patient on one sheet and delete the others (or save that sheet as CSV)")
    return filled[0]


def _merged_ranges(sheet: Any) -> list[str]:
    """The sheet's merged ranges ("D2:D4"), scanned from its XML (read-only mode does not parse them)."""
    refs: list[str] = []
    carry = b""
    with sheet._get_source() as source:  # openpyxl's own source of the read-only rows (private: no public API)
        while block := source.read(XML_BLOCK):
            data = carry + block
            cut = data.rfind(b"<")  # a tag cut by the block boundary starts at the last '<'
            refs += [m.decode("ascii", "replace") for m in _MERGE_CELL.findall(data, 0, max(cut, 0))]
            carry = data[cut:] if cut >= 0 else b""
        refs += [m.decode("ascii", "replace") for m in _MERGE_CELL.findall(carry)]
    return refs


@dataclass(frozen=True)
class _Range:
    ref: str
    min_col: int
    min_row: int
    max_col: int
    max_row: int

    @property
    def reason(self) -> str:
        first, last = max(self.min_row - 1, 1), self.max_row - 1  # data rows: Excel's minus the header
        rows = f"row {last}" if first == last else f"rows {first}-{last}"
        return (f"merged cells {self.ref} (data {rows}): only the first holds the value, the others read as "
                "empty; unmerge them and fill every cell")


class _Merged:
    """Merged ranges that reach a data row, looked up row by row in sheet order (a sweep: flat memory)."""

    def __init__(self, refs: list[str]) -> None:
        ranges = [_Range(ref, *range_boundaries(ref)) for ref in refs]
        self.pending = sorted((r for r in ranges if r.max_row >= 2), key=lambda r: r.min_row, reverse=True)
        self.active: list[_Range] = []

    def at(self, excel_row: int) -> list[_Range]:
        """The ranges covering ``excel_row`` (rows must be asked for in increasing order)."""
        while self.pending and self.pending[-1].min_row <= excel_row:
            self.active.append(self.pending.pop())
        if self.active:
            self.active = [r for r in self.active if r.max_row >= excel_row]
        return self.active


def _xlsx_chunks(path: Path, formulas: Iterator[tuple[Any, ...]], results: Iterator[tuple[Any, ...]],
                 chunk_rows: int, total: int | None, merged: _Merged) -> Iterator[RawTable]:
    first = next(formulas, None)
    next(results, None)
    if first is None or all(c.value is None for c in first):
        raise CohortError(f"{path.name}: the sheet's first row is empty (it must be the header row)")
    names = [c.value for c in first]
    while names and names[-1] is None:  # trailing empty header cells: formatting, not columns
        names.pop()
    header = _header(names, path.name)
    chunk = _XlsxChunk(header)
    for number, (cells, stored) in enumerate(zip(formulas, results, strict=True), 1):
        chunk.add(number, cells, stored, merged.at(number + 1))
        if len(chunk.rows) >= chunk_rows:
            yield chunk.table(number, total)
            chunk = _XlsxChunk(header)
    yield chunk.table(total or 0, total)


class _XlsxChunk:
    """Rows of one chunk of a sheet, with the formula cells found in them."""

    def __init__(self, header: list[str]) -> None:
        self.header = header
        self.rows: dict[int, list[Any]] = {}
        self.table_ = RawTable(pd.DataFrame(), json_types=False)

    def add(self, number: int, cells: tuple[Any, ...], stored: tuple[Any, ...], merged: list[_Range]) -> None:
        width = len(self.header)
        values = [c.value for c in cells]
        if all(_blank(v) for v in values):
            return
        if any(not _blank(v) for v in values[width:]):
            self.table_.bad_rows[number] = (RECORD, f"has cells beyond the {width} named columns")
            return
        values = (values + [None] * width)[:width]
        for i, cell in enumerate(cells[:width]):
            if getattr(cell, "data_type", None) == "f":
                name = self.header[i]
                values[i] = stored[i].value
                if values[i] is None:
                    values[i] = str(cell.value)  # shown in the rejection as written
                    self.table_.cell_problems[(number, name)] = FORMULA_UNCACHED
                else:
                    self.table_.cell_warnings[(number, name)] = FORMULA_CACHED
        for cells_range in merged:  # the merge, not a formula, is the reason given for its cells
            for column in range(cells_range.min_col, min(cells_range.max_col, width) + 1):
                self.table_.cell_problems[(number, self.header[column - 1])] = cells_range.reason
        self.rows[number] = values

    def table(self, done: int, total: int | None) -> RawTable:
        self.table_.done, self.table_.total = done, total
        frame = pd.DataFrame(list(self.rows.values()), columns=self.header, dtype=object)
        frame.index = pd.Index(list(self.rows), dtype="int64")
        self.table_.frame = frame
        return self.table_


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
