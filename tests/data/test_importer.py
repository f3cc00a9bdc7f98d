"""Cohort import: every row accepted in canonical dtypes or rejected with (row, field, value, reason)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmn_ddx.data.cells import parse_column
from mmn_ddx.data.contract import FIELD_NAMES, ID_FIELD, LABEL, fields, to_canonical
from mmn_ddx.data.importer import CohortError, ImportResult, RowError, read_cohort, read_record_json, write_table
from mmn_ddx.data.record import RecordError
from mmn_ddx.data.schema import LABEL_MISSING, LABEL_REQUIRED, validate_cohort

VIGNETTES = Path(__file__).parent / "fixtures" / "vignettes.csv"
HEADER = VIGNETTES.read_text(encoding="utf-8").splitlines()[0]


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    """The fixture vignettes parsed by pandas' own CSV reader (independent of the importer)."""
    return to_canonical(pd.read_csv(VIGNETTES))


def _csv(tmp_path: Path, text: str, name: str = "cohort.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _assert_consistent(result: ImportResult) -> None:
    assert result.n_valid + result.n_rejected == result.n_read
    assert list(result.rejections.columns) == ["row", "field", "value", "reason"]
    assert result.rejections["reason"].notna().all()
    assert not set(result.valid.index) & set(result.rejections["row"]), "a row is both accepted and rejected"
    validate_cohort(result.valid)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".xlsx"])
def test_every_format_round_trips_the_vignettes(tmp_path: Path, expected: pd.DataFrame, suffix: str) -> None:
    result = read_cohort(write_table(expected, tmp_path / f"cohort{suffix}"), require_label=True)
    _assert_consistent(result)
    assert result.n_read == 4 and result.rejections.empty
    assert result.valid.index.tolist() == [1, 2, 3, 4] and result.valid.index.name == "row"
    pd.testing.assert_frame_equal(result.valid.reset_index(drop=True), expected)


def test_json_holds_one_record_or_a_list(tmp_path: Path, expected: pd.DataFrame) -> None:
    records = json.loads(expected.to_json(orient="records"))
    (tmp_path / "list.json").write_text(json.dumps(records), encoding="utf-8")
    (tmp_path / "one.json").write_text(json.dumps(records[2]), encoding="utf-8")
    pd.testing.assert_frame_equal(read_cohort(tmp_path / "list.json").valid.reset_index(drop=True), expected)
    one = read_cohort(tmp_path / "one.json").valid
    assert one.index.tolist() == [1] and one[ID_FIELD].tolist() == ["V-CIDP"]


def test_absent_optional_columns_come_back_null_never_normal(tmp_path: Path) -> None:
    result = read_cohort(_csv(tmp_path, "age_at_onset_years,sex\n40,male\n"))
    assert list(result.valid.columns) == list(FIELD_NAMES)
    assert result.valid.drop(columns=["age_at_onset_years", "sex"]).isna().all().all()


