"""The MLflow pyfunc: explained predictions in one frame, the same probabilities as the bundle, clear
errors for bad rows, and a working ``mlflow models serve``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data.contract import DIAGNOSES, LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.training.artifact.bundle import load_bundle
from mmn_ddx.training.artifact.pyfunc import OUTPUT_COLUMNS, PROBABILITY_COLUMNS, InputError, canonical_input
from mmn_ddx.training.fitting import tracking

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return generate_cohort(60, seed=31)


@pytest.fixture(scope="module")
def raw_input(cohort: pd.DataFrame) -> pd.DataFrame:
    """What a client sends: each value in its JSON type, None for null, no label."""
    return tracking.input_example(cohort, "at-presentation", n=len(cohort))


def test_pyfunc_returns_explained_predictions_matching_the_bundle(quick_bundle_dir: Path, cohort: pd.DataFrame,
                                                                  raw_input: pd.DataFrame) -> None:
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(str(quick_bundle_dir))
    out = model.predict(raw_input, params={"setting": "balanced"})  # the training population: the bundle's numbers
    assert list(out.columns) == list(OUTPUT_COLUMNS)
    expected = load_bundle(quick_bundle_dir).predict_explain(cohort.drop(columns=[LABEL]))[0]  # the served numbers
    np.testing.assert_array_equal(out[list(PROBABILITY_COLUMNS)].to_numpy(), expected)
    assert out["patient_id"].tolist() == cohort["patient_id"].tolist()
    assert (out["predicted_diagnosis"] == [DIAGNOSES[k] for k in expected.argmax(axis=1)]).all()
    first = out.iloc[0]
    assert first["scale"] == "log-odds" and len(first["top_findings"]) == len(first["top_contributions"]) == 5
    assert first["prediction_set"][0] == first["predicted_diagnosis"]
    assert first["warnings"][0] == "synthetic_training_data"
    assert isinstance(first["out_of_distribution"], list)


def test_top_findings_are_sorted_by_their_pull_on_the_predicted_class(quick_bundle_dir: Path,
                                                                      raw_input: pd.DataFrame) -> None:
    from mmn_ddx.training.artifact.pyfunc import _load_pyfunc

    out = _load_pyfunc(str(quick_bundle_dir / "data" / "bundle")).predict(raw_input.head(10))
    for pulls in out["top_contributions"]:
        assert [abs(p) for p in pulls] == sorted((abs(p) for p in pulls), reverse=True)


@pytest.mark.parametrize("setting", ["referral", "new-patients"])
def test_top_findings_are_the_served_explanations_with_their_effects(quick_bundle_dir: Path, raw_input: pd.DataFrame,
                                                                     setting: str) -> None:
    """The findings, order and signed numbers every other entry point shows beside their words: the effect on the
    predicted class's odds in the setting, not the SHAP sum on its score (which can have the other sign)."""
    from mmn_ddx.serving.predictor import Predictor
    from mmn_ddx.training.artifact.pyfunc import TOP_FINDINGS, _load_pyfunc

    out = _load_pyfunc(str(quick_bundle_dir / "data" / "bundle")).predict(raw_input, params={"setting": setting})
    records = raw_input.astype(object).where(raw_input.notna(), None).to_dict("records")
    served = Predictor.load(str(quick_bundle_dir)).predict_many(records, with_next_test=False, setting=setting)
    for row, result in zip(out.itertuples(), served, strict=True):
        shown = result.explanation.by_finding[:TOP_FINDINGS]
        assert list(row.top_findings) == [f.label for f in shown]
        np.testing.assert_allclose(row.top_contributions, [f.effects[result.predicted_diagnosis] for f in shown],
                                   atol=1e-9)


def test_bad_rows_are_refused_naming_row_and_field(raw_input: pd.DataFrame) -> None:
    bad = raw_input.head(3).copy()
    bad.loc[1, "nerves_definite_cb"] = 2.5
    bad.loc[1, "sex"] = "unknown"
    with pytest.raises(InputError, match=r"row 2 \(patient_id [^)]*\): .*nerves_definite_cb") as info:
        canonical_input(bad)
    assert "sex" in str(info.value)


def test_a_diagnosis_column_is_checked_then_not_read(cohort: pd.DataFrame, raw_input: pd.DataFrame) -> None:
    """As every entry point treats a record's label (README): a diagnosis or null passes and is dropped, anything
    else is refused naming row and field, in the words of the importer and the record model."""
    from mmn_ddx.data.contract import category_reason, label_spec

    labelled = raw_input.head(3).assign(**{LABEL: [*cohort[LABEL].head(2), None]})
    pd.testing.assert_frame_equal(canonical_input(labelled), canonical_input(raw_input.head(3)))
    labelled.loc[1, LABEL] = "ALS"
    reason = category_reason(label_spec())
    with pytest.raises(InputError, match=rf"^row 2 \(patient_id [^)]*\): field '{LABEL}': {reason}$"):
        canonical_input(labelled)


