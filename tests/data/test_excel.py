"""Excel workbooks: the one sheet with cells is read, and merged cells are refused rather than read as nulls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from mmn_ddx.data import excel
from mmn_ddx.data.importer import CohortError, iter_cohort, read_cohort

HEADER = ["patient_id", "age_at_onset_years", "sex", "motor_nerves_studied", "nerves_definite_cb"]
ROWS = [["P1", 45, "male", 8, 3], ["P2", 50, "female", None, None], ["P3", 55, "male", None, None],
        ["P4", 60, "male", 6, 0]]


def _book(path: Path, edit: Callable[[Any, Any], None] = lambda book, sheet: None) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "cohort"
    for row in [HEADER, *ROWS]:
        sheet.append(row)
    edit(book, sheet)
    book.save(path)
    return path


def test_cells_merged_over_data_rows_are_rejected_naming_the_range_and_rows(tmp_path: Path) -> None:
    """D2:D4 merged shows 8 for P1-P3, but only D2 holds it: P2 and P3 read as 'not studied' (issue: silent)."""
    path = _book(tmp_path / "merged.xlsx", lambda book, sheet: (sheet.merge_cells("D2:D4"), sheet.merge_cells("B5:C5")))
    result = read_cohort(path)
    assert result.valid.index.tolist() == []
    problems = result.rejections.set_index(["row", "field"])["reason"]
    assert sorted(problems.index) == [(1, "motor_nerves_studied"), (2, "motor_nerves_studied"),
                                      (3, "motor_nerves_studied"), (4, "age_at_onset_years"), (4, "sex")]
    assert problems[(2, "motor_nerves_studied")].startswith("merged cells D2:D4 (data rows 1-3)")
    assert problems[(4, "sex")].startswith("merged cells B5:C5 (data row 4)")
    assert "unmerge" in problems[(4, "sex")]


@pytest.mark.parametrize("chunk_rows", [1, 2])
def test_merged_cells_are_found_in_every_chunk(tmp_path: Path, chunk_rows: int) -> None:
    path = _book(tmp_path / "merged.xlsx", lambda book, sheet: sheet.merge_cells("E3:E5"))
    rejected = [row for chunk in iter_cohort(path, chunk_rows=chunk_rows) for row in chunk.rejections["row"]]
    assert rejected == [2, 3, 4]


def test_merges_in_the_header_row_or_beyond_the_columns_leave_the_data_alone(tmp_path: Path) -> None:
    def edit(book: Any, sheet: Any) -> None:
        sheet["H2"], sheet["H3"] = "note", None  # a comment column beyond the named ones: refused as any cell there
        sheet.merge_cells("G3:I4")  # blank merged cells beyond the columns
    result = read_cohort(_book(tmp_path / "beyond.xlsx", edit))
    assert result.rejections[["row", "field"]].values.tolist() == [[1, "<row>"]]
    with pytest.raises(CohortError, match="column 2 has no name"):
        read_cohort(_book(tmp_path / "header.xlsx", lambda book, sheet: sheet.merge_cells("A1:B1")))


def test_a_workbook_with_cells_on_several_sheets_is_refused_naming_them(tmp_path: Path) -> None:
    def more(book: Any, sheet: Any) -> None:
        book.create_sheet("more patients").append(["P9"])
        book.create_sheet("empty")
        hidden = book.create_sheet("lookup", 0)
        hidden.append(["code", "meaning"])
        hidden.sheet_state = "hidden"
    with pytest.raises(CohortError) as caught:
        read_cohort(_book(tmp_path / "sheets.xlsx", more))
    message = str(caught.value)
    assert "3 sheets hold cells ('lookup' (hidden), 'cohort', 'more patients')" in message
    assert "'empty'" not in message and "one sheet" in message


def test_the_one_sheet_with_cells_is_read_wherever_it_is(tmp_path: Path) -> None:
    """A workbook whose first sheet is an empty 'Sheet1' (the patients on the second) is read, not refused."""
    def empty_first(book: Any, sheet: Any) -> None:
        book.create_sheet("Sheet1", 0)
        book.create_sheet("Sheet3")
    result = read_cohort(_book(tmp_path / "second.xlsx", empty_first))
    assert result.valid["patient_id"].tolist() == ["P1", "P2", "P3", "P4"]
    book = openpyxl.Workbook()
    book.create_sheet("Sheet2")
    book.save(tmp_path / "blank.xlsx")
    with pytest.raises(CohortError, match="the workbook is empty"):
        read_cohort(tmp_path / "blank.xlsx")


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 20])
def test_merged_ranges_are_scanned_whatever_the_block_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 block: int) -> None:
    """The sheet XML is scanned in blocks (flat memory); a range cut by a block boundary is still found."""
    monkeypatch.setattr(excel, "XML_BLOCK", block)
    path = _book(tmp_path / "merged.xlsx", lambda book, sheet: [sheet.merge_cells(ref) for ref in
                                                                  ("D2:D3", "E4:E5", "A5:A5", "B3:C3")])
    book = openpyxl.load_workbook(path, read_only=True)
    assert sorted(excel._merged_ranges(book.worksheets[0])) == ["A5", "B3:C3", "D2:D3", "E4:E5"]
    book.close()