REJECT = "reject"
CELL_RULES: list[tuple[str, str, Any, str]] = [
    ("bulbar_weakness", "TRUE", True, ""),
    ("bulbar_weakness", "false", False, ""),
    ("bulbar_weakness", "1", True, ""),
    ("bulbar_weakness", "0", False, ""),
    ("bulbar_weakness", "", None, ""),
    ("bulbar_weakness", "NA", None, ""),
    ("bulbar_weakness", "null", None, ""),
    ("bulbar_weakness", "yes", REJECT, "not a boolean"),
    ("bulbar_weakness", "2", REJECT, "not a boolean"),
    ("nerves_definite_cb", "4.0", 4, ""),
    ("nerves_definite_cb", " 3 ", 3, ""),
    ("nerves_definite_cb", "4.5", REJECT, "not a whole number"),
    ("nerves_definite_cb", "41", REJECT, "outside the allowed range 0 to 40"),
    ("nerves_definite_cb", "4x", REJECT, "not a number"),
    ("csf_protein_g_per_l", "4.5e-1", 0.45, ""),
    ("csf_protein_g_per_l", "NaN", None, ""),
    ("csf_protein_g_per_l", "0,45", REJECT, "use '.' as the decimal separator"),
    ("csf_protein_g_per_l", "0,600", REJECT, "use '.' as the decimal separator"),
    ("csf_cells_per_ul", "1,200", REJECT, "is the ',' a thousands separator or a decimal comma?"),
    ("csf_cells_per_ul", "12,000,000", REJECT, "is the ',' a thousands separator or a decimal comma?"),
    ("anti_gm1_igm_ratio", "1,234.5", REJECT, "without the thousands separator"),
    ("csf_protein_g_per_l", "inf", REJECT, "not a number"),
    ("csf_protein_g_per_l", "0.45 g/L", REJECT, "not a number"),
    ("muscle_atrophy", "none", "none", ""),
    ("muscle_atrophy", "None", REJECT, "did you mean 'none'?"),
    ("muscle_atrophy", "severe", REJECT, "not one of: none, mild, marked"),
    ("sex", "Female", REJECT, "did you mean 'female'?"),
    ("age_at_onset_years", "", REJECT, "required"),
    ("age_at_onset_years", "-1", REJECT, "outside the allowed range 0 to 110"),
]


@pytest.mark.parametrize(("field", "cell", "value", "reason"), CELL_RULES)
def test_csv_cell_rules(tmp_path: Path, field: str, cell: str, value: Any, reason: str) -> None:
    base = {"age_at_onset_years": "40", "sex": "male", field: cell}
    path = tmp_path / "cohort.csv"  # written as a user's tool would
    pd.DataFrame([base]).to_csv(path, index=False)  # pandas quotes "0,45"
    result = read_cohort(path)
    _assert_consistent(result)
    if value is REJECT:
        assert result.valid.empty
        (rejection,) = result.rejections.itertuples(index=False)
        assert (rejection.row, rejection.field, rejection.value) == (1, field, cell)
        assert reason in rejection.reason
        assert not cell or cell not in rejection.reason, "predict shows the reason, never the value"
    else:
        assert result.rejections.empty
        got = result.valid.at[1, field]
        assert (pd.isna(got) if value is None else got == value), f"{cell!r} -> {got!r}"


def test_rows_are_numbered_as_data_rows_under_the_header(tmp_path: Path) -> None:
    lines = ["age_at_onset_years,sex,cramps", "40,male,true", "", "41,female,maybe", "42,male,false", "200,male,"]
    result = read_cohort(_csv(tmp_path, "\n".join(lines) + "\n"))
    _assert_consistent(result)
    assert result.n_read == 4, "the blank line is not a record"
    assert result.rejections[["row", "field", "value"]].values.tolist() == [
        [3, "cramps", "maybe"],
        [5, "age_at_onset_years", "200"],
    ]
    for row, value in zip(result.rejections["row"], result.rejections["value"], strict=True):
        assert value in lines[row], "row n is file line n + 1 (lines[row] with the header as lines[0])"
    assert result.valid.index.tolist() == [1, 4]


def test_a_row_with_several_problems_is_rejected_once_listing_each(tmp_path: Path) -> None:
    text = "age_at_onset_years,sex,cramps,nerves_cv_slowed\n40,man,often,1.5\n50,female,false,2\n"
    result = read_cohort(_csv(tmp_path, text))
    _assert_consistent(result)
    assert result.n_rejected == 1 and result.n_valid == 1
    assert result.rejections["field"].tolist() == ["sex", "cramps", "nerves_cv_slowed"]
    assert set(result.rejections["row"]) == {1}


def test_a_csv_row_with_the_wrong_number_of_cells_is_rejected(tmp_path: Path) -> None:
    result = read_cohort(_csv(tmp_path, "age_at_onset_years,sex,cramps\n40,male\n41,male,true,extra\n42,male,true\n"))
    _assert_consistent(result)
    assert result.n_read == 3 and result.valid.index.tolist() == [3]
    assert result.rejections[["row", "field"]].values.tolist() == [[1, "<row>"], [2, "<row>"]]
    assert "2 cells" in result.rejections["reason"][0] and "4 cells" in result.rejections["reason"][1]