def test_whole_number_floats_become_counts_and_nulls_stay_null(raw_input: pd.DataFrame) -> None:
    """As pandas holds JSON numbers with nulls (the dataframe formats, Spark): floats, NaN for null."""
    from mmn_ddx.data.contract import fields

    numeric = [c for c in raw_input.columns if fields()[c].is_numeric]
    floats = raw_input.head(5).astype(dict.fromkeys(numeric, "float64"))
    frame = canonical_input(floats)
    assert str(frame["motor_nerves_studied"].dtype) == "Int64"
    assert frame.isna().sum().sum() == floats.isna().sum().sum() + frame.columns.difference(floats.columns).size * 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx2.get(url, timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise AssertionError(f"mlflow models serve did not come up (exit code {server.poll()})")
        time.sleep(0.5)


@pytest.mark.slow
def test_mlflow_models_serve_answers_with_the_same_probabilities(quick_bundle_dir: Path, cohort: pd.DataFrame,
                                                                  raw_input: pd.DataFrame) -> None:
    """And refuses a record with status 400 and the contract's reason as the message (was MLflow's generic one)."""
    port = _free_port()
    mlflow_cli = Path(sys.executable).parent / "mlflow"
    server = subprocess.Popen(
        [str(mlflow_cli), "models", "serve", "-m", str(quick_bundle_dir), "--env-manager", "local",
         "--host", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # the server execs ``uvicorn`` from PATH: the virtualenv's bin must be on it (as when activated)
        env={**os.environ, "PATH": f"{mlflow_cli.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    try:
        records = raw_input.head(4).astype(object).where(raw_input.head(4).notna(), None).to_dict("records")
        _wait_until_up(f"http://127.0.0.1:{port}/ping", server, seconds=90)  # imports take ~10 s on a quiet box
        response = httpx2.post(f"http://127.0.0.1:{port}/invocations", json={"dataframe_records": records,
                              "params": {"setting": "balanced"}}, timeout=30)  # the training population
        assert response.status_code == 200, response.text
        rows = pd.DataFrame(response.json()["predictions"])
        expected = load_bundle(quick_bundle_dir).predict_explain(cohort.drop(columns=[LABEL]).head(4))[0]
        np.testing.assert_allclose(rows[list(PROBABILITY_COLUMNS)].to_numpy(), expected, rtol=1e-12, atol=1e-15)

        bad = [{**records[0], "motor_nerves_studied": "8"}]  # refused: the reason is the message, no value in it
        refused = httpx2.post(f"http://127.0.0.1:{port}/invocations", json={"dataframe_records": bad}, timeout=30)
        assert refused.status_code == 400, refused.text
        assert refused.json() == {"error_code": "INVALID_PARAMETER_VALUE", "sqlstate": "KAM00",
                                  "error_class": "INVALID_PARAMETER_VALUE", "message": f"row 1 (patient_id "
                                  f"{records[0]['patient_id']}): field 'motor_nerves_studied': expected a JSON "
                                  "number, got a string"}
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_counts_beyond_the_nerves_studied_are_refused(quick_bundle_dir: Path, raw_input: pd.DataFrame) -> None:
    from mmn_ddx.training.artifact.pyfunc import _load_pyfunc

    bad = raw_input.head(4).copy()
    bad.loc[2, "motor_nerves_studied"] = 2.0
    bad.loc[2, "nerves_definite_cb"] = 5.0
    with pytest.raises(InputError, match=r"nerves_definite_cb'?: exceeds motor_nerves_studied"):
        _load_pyfunc(str(quick_bundle_dir / "data" / "bundle")).predict(bad)


def test_the_signature_leaves_the_input_to_the_record_contract() -> None:
    """No input schema (MLflow would enforce it before the pyfunc's contract check: tests/training/test_model_input.py);
    the outputs and the ``setting`` parameter are declared."""
    signature = tracking.model_signature()
    assert signature.inputs is None
    assert [column.name for column in signature.outputs.inputs] == list(OUTPUT_COLUMNS)
    assert signature.params is not None and [p.name for p in signature.params.params] == ["setting"]


def test_a_contradicted_finding_is_refused_naming_row_field_and_rule(raw_input: pd.DataFrame) -> None:
    from mmn_ddx.data.contract import contradictions

    rule = next(r for r in contradictions() if r.field == "anti_gm1_igm" and r.finding.text == "negative")
    bad = raw_input.head(3).copy()
    bad["anti_gm1_igm"] = [None, "negative", "positive"]
    bad["anti_gm1_igm_ratio"] = [None, 2.0, 2.0]
    with pytest.raises(InputError, match=r"row 2 \(patient_id [^)]*\): .*anti_gm1_igm") as info:
        canonical_input(bad)
    assert rule.message in str(info.value) and "row 3" not in str(info.value)
