"""``mmn-ddx predict``: one patient (Rich / JSON), a batch to a table, and invalid rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from mmn_ddx.cli.predict import predict_app
from mmn_ddx.data.contract import DIAGNOSES, LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.data.importer import write_table
from mmn_ddx.serving.batch import COLUMNS
from mmn_ddx.serving.predictor import Predictor
from mmn_ddx.serving.records import frame_records
from mmn_ddx.serving.result import NOT_FOR_CLINICAL_USE, PredictionResult

PATIENT = {
    "patient_id": "P-1", "age_at_onset_years": 38.0, "sex": "male", "onset_region": "upper_limb",
    "mrc_arm_distal_left": 3.0, "mrc_arm_distal_right": 5.0, "motor_nerves_studied": 8, "nerves_definite_cb": 3,
    "anti_gm1_igm_ratio": 12.0,
}

app = typer.Typer()
app.add_typer(predict_app)  # as mmn_ddx.cli registers it


@app.command("version")
def _version() -> None:  # a second command, so "predict" stays a sub-command as in the real app
    """Unused."""


runner = CliRunner()


@pytest.fixture(scope="module")
def model(quick_bundle_dir: Path) -> str:
    return str(quick_bundle_dir)


@pytest.fixture(scope="module")
def predictor(model: str) -> Predictor:
    return Predictor.load(model)


@pytest.fixture
def cohort_csv(tmp_path: Path) -> Path:
    path = tmp_path / "cohort.csv"
    write_table(generate_cohort(25, seed=41), path)
    return path


def _invoke(*args: str) -> object:
    return runner.invoke(app, ["predict", *args])


def test_single_patient_prints_an_explained_prediction(tmp_path: Path, model: str, predictor: Predictor) -> None:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(PATIENT), encoding="utf-8")
    result = _invoke(str(path), "--model", model)
    assert result.exit_code == 0, result.output
    expected = predictor.predict(PATIENT)
    text = " ".join(result.stdout.split())
    assert f"Predicted: {expected.predicted_diagnosis}" in text
    assert "Prediction set: {" in text and "Published criteria" in text and "Next most informative test" in text
    assert expected.explanation.by_finding[0].label in text
    labels = expected.criteria.rule_based_labels
    assert f"Rule-based label by reading: strict {labels['strict']}, chart-review {labels['chart-review']}" in text
    assert " ".join(NOT_FOR_CLINICAL_USE.split()) in text


def test_single_patient_json_is_the_prediction_result(tmp_path: Path, model: str, predictor: Predictor) -> None:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(PATIENT), encoding="utf-8")
    result = _invoke(str(path), "--model", model, "--json")
    assert result.exit_code == 0, result.output
    parsed = PredictionResult.model_validate_json(result.stdout)
    assert parsed == predictor.predict(PATIENT)


def test_a_patient_file_with_spaced_text_is_read_as_a_cohort_file(tmp_path: Path, model: str, predictor: Predictor
                                                                    ) -> None:
    """A one-patient .json is read by the record model: ' male' is male there too, as in a .jsonl cohort."""
    path = tmp_path / "patient.json"
    spaced = {**PATIENT, "patient_id": " P-1 ", "sex": "male ", "onset_region": "\tupper_limb", LABEL: " MMN"}
    path.write_text(json.dumps(spaced), encoding="utf-8")
    result = _invoke(str(path), "--model", model, "--json")
    assert result.exit_code == 0, result.output
    assert PredictionResult.model_validate_json(result.stdout) == predictor.predict(PATIENT)


def test_invalid_patient_names_field_and_reason(tmp_path: Path, model: str) -> None:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps({**PATIENT, "sex": "unknown", "mrc_arm_distal_left": 9.0}), encoding="utf-8")
    result = _invoke(str(path), "--model", model)
    assert result.exit_code == 1
    assert "sex" in result.stderr and "mrc_arm_distal_left" in result.stderr
    assert "9.0" not in result.stderr  # the value is patient data and is never echoed


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_batch_writes_one_row_per_patient(cohort_csv: Path, tmp_path: Path, model: str, predictor: Predictor,
                                          suffix: str) -> None:
    output = tmp_path / f"scored{suffix}"
    result = _invoke(str(cohort_csv), "--model", model, "-o", str(output))
    assert result.exit_code == 0, result.output
    readers = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".jsonl": lambda p: pd.read_json(p, lines=True)}
    table = readers[suffix](output)
    assert list(table.columns) == ["row", *COLUMNS]  # the input's data row, as criteria -o and the rejections name it
    assert table["row"].tolist() == list(range(1, 26))
    assert len(table) == 25
    cohort = generate_cohort(25, seed=41)
    expected = predictor.predict_many(frame_records(cohort.drop(columns=[LABEL])), with_next_test=False)
    assert table["patient_id"].tolist() == [r.patient_id for r in expected]
    assert table["predicted_diagnosis"].tolist() == [r.predicted_diagnosis for r in expected]
    for d in DIAGNOSES:
        assert table[f"p_{d}"].to_numpy() == pytest.approx([r.probabilities[d] for r in expected], abs=1e-9)
    assert table["prediction_set"].tolist() == [" | ".join(r.prediction_set.diagnoses) for r in expected]
    assert table["criteria_label"].tolist() == [r.criteria.rule_based_label for r in expected]
    assert table["criteria_label_chart_review"].tolist() == [
        r.criteria.rule_based_labels["chart-review"] for r in expected]
    assert table["warnings"].tolist() == [";".join(w.code for w in r.warnings) for r in expected]
    assert table["top_findings"].tolist() == [
        " | ".join(f.sentence for f in r.explanation.by_finding[:3]) for r in expected]


def _with_bad_rows(path: Path) -> Path:
    frame = pd.read_csv(path)
    frame.loc[2, "sex"] = "robot"  # data row 3
    frame.loc[6, "motor_nerves_studied"] = 2  # data row 7: counts now exceed the nerves studied
    frame.loc[6, "nerves_any_demyelinating"] = 5
    frame.to_csv(path, index=False)
    return path


def test_invalid_rows_fail_the_batch_before_writing(cohort_csv: Path, tmp_path: Path, model: str) -> None:
    output = tmp_path / "scored.csv"
    result = _invoke(str(_with_bad_rows(cohort_csv)), "--model", model, "-o", str(output))
    assert result.exit_code == 1
    assert not output.exists()
    lines = [" ".join(line.split()) for line in result.stderr.splitlines()]
    assert any(line.startswith("│ 3 │ sex │") for line in lines), result.stderr
    assert any(line.startswith("│ 7 │ nerves_any_demyelinating │ exceeds") for line in lines), result.stderr
    assert "--skip-invalid" in result.stderr and "robot" not in result.stderr


def test_skip_invalid_scores_the_valid_rows(cohort_csv: Path, tmp_path: Path, model: str) -> None:
    output = tmp_path / "scored.csv"
    result = _invoke(str(_with_bad_rows(cohort_csv)), "--model", model, "-o", str(output), "--skip-invalid")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(output)
    assert len(table) == 23
    ids = generate_cohort(25, seed=41)["patient_id"].tolist()
    assert table["patient_id"].tolist() == [i for k, i in enumerate(ids) if k not in (2, 6)]
    assert table["row"].tolist() == [r for r in range(1, 26) if r not in (3, 7)]  # rows named as rejections are
    assert "2 invalid row(s)" in result.stderr


def test_batch_json_lines(cohort_csv: Path, model: str, predictor: Predictor) -> None:
    result = _invoke(str(cohort_csv), "--model", model, "--json")
    assert result.exit_code == 0, result.output
    parsed = [PredictionResult.model_validate_json(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(parsed) == 25
    assert parsed[0] == predictor.predict(frame_records(generate_cohort(25, seed=41).drop(columns=[LABEL]))[0])


def test_missing_model_and_bad_options_are_clear_errors(cohort_csv: Path, tmp_path: Path, model: str) -> None:
    result = _invoke(str(cohort_csv), "--model", str(tmp_path / "nowhere"))
    assert result.exit_code == 1 and "nowhere" in result.stderr
    result = _invoke(str(cohort_csv), "--model", model, "--mode", "later")
    assert result.exit_code == 1 and "--mode" in result.stderr
    result = _invoke(str(cohort_csv), "--model", model, "-o", str(tmp_path / "out.txt"))
    assert result.exit_code == 1 and "out.txt" in result.stderr
    assert not (tmp_path / "out.txt").exists()


@pytest.mark.parametrize(("p", "expected"), [(0.998, ">99 %"), (1.0, "100 %"), (0.004, "<1 %"), (0.0, "0 %"),
                                             (0.515, "52 %")])
def test_a_headline_probability_is_never_rounded_to_certainty(p: float, expected: str) -> None:
    """As the web page writes it: 99.8 % is not "100 %"."""
    from mmn_ddx.serving.terminal import percent

    assert percent(p) == expected