def test_unknown_columns_are_named_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(CohortError) as caught:
        read_cohort(_csv(tmp_path, "age_onset_years,Sex,cramp,zzz\n40,male,true,1\n"))
    message = str(caught.value)
    assert "unknown column 'age_onset_years' (did you mean 'age_at_onset_years'?)" in message
    assert "unknown column 'Sex' (did you mean 'sex'?)" in message
    assert "unknown column 'cramp' (did you mean 'cramps'?)" in message
    assert "unknown column 'zzz'" in message
    assert "missing required column(s): age_at_onset_years, sex" in message
    assert len(caught.value.problems) == 5


PATIENT_ROW = ["SMITH-JOHN-1961", "45", "male", "0", "0", "", "true", "mild"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_a_first_row_of_values_is_said_not_to_be_a_header_without_quoting_it(tmp_path: Path, suffix: str) -> None:
    """A file without its header row: its first patient's cells were quoted as 'unknown column' names (predict
    promises never to show a value), or as a repeated or missing column name."""
    rows = [PATIENT_ROW, ["P2", "50", "female", "1", "1", "2", "false", "none"]]
    path = _csv(tmp_path, "\n".join(",".join(row) for row in rows) + "\n")
    if suffix == ".xlsx":
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append([float(c) if c[:1].isdigit() else c or None for c in row])
        path = tmp_path / "cohort.xlsx"
        book.save(path)
    elif suffix == ".parquet":  # pandas read it with the first row as names ('0', '0.1', 'Unnamed: 5')
        pd.read_csv(path).to_parquet(path := tmp_path / "cohort.parquet")
    with pytest.raises(CohortError, match="the first row is not a header row") as caught:
        read_cohort(path)
    message = str(caught.value).removeprefix(path.name)
    assert not [cell for cell in PATIENT_ROW if cell and f"'{cell}'" in message]
    assert "SMITH" not in message and "male" not in message


def test_missing_required_column(tmp_path: Path) -> None:
    with pytest.raises(CohortError, match=r"missing required column\(s\): sex"):
        read_cohort(_csv(tmp_path, "age_at_onset_years,cramps\n40,true\n"))


def test_label_column_is_optional_unless_required(tmp_path: Path) -> None:
    path = _csv(tmp_path, "age_at_onset_years,sex\n40,male\n")
    assert LABEL not in read_cohort(path).valid.columns
    with pytest.raises(CohortError, match="no 'diagnosis' column") as refused:
        read_cohort(path, require_label=True)
    assert LABEL_REQUIRED in str(refused.value) and "training" not in str(refused.value)  # any use, not training


def test_diagnosis_values_are_checked_and_required_only_with_require_label(tmp_path: Path) -> None:
    path = _csv(tmp_path, "age_at_onset_years,sex,diagnosis\n40,male,MMN\n41,male,\n42,male,ALS\n43,male,mmn\n")
    lenient = read_cohort(path)
    assert lenient.valid.index.tolist() == [1, 2] and pd.isna(lenient.valid.at[2, LABEL])
    assert lenient.rejections["row"].tolist() == [3, 4]
    assert "did you mean 'MMN'?" in lenient.rejections["reason"][1]
    labelled = read_cohort(path, require_label=True)
    _assert_consistent(labelled)
    assert labelled.valid.index.tolist() == [1]
    assert labelled.rejections.set_index("row").at[2, "reason"] == LABEL_MISSING
    assert LABEL_REQUIRED in LABEL_MISSING and "training" not in LABEL_MISSING


def test_duplicate_patient_ids_fail_the_file_naming_both_rows(tmp_path: Path) -> None:
    text = "patient_id,age_at_onset_years,sex\nA-17,40,male\nB,41,male\n A-17,42,male\nB,43,male\n,44,male\n,45,male\n"
    with pytest.raises(CohortError) as caught:
        read_cohort(_csv(tmp_path, text))
    message = str(caught.value)
    assert "rows 1 and 3" in message and "rows 2 and 4" in message
    assert "A-17" not in message, "identifiers are not echoed into messages that may end up in logs"


def test_a_latin1_csv_is_refused_with_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("patient_id,age_at_onset_years,sex\nP1,40,male\nRené,41,male\n".encode("latin-1"))
    with pytest.raises(CohortError, match=r"not UTF-8 .*line 3.*UTF-8"):
        read_cohort(path)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("age_at_onset_years,sex,patient_id\n40,male,René\n".encode("utf-8-sig"))
    assert read_cohort(path).valid[ID_FIELD].tolist() == ["René"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "", "the file is empty"),
        ("blank.csv", "\n  \n", "the file is empty"),
        ("header.csv", "age_at_onset_years,sex\n", "no data rows"),
        ("padding.csv", "age_at_onset_years,sex\n,\n\n", "no data rows"),
        ("empty.jsonl", "\n\n", "no records"),
        ("empty.json", "[]", "no records"),
        ("scalar.json", "42", "expected one JSON object or a list"),
        ("broken.json", '{"sex": ', "not valid JSON"),
        ("semicolons.csv", "age_at_onset_years;sex\n40;male\n", "must be comma-separated"),
        ("twice.csv", "sex,age_at_onset_years,sex\nmale,40,male\n", "column 'sex' appears more than once"),
        ("cohort.txt", "age_at_onset_years,sex\n40,male\n", "unsupported file type '.txt'"),
    ],
)
def test_unusable_files_raise_a_clear_error(tmp_path: Path, name: str, content: str, message: str) -> None:
    with pytest.raises(CohortError, match=message):
        read_cohort(_csv(tmp_path, content, name))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CohortError, match="no such file"):
        read_cohort(tmp_path / "nope.csv")


