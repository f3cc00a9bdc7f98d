"""Excel (.xlsx) cohorts, read in openpyxl's read-only mode (flat memory), first sheet only.

Formula cells: a formula is not a finding. openpyxl reads either the formulas or the results Excel
stored with them, so the sheet is read twice in step: a formula without a stored result (written by a
script, never recalculated) rejects its row ("formula cell", as the cell would otherwise read as null =
"not examined"); a formula with a stored result is read as that result and reported as a warning.
Row numbers are Excel's, minus the header row (see :mod:`data.formats`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

from mmn_ddx.data.formats import RECORD, CohortError, RawTable, _header

FORMULA_UNCACHED = "formula cell without a stored result: enter the value itself"
FORMULA_CACHED = "formula cell: its stored result was used (check it, or enter the value itself)"


def read_xlsx(path: Path, chunk_rows: int) -> Iterator[RawTable]:
    """Two read-only passes in step: the formulas (to reject or report them) and their stored results."""
    try:
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
        results = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl/zipfile raise several types for a corrupt workbook
        raise CohortError(f"{path.name}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        sheet = formulas.worksheets[0]
        yield from _xlsx_chunks(path, sheet.iter_rows(), results.worksheets[0].iter_rows(), chunk_rows,
                                sheet.max_row)
    except CohortError:
        raise
    except Exception as exc:  # noqa: BLE001 - a truncated workbook fails while its sheet is read
        raise CohortError(f"{path.name}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    finally:
        formulas.close()
        results.close()


def _xlsx_chunks(path: Path, formulas: Iterator[tuple[Any, ...]], results: Iterator[tuple[Any, ...]],
                 chunk_rows: int, total: int | None) -> Iterator[RawTable]:
    first = next(formulas, None)
    next(results, None)
    if first is None or all(c.value is None for c in first):
        raise CohortError(f"{path.name}: the first sheet is empty")
    names = [c.value for c in first]
    while names and names[-1] is None:  # trailing empty header cells: formatting, not columns
        names.pop()
    header = _header(names, path.name)
    chunk = _XlsxChunk(header)
    for number, (cells, stored) in enumerate(zip(formulas, results, strict=True), 1):
        chunk.add(number, cells, stored)
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

    def add(self, number: int, cells: tuple[Any, ...], stored: tuple[Any, ...]) -> None:
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
        self.rows[number] = values

    def table(self, done: int, total: int | None) -> RawTable:
        self.table_.done, self.table_.total = done, total
        frame = pd.DataFrame(list(self.rows.values()), columns=self.header, dtype=object)
        frame.index = pd.Index(list(self.rows), dtype="int64")
        self.table_.frame = frame
        return self.table_


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
