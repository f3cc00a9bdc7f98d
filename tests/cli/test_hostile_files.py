"""The hostile-file corpus (issue #15): every file a careless user or an attacker might hand to
``mmn-ddx cohort validate`` and ``mmn-ddx predict`` ends in a clear message, never a traceback, and
accepted + rejected = rows read.

Each case is built here (no binary fixtures in the repository) with what the user should see: either a
file-level message (exit 1, nothing read) or the number of rows read and accepted.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmn_ddx.cli import app
from mmn_ddx.serving.predictor import Predictor

HEADER = "patient_id,age_at_onset_years,sex"
GOOD = [{"patient_id": "P1", "age_at_onset_years": 40, "sex": "male"},
        {"patient_id": "P2", "age_at_onset_years": 51, "sex": "female"}]
SUMMARY = re.compile(r"(\d+) rows read, (\d+) accepted, (\d+) rejected")


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], None]
    message: str | None = None
    """A file-level error: this text in the message."""
    read: int | None = None
    accepted: int | None = None
    rejection: str | None = None
    """Text expected in the rejection table (a reason or a field)."""


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _csv(*lines: str) -> Callable[[Path], None]:
    return _bytes(("\n".join(lines) + "\n").encode("utf-8"))


def _jsonl(*lines: str) -> Callable[[Path], None]:
    return _bytes(("\n".join(lines) + "\n").encode("utf-8"))


def _parquet(table: pa.Table) -> Callable[[Path], None]:
    return lambda path: pq.write_table(table, path)


def _xlsx(rows: list[list[object]]) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        workbook = openpyxl.Workbook()
        for row in rows:
            workbook.active.append(row)
        workbook.save(path)
    return build


def _xlsx_edited(rows: list[list[object]], edit: Callable[[openpyxl.Workbook], object]) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        _xlsx(rows)(path)
        workbook = openpyxl.load_workbook(path)
        edit(workbook)
        workbook.save(path)
    return build


def _xlsx_with_cached_formula(path: Path, field: str = "nerves_definite_cb", formula: str = "1+2",
                              result: str = "3") -> None:
    """A workbook as Excel saves it: the formula and its stored result (openpyxl cannot write the result)."""
    _xlsx([[*HEADER.split(","), field], ["P1", 40, "male", f"={formula}"]])(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                cell = f"<f>{formula}</f><v /></c>".encode()
                assert cell in data
                data = data.replace(cell, f"<f>{formula}</f><v>{result}</v></c>".encode())
            target.writestr(item, data)
    path.write_bytes(buffer.getvalue())


def _truncated(build: Callable[[Path], None]) -> Callable[[Path], None]:
    def cut(path: Path) -> None:
        build(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    return cut


def _good_parquet() -> pa.Table:
    return pa.Table.from_pylist(GOOD)


CASES = [
    # unusable files: one clear message
    Case("empty.csv", _bytes(b""), message="the file is empty"),
    Case("empty.jsonl", _bytes(b""), message="the file is empty"),
    Case("empty.parquet", _bytes(b""), message="the file is empty"),
    Case("empty.xlsx", _bytes(b""), message="the file is empty"),
    Case("blank.jsonl", _bytes(b"\n \n"), message="no records"),
    Case("header_only.csv", _csv(HEADER), message="no data rows"),
    Case("cohort.txt", _csv(HEADER, "P1,40,male"), message="unsupported file type '.txt'"),
    Case("csv_named.parquet", _csv(HEADER, "P1,40,male"), message="not a readable Parquet file"),
    Case("csv_named.xlsx", _csv(HEADER, "P1,40,male"), message="not a readable .xlsx workbook"),
    Case("parquet_named.csv", _parquet(_good_parquet()), message="not UTF-8"),
    Case("xlsx_named.jsonl", _xlsx([HEADER.split(","), ["P1", 40, "male"]]), message="not UTF-8"),
    Case("garbage.csv", _bytes(bytes(range(256)) * 8), message="not UTF-8"),
    Case("garbage.parquet", _bytes(b"PAR1" + bytes(range(256)) * 8 + b"PAR1"), message="not a readable Parquet file"),
    Case("garbage.xlsx", _bytes(b"PK\x03\x04" + bytes(range(256)) * 8), message="not a readable .xlsx workbook"),
    Case("nul.csv", _bytes(b"\x00" * 64), message="NUL bytes"),
    Case("header_without_newline.csv", _bytes(HEADER.encode()), message="no data rows"),
    Case("truncated.parquet", _truncated(_parquet(_good_parquet())), message="not a readable Parquet file"),
    Case("truncated.xlsx", _truncated(_xlsx([HEADER.split(","), ["P1", 40, "male"]])),
         message="not a readable .xlsx workbook"),
    Case("duplicate_columns.csv", _csv(HEADER + ",sex", "P1,40,male,male"), message="'sex' appears more than once"),
    Case("duplicate_columns.parquet", _parquet(pa.table([["P1"], [40], ["male"], ["male"]],
                                                        names=["patient_id", "age_at_onset_years", "sex", "sex"])),
         message="'sex' appears more than once"),
    Case("duplicate_columns.xlsx", _xlsx([[*HEADER.split(","), "sex"], ["P1", 40, "male", "male"]]),
         message="'sex' appears more than once"),
    Case("unknown_column.csv", _csv(HEADER + ",sexe", "P1,40,male,x"), message="unknown column 'sexe'"),
    Case("semicolons.csv", _csv("patient_id;age_at_onset_years;sex", "P1;40;male"), message="comma-separated"),
    Case("huge_row.csv", _csv(HEADER, "P1,40,male", "P" + "x" * (5 << 20) + ",41,male"), message="longer than"),
    Case("deep.json", _bytes(b"[" * 100_000 + b"]" * 100_000), message="not valid JSON"),
    Case("duplicate_ids.csv", _csv(HEADER, "P1,40,male", "P1,41,male"), message="duplicated patient_id"),
    # readable files: every row accepted or rejected, with the reason
    Case("huge_cell.csv", _csv(HEADER, "P1,40,male", "P" + "x" * (300 << 10) + ",41,male"), read=2, accepted=1,
         rejection="longer than 256 kB"),
    Case("bom.csv", _bytes(b"\xef\xbb\xbf" + f"{HEADER}\nP1,40,male\n".encode()), read=1, accepted=1),
    Case("bom.jsonl", _bytes(b"\xef\xbb\xbf" + json.dumps(GOOD[0]).encode() + b"\n"), read=1, accepted=1),
    Case("cr_in_quoted_cell.csv", _bytes(f'{HEADER}\r\n"P\r1",40,male\r\nP2,40,male,extra\r\nP3,abc,male\r\n'
                                         "P4,40,male\r\n".encode()),
         read=4, accepted=2, rejection="│ 3 │ age_at_onset_years"),
    Case("cr_line_endings.csv", _bytes(f"{HEADER}\rP1,40,male\rP2,abc,male\r".encode()), read=2, accepted=1,
         rejection="│ 2 │ age_at_onset_years"),
    Case("huge_numbers.csv", _csv(HEADER + ",nerves_definite_cb", "P1,1e400,male,", "P2,40,male,1e30",
                                  "P3,40,male,99999999999999999999999"), read=3, accepted=0),
    Case("huge_numbers.jsonl", _jsonl('{"patient_id": "P1", "age_at_onset_years": 1e400, "sex": "male"}',
                                      '{"patient_id": "P2", "age_at_onset_years": 40, "sex": "male", '
                                      '"nerves_definite_cb": ' + "9" * 500 + "}"), read=2, accepted=0),
    Case("nan_strings.csv", _csv(HEADER + ",nerves_definite_cb", "P1,40,male,NaN", "P2,Infinity,male,",
                                 "P3,-inf,male,"), read=3, accepted=1, rejection="not a number"),
    Case("nan_literals.jsonl", _jsonl('{"patient_id": "P1", "age_at_onset_years": NaN, "sex": "male"}',
                                      '{"patient_id": "P2", "age_at_onset_years": Infinity, "sex": "male"}',
                                      json.dumps(GOOD[1])), read=3, accepted=1, rejection="not a JSON number"),
    Case("nan_in_list.json", _bytes(b'[{"patient_id": "P1", "age_at_onset_years": NaN, "sex": "male"}, '
                                    + json.dumps(GOOD[1]).encode() + b"]"), read=2, accepted=1),
    Case("mixed_types.jsonl", _jsonl(*(json.dumps({"patient_id": "P", "age_at_onset_years": v, "sex": "male"})
                                       .replace('"P"', f'"P{i}"') for i, v in enumerate(["40", True, [40], {"a": 1},
                                                                                        40]))), read=5, accepted=1),
    Case("mixed_types.csv", _csv(HEADER + ",cramps", "P1,40,male,yes", "P2,40,male,1", "P3,40,male,TRUE"),
         read=3, accepted=2, rejection="not a boolean"),
    Case("ragged.csv", _csv(HEADER, "P1,40", "P2,40,male,x", "P3,40,male"), read=3, accepted=1),
    Case("not_objects.jsonl", _jsonl("[1, 2]", '"text"', json.dumps(GOOD[0])), read=3, accepted=1,
         rejection="expected a JSON object"),
    Case("broken_line.jsonl", _jsonl(json.dumps(GOOD[0]), '{"patient_id": ', json.dumps(GOOD[1])), read=3,
         accepted=2, rejection="not valid JSON"),
    Case("duplicate_keys.jsonl", _jsonl('{"patient_id": "P1", "age_at_onset_years": 40, "sex": "male", '
                                        '"sex": "female"}', json.dumps(GOOD[1])), read=2, accepted=1,
         rejection="duplicate key 'sex'"),
    Case("duplicate_keys.json", _bytes(b'[{"patient_id": "P1", "age_at_onset_years": 40, "age_at_onset_years": 41, '
                                       b'"sex": "male"}]'), read=1, accepted=0, rejection="duplicate key"),
    Case("lone_surrogate.jsonl", _jsonl('{"patient_id": "\\ud800", "age_at_onset_years": 40, "sex": "male"}',
                                        json.dumps(GOOD[1])), read=2, accepted=1, rejection="lone UTF-16 surrogate"),
    Case("list_ids.parquet", _parquet(pa.table({"patient_id": [["a", "b"], ["c"]], "age_at_onset_years": [40, 41],
                                                "sex": ["male", "male"]})), read=2, accepted=0,
         rejection="not a single value"),
    Case("struct_ids.parquet", _parquet(pa.table({"patient_id": [{"x": 1}, {"x": 2}], "age_at_onset_years": [40, 41],
                                                  "sex": ["male", "male"]})), read=2, accepted=0,
         rejection="not a single value"),
    Case("whole_float_counts.csv", _csv(HEADER + ",nerves_definite_cb", "P1,40,male,10.0", "P2,40,male,10.5"),
         read=2, accepted=1, rejection="not a whole number"),
    Case("formula.xlsx", _xlsx([[*HEADER.split(","), "nerves_definite_cb"], ["P1", 40, "male", "=1+2"],
                                ["P2", 40, "male", 3]]), read=2, accepted=1, rejection="formula cell"),
    Case("formula_id.xlsx", _xlsx([HEADER.split(","), ['=HYPERLINK("http://evil.example/","x")', 40, "male"]]),
         read=1, accepted=0, rejection="formula cell"),
    Case("cached_formula.xlsx", _xlsx_with_cached_formula, read=1, accepted=1, rejection="formula cell"),
    Case("two_sheets.xlsx", _xlsx_edited([HEADER.split(","), ["P1", 40, "male"]],
                                         lambda book: book.create_sheet("more").append(["P2", 41, "male"])),
         message="2 sheets hold cells ('Sheet', 'more')"),
    Case("merged.xlsx", _xlsx_edited([HEADER.split(","), ["P1", 40, "male"], ["P2", 41], ["P3", 42, "female"]],
                                     lambda book: book.active.merge_cells("C2:C3")),
         read=3, accepted=1, rejection="merged cells C2:C3 (data rows 1-2)"),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for case in CASES:
        case.build(folder / case.name)
    return folder


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


def _no_traceback(result: object) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_validate_ends_in_a_clear_message(runner: CliRunner, corpus: Path, case: Case) -> None:
    result = runner.invoke(app, ["cohort", "validate", str(corpus / case.name)])
    _no_traceback(result)
    if case.message is not None:
        assert result.exit_code == 1
        assert case.message in result.stderr and "Error:" in result.stderr, result.output
        return
    counts = SUMMARY.search(result.stdout)
    assert counts, result.output
    read, accepted, rejected = map(int, counts.groups())
    assert (read, accepted) == (case.read, case.accepted), result.output
    assert accepted + rejected == read
    assert result.exit_code == (0 if rejected == 0 else 1)
    if case.rejection is not None:
        assert case.rejection in " ".join(result.stdout.split()), result.output


@pytest.fixture(scope="module")
def loaded(quick_bundle_dir: Path) -> Predictor:
    return Predictor.load(str(quick_bundle_dir), threads=1)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_predict_ends_in_a_clear_message(runner: CliRunner, corpus: Path, case: Case, loaded: Predictor,
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file handling of ``predict -o``; the model is loaded once for all cases (loading is tested elsewhere)."""
    monkeypatch.setattr(Predictor, "load", classmethod(lambda cls, *args, **kwargs: loaded))
    output = tmp_path / "scored.parquet"
    result = runner.invoke(app, ["predict", str(corpus / case.name), "--model", "bundle", "-o", str(output),
                                 "--skip-invalid"])
    _no_traceback(result)
    if case.message is not None:
        assert result.exit_code == 1 and case.message in result.stderr, result.output
        assert not output.exists()
        return
    skipped = re.search(r"Skipping (\d+) invalid row", result.stderr)
    n_skipped = int(skipped.group(1)) if skipped else 0
    if case.accepted == 0:
        assert result.exit_code == 1 and "no valid rows" in result.stderr, result.output
        assert not output.exists()
    else:
        assert result.exit_code == 0, result.output
        assert len(pd.read_parquet(output)) == case.accepted
    assert case.accepted + n_skipped == case.read