def test_strict_stops_at_the_first_bad_row_without_echoing_the_value(tmp_path: Path) -> None:
    path = _csv(tmp_path, "age_at_onset_years,sex,cramps\n40,male,true\n41,male,sometimes\n500,male,x\n")
    with pytest.raises(RowError) as caught:
        read_cohort(path, strict=True)
    assert (caught.value.row, caught.value.field) == (2, "cramps")
    assert "row 2" in str(caught.value) and "not a boolean" in str(caught.value)
    assert "sometimes" not in str(caught.value)
    assert read_cohort(_csv(tmp_path, "age_at_onset_years,sex\n40,male\n", "ok.csv"), strict=True).n_valid == 1


def test_json_lines_follow_json_types_and_number_rows_by_line(tmp_path: Path) -> None:
    lines = [
        {"age_at_onset_years": 40, "sex": "male", "cramps": True, "nerves_cv_slowed": 2},
        {"age_at_onset_years": "41", "sex": "male"},
        {"age_at_onset_years": 42, "sex": "male", "cramps": 1},
        {"age_at_onset_years": 43, "sex": "male", "nerves_cv_slowed": 2.0, "muscle_atrophy": None},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + '\n{"sex": \n["not", "an object"]\n\n{}\n'
    result = read_cohort(_csv(tmp_path, text, "cohort.jsonl"))
    _assert_consistent(result)
    assert result.n_read == 7 and result.valid.index.tolist() == [1, 4]
    reasons = result.rejections.set_index(["row", "field"])["reason"]
    assert reasons[(2, "age_at_onset_years")] == "expected a JSON number, got a string"
    assert reasons[(3, "cramps")] == "expected a JSON boolean, got a number"
    assert reasons[(5, "<row>")].startswith("not valid JSON")
    assert reasons[(6, "<row>")] == "expected a JSON object, got list"
    assert "required" in reasons[(8, "sex")], "{} is a record without the required fields"


def test_json_text_cells_are_stripped_as_csv_cells_so_a_spaced_id_is_a_duplicate(tmp_path: Path) -> None:
    """' P1 ' and 'P1' were two patients from JSON but one (refused as a duplicate) from CSV."""
    records = [{"patient_id": " P1 ", "age_at_onset_years": 46, "sex": " male"},
               {"patient_id": "P2\t", "age_at_onset_years": 47, "sex": "female "}]
    path = _csv(tmp_path, "\n".join(json.dumps(r) for r in records) + "\n", "cohort.jsonl")
    from_csv = read_cohort(write_table(pd.DataFrame(records), tmp_path / "cohort.csv")).valid
    pd.testing.assert_frame_equal(read_cohort(path).valid, from_csv)
    assert from_csv[ID_FIELD].tolist() == ["P1", "P2"] and from_csv["sex"].tolist() == ["male", "female"]
    duplicated = _csv(tmp_path, path.read_text(encoding="utf-8") + json.dumps({**records[1], "patient_id": "P1"}),
                      "twice.jsonl")
    with pytest.raises(CohortError, match=r"duplicated patient_id value.*rows 1 and 3"):
        read_cohort(duplicated)


@pytest.mark.parametrize("chunk_rows", [None, 2])
def test_a_missing_label_in_json_lines_is_a_row_problem_however_the_file_is_chunked(tmp_path: Path,
                                                                                    chunk_rows: int | None) -> None:
    """A chunk whose records all lack ``diagnosis`` (here the last, alone) was refused as a file without the
    column, so one record without a label failed a 50 000-line file in validate and not in world fit."""
    from mmn_ddx.data.importer import iter_cohort

    lines = [{"age_at_onset_years": 40 + i, "sex": "male", LABEL: "MMN"} for i in range(4)]
    lines.append({"age_at_onset_years": 50, "sex": "female"})
    path = _csv(tmp_path, "\n".join(json.dumps(line) for line in lines) + "\n", "cohort.jsonl")
    chunks = list(iter_cohort(path, require_label=True, chunk_rows=chunk_rows))
    rejections = pd.concat([c.rejections for c in chunks])
    assert rejections[["row", "field"]].values.tolist() == [[5, LABEL]]
    assert sum(len(c.valid) for c in chunks) == 4


def test_nan_anywhere_in_a_json_list_is_rejected_as_in_json_lines(tmp_path: Path) -> None:
    """A NaN element, or one nested in an array or object, once leaked an internal placeholder's name."""
    elements = ["NaN", '{"age_at_onset_years": 40, "sex": "male"}',
                '{"age_at_onset_years": 40, "sex": "male", "course": [NaN]}',
                '{"age_at_onset_years": 40, "sex": {"nested": -Infinity}}', "[Infinity]"]
    listed = read_cohort(_csv(tmp_path, "[" + ", ".join(elements) + "]", "cohort.json"))
    lines = read_cohort(_csv(tmp_path, "\n".join(elements) + "\n", "cohort.jsonl"))
    _assert_consistent(listed)
    assert listed.valid.index.tolist() == [2]
    pd.testing.assert_frame_equal(listed.rejections, lines.rejections)
    assert listed.rejections["field"].tolist() == ["<row>", "course", "sex", "<row>"]  # the field holding it
    assert [r.split(" is not")[0] for r in listed.rejections["reason"]] == [
        "not valid JSON (NaN", "not valid JSON (NaN", "not valid JSON (-Infinity", "not valid JSON (Infinity"]
    one = read_cohort(_csv(tmp_path, elements[2], "one.json")).rejections
    assert one[["field", "reason"]].values.tolist() == [
        ["course", "not valid JSON (NaN is not a JSON number; use null for not examined)"]]


@pytest.mark.parametrize("record", [
    '{"age_at_onset_years": 40, "sex": "male", "csf_protein_g_per_l": Infinity, "sex": "female"}',
    '{"age_at_onset_years": 40, "sex": "male", "csf_protein_g_per_l": 1, "csf_protein_g_per_l": Infinity}',
], ids=["before-a-repeated-key", "in-a-repeated-key"])
def test_nan_is_named_on_its_field_in_a_list_a_line_and_a_one_patient_file(tmp_path: Path, record: str) -> None:
    """The one-patient path (predict, criteria, read_record_json) said 'not valid JSON' without the field, which
    the HTTP API names; the first problem of a record wins in every reader (a NaN before a repeated key)."""
    listed = read_cohort(_csv(tmp_path, f"[{record}]", "cohort.json")).rejections
    lines = read_cohort(_csv(tmp_path, record + "\n", "cohort.jsonl")).rejections
    pd.testing.assert_frame_equal(listed, lines)
    assert listed[["row", "field"]].values.tolist() == [[1, "csf_protein_g_per_l"]]
    with pytest.raises(CohortError, match=r"^one\.json: field 'csf_protein_g_per_l': not valid JSON \(Infinity is"):
        read_record_json(_csv(tmp_path, record, "one.json"))


def test_spreadsheet_cells_follow_the_text_rules_whatever_their_stored_type(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["age_at_onset_years", "sex", "cramps", "nerves_cv_slowed", "patient_id"])
    sheet.append([40, "male", 1, "2", 1001])
    sheet.append([41, "male", "TRUE", 2.5, "P2"])
    sheet.append([])
    sheet.append([True, "male", False, None, "P3"])
    book.save(tmp_path / "cohort.xlsx")
    result = read_cohort(tmp_path / "cohort.xlsx")
    _assert_consistent(result)
    assert result.valid.at[1, "cramps"] and result.valid.at[1, "nerves_cv_slowed"] == 2
    assert result.valid.at[1, ID_FIELD] == "1001"
    assert result.rejections[["row", "field"]].values.tolist() == [[2, "nerves_cv_slowed"], [4, "age_at_onset_years"]]


def test_parquet_types_are_checked_not_cast(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "age_at_onset_years": [40.0, 41.0, np.nan],
            "sex": ["male", "male", "female"],
            "nerves_cv_slowed": [2.0, 2.5, 1.0],
        }
    )
    frame.to_parquet(tmp_path / "cohort.parquet")
    result = read_cohort(tmp_path / "cohort.parquet")
    _assert_consistent(result)
    assert result.valid.index.tolist() == [1]
    assert result.rejections["reason"].tolist() == ["not a whole number", "missing, but this field is required"]
    pd.DataFrame({"age_at_onset_years": [True], "sex": ["male"]}).to_parquet(tmp_path / "bool.parquet")
    assert read_cohort(tmp_path / "bool.parquet").rejections["reason"].tolist() == ["not a number"]


