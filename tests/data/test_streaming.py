"""Chunked import (issue #15, item 7): reading a file chunk by chunk gives the very same rows, row numbers,
rejections and file-level errors as reading it at once, whatever the format and the chunk boundaries."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from mmn_ddx.data.importer import CohortError, iter_cohort, read_cohort
from mmn_ddx.data.record import validate_record

HEADER = ["patient_id", "age_at_onset_years", "sex", "nerves_definite_cb"]
ROWS = [[f"P{i}", 40 + i, "male" if i % 3 else "female", i % 4] for i in range(23)]
ROWS[4][1] = "abc"  # not a number
ROWS[9][2] = "F"  # unknown category
ROWS[17][3] = 2.5  # not a whole count


def _write(path: Path) -> Path:
    suffix = path.suffix
    if suffix == ".csv":
        lines = [",".join(HEADER)] + [",".join(map(str, r)) for r in ROWS]
        lines.insert(7, "")  # a blank line keeps its number
        lines.insert(12, "P-extra,40,male,1,surplus")  # a row with too many cells
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif suffix == ".jsonl":
        lines = [json.dumps(dict(zip(HEADER, r, strict=True))) for r in ROWS]
        lines.insert(6, "")
        lines.insert(11, "{broken")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif suffix == ".xlsx":
        workbook = openpyxl.Workbook()
        workbook.active.append(HEADER)
        for i, row in enumerate(ROWS):
            workbook.active.append([] if i == 6 else row)
        workbook.save(path)
    else:
        pd.DataFrame([[str(v) for v in r] for r in ROWS], columns=HEADER).to_parquet(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx", ".parquet"])
@pytest.mark.parametrize("chunk_rows", [1, 4, 7])
def test_chunks_add_up_to_the_whole_file(tmp_path: Path, suffix: str, chunk_rows: int) -> None:
    path = _write(tmp_path / f"cohort{suffix}")
    whole = read_cohort(path)
    chunks = list(iter_cohort(path, chunk_rows=chunk_rows))
    assert len(chunks) > 1
    assert sum(c.n_read for c in chunks) == whole.n_read
    assert sum(c.n_valid for c in chunks) + sum(c.n_rejected for c in chunks) == whole.n_read
    pd.testing.assert_frame_equal(pd.concat([c.valid for c in chunks]), whole.valid)
    pd.testing.assert_frame_equal(pd.concat([c.rejections for c in chunks], ignore_index=True), whole.rejections)
    assert whole.n_rejected >= 3


def test_a_duplicate_id_in_a_later_chunk_fails_the_file(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("patient_id,age_at_onset_years,sex\nA,40,male\nB,41,male\nC,42,male\nA,43,male\n", encoding="utf-8")
    with pytest.raises(CohortError, match="rows 1 and 4"):
        list(iter_cohort(path, chunk_rows=2))


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx"])
def test_the_count_rule_is_the_same_in_every_format_and_the_record_api(tmp_path: Path, suffix: str) -> None:
    """10.0 is the count 10, 10.5 is rejected: the importer (every format) and the pydantic record agree."""
    rows = [["P1", 40, "male", 10.0], ["P2", 40, "male", 10.5]]
    path = tmp_path / f"counts{suffix}"
    if suffix == ".csv":
        path.write_text(",".join(HEADER) + "\nP1,40,male,10.0\nP2,40,male,10.5\n", encoding="utf-8")
    elif suffix == ".jsonl":
        path.write_text("\n".join(json.dumps(dict(zip(HEADER, r, strict=True))) for r in rows) + "\n")
    else:
        workbook = openpyxl.Workbook()
        for row in [HEADER, *rows]:
            workbook.active.append(row)
        workbook.save(path)
    result = read_cohort(path)
    assert result.valid["nerves_definite_cb"].tolist() == [10]
    assert result.rejections[["row", "field", "reason"]].values.tolist() == [[2, "nerves_definite_cb",
                                                                              "not a whole number"]]
    for (pid, age, sex, count), accepted in zip(rows, (True, False), strict=True):
        record = {"patient_id": pid, "age_at_onset_years": age, "sex": sex, "nerves_definite_cb": count}
        if accepted:
            assert validate_record(record).to_dict()["nerves_definite_cb"] == 10
        else:
            with pytest.raises(ValueError, match="nerves_definite_cb: not a whole number"):
                validate_record(record)