@pytest.mark.parametrize("to_file", [True, False], ids=["-o", "terminal"])
def test_predict_warns_that_a_formulas_stored_result_was_used(runner: CliRunner, loaded: Predictor, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch, to_file: bool) -> None:
    """`predict cohort.xlsx -o scored.csv` scored a formula's stored result without the warning `cohort validate`
    gives (README: "used and reported as a warning"); the warning names row, field and reason, never the value."""
    monkeypatch.setattr(Predictor, "load", classmethod(lambda cls, *args, **kwargs: loaded))
    path = tmp_path / "cached.xlsx"
    _xlsx_with_cached_formula(path, "csf_protein_g_per_l", "0.4+0.0321", "0.4321")
    output = ["-o", str(tmp_path / "scored.csv")] if to_file else []
    result = runner.invoke(app, ["predict", str(path), "--model", "bundle", *output])
    assert result.exit_code == 0, result.output
    words = " ".join(result.stderr.split())
    assert "Warnings (rows accepted)" in words and "formula cell: its stored result was used" in words, result.output
    assert "csf_protein_g_per_l" in words and "0.4321" not in result.output


@pytest.mark.parametrize("command", ["validate", "predict"])
def test_a_file_without_its_header_row_is_refused_without_showing_its_first_patient(
        runner: CliRunner, loaded: Predictor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    """predict printed "unknown column 'SMITH-JOHN-1961'; unknown column '45'; ..." though it never shows a value."""
    monkeypatch.setattr(Predictor, "load", classmethod(lambda cls, *args, **kwargs: loaded))
    first = ["SMITH-JOHN-1961", "45", "male", "4", "true", "0.5", "2", "8", "mild", "MMN"]
    path = tmp_path / "noheader.csv"
    _csv(",".join(first), "P2,50,female,4,false,0.6,0,6,none,MND")(path)
    args = ["cohort", "validate", str(path)] if command == "validate" else [
        "predict", str(path), "--model", "bundle", "-o", str(tmp_path / "scored.csv")]
    result = runner.invoke(app, args)
    _no_traceback(result)
    assert result.exit_code == 1 and "the first row is not a header row" in result.stderr, result.output
    assert not [cell for cell in first if f"'{cell}'" in result.output] and "SMITH" not in result.output