FLOAT32_CELLS = {"age_at_onset_years": [45.3, 61.7, 0.1], "symptom_duration_months": [18.2, 0.3, 600.0],
                 "mrc_arm_distal_left": [4.3, 3.7, 4.9], "anti_gm1_igm_ratio": [1.1, 999.9, 0.7],
                 "csf_protein_g_per_l": [0.6, 0.45, 1.3], "csf_cells_per_ul": [4.8, 0.2, 12.1]}


@pytest.mark.parametrize("nullable", [False, True])
def test_float32_parquet_numbers_are_the_numbers_written_as_from_a_csv(tmp_path: Path, nullable: bool) -> None:
    """float32 0.6 widened is 0.6000000238, above the CSF protein limit 0.60: a finding flipped by the file type."""
    frame = pd.DataFrame(FLOAT32_CELLS, dtype="Float32" if nullable else "float32").assign(sex="male")
    frame.iloc[2, 1] = None
    frame.to_parquet(tmp_path / "cohort.parquet")
    frame.to_csv(tmp_path / "cohort.csv", index=False)  # the shortest text of each float32
    from_parquet, from_csv = read_cohort(tmp_path / "cohort.parquet"), read_cohort(tmp_path / "cohort.csv")
    assert from_parquet.rejections.empty
    pd.testing.assert_frame_equal(from_parquet.valid, from_csv.valid)
    assert from_parquet.valid["csf_protein_g_per_l"].tolist() == [0.6, 0.45, 1.3]
    assert from_parquet.valid.at[1, "age_at_onset_years"] == 45.3


def test_float32_columns_under_the_json_rules_are_the_numbers_written() -> None:
    """The model's input (MLflow, Spark's FloatType) is parsed by the JSON rules: float32 is read the same way."""
    raw = pd.Series([0.6, None, 4.3], dtype="float32")
    values, reasons = parse_column(raw, fields()["csf_protein_g_per_l"], json_types=True)
    assert reasons.empty and values.tolist()[::2] == [0.6, 4.3] and pd.isna(values[1])


def test_a_rejected_float32_cell_is_shown_as_written(tmp_path: Path) -> None:
    pd.DataFrame({"age_at_onset_years": np.array([40.0], "float32"), "sex": ["male"],
                  "bulbar_weakness": np.array([0.6], "float32")}).to_parquet(tmp_path / "cohort.parquet")
    rejection = read_cohort(tmp_path / "cohort.parquet").rejections.iloc[0]
    assert (rejection["field"], rejection["value"]) == ("bulbar_weakness", "0.6")


def _int_parquet(path: Path, name: str, values: list[int | None]) -> Path:
    """A Parquet file whose ``name`` column is int64 as written (pandas would store ints with a null as floats)."""
    pq.write_table(pa.table({name: pa.array(values, pa.int64()), "age_at_onset_years": [40.0] * len(values),
                             "sex": ["male"] * len(values)}), path)
    return path


def test_parquet_integer_ids_are_exact_when_the_column_has_a_null(tmp_path: Path) -> None:
    """2**53 + 1 has no float64: read through a float it became 2**53, a wrong id and a false duplicate."""
    path = _int_parquet(tmp_path / "ids.parquet", ID_FIELD, [12345, 2**53 + 1, 2**53, None])
    result = read_cohort(path)
    _assert_consistent(result)
    assert result.valid[ID_FIELD].tolist() == ["12345", str(2**53 + 1), str(2**53), pd.NA]


def test_parquet_integer_booleans_are_read_when_the_column_has_a_null(tmp_path: Path) -> None:
    """1/0 is a boolean whether or not another row of the column is null (it was rejected as 1.0)."""
    result = read_cohort(_int_parquet(tmp_path / "bool.parquet", "bulbar_weakness", [1, 0, None]))
    _assert_consistent(result)
    assert result.rejections.empty
    assert result.valid["bulbar_weakness"].tolist() == [True, False, pd.NA]


def test_read_record_json_from_a_file_or_a_mapping(tmp_path: Path) -> None:
    raw = {"age_at_onset_years": 40, "sex": "male", "nerves_definite_cb": 2}
    (tmp_path / "one.json").write_text(json.dumps(raw), encoding="utf-8")
    from_file = read_record_json(tmp_path / "one.json")
    assert from_file == read_record_json(raw)
    assert list(from_file) == list(FIELD_NAMES) and from_file["cramps"] is None
    with pytest.raises(RecordError) as caught:
        read_record_json({**raw, "cramp": True})
    assert "cramp" in caught.value.problems
    (tmp_path / "two.json").write_text(json.dumps([raw, raw]), encoding="utf-8")
    with pytest.raises(CohortError, match="expected one JSON object"):
        read_record_json(tmp_path / "two.json")


def test_write_table_refuses_unknown_formats(tmp_path: Path, expected: pd.DataFrame) -> None:
    with pytest.raises(CohortError, match=r"cannot write '\.txt'"):
        write_table(expected, tmp_path / "cohort.txt")


def test_100k_row_parquet_is_validated_in_seconds(tmp_path: Path, expected: pd.DataFrame) -> None:
    """Vectorised validation: 100 000 rows must not take a per-row Python loop (brief: a few seconds)."""
    big = expected.iloc[np.arange(100_000) % len(expected)].reset_index(drop=True)
    big[ID_FIELD] = pd.array([f"P{i:06d}" for i in range(len(big))], dtype="string")
    big.loc[::1000, "nerves_definite_cb"] = 41  # 100 out-of-range rows must still be found
    write_table(big, tmp_path / "big.parquet")
    start = time.perf_counter()
    result = read_cohort(tmp_path / "big.parquet", require_label=True)
    elapsed = time.perf_counter() - start
    assert result.n_rejected == 100 and result.n_valid == 99_900
    assert elapsed < 10, f"validating 100k rows took {elapsed:.1f} s"
    assert set(fields()) <= set(result.valid.columns)
