"""Every entry point returns the same probabilities for the same record (issue #5, "done when").

Python API, CLI (one patient as JSON, and a batch to a table), HTTP API (one and batch, in process
and as ``mmn-ddx serve --workers 2``) and ``mlflow models serve`` on the exported pyfunc, in one test; the web page
posts to the HTTP API and
``test_web_browser`` checks that it shows exactly what it was given for the record it sent.

``mlflow models serve`` README command (from the project root; the virtualenv's ``bin`` must be on ``PATH``,
because MLflow
starts ``uvicorn`` by name and fails with exit code 127 otherwise):

    source .venv/bin/activate
    MLFLOW_TRACKING_URI=sqlite:///mlruns.db mlflow models serve -m models:/mmn-ddx@champion \
        --env-manager local -h 127.0.0.1 -p 5001

Here the server runs on the quick test model's directory on a free loopback port; it is started in its own
process group and always killed, with bounded waits everywhere.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mmn_ddx.cli import app as cli_app
from mmn_ddx.data import RecordError
from mmn_ddx.data.contract import DIAGNOSES, LABEL, category_reason, label_spec
from mmn_ddx.features import MODES
from mmn_ddx.serving.batch import score_table
from mmn_ddx.serving.http import create_app
from mmn_ddx.serving.predictor import Predictor
from mmn_ddx.serving.records import validate_frame
from mmn_ddx.serving.result import PredictionResult
from mmn_ddx.settings import MODEL_NAMES
from mmn_ddx.training.artifact import DEFAULT_SETTING, SYNTHETIC_CODE, TREATMENT_IGNORED_CODE, pre_test_probabilities
from mmn_ddx.training.artifact.bundle import load_bundle
from mmn_ddx.training.artifact.pyfunc import BundlePyfunc, InputError

STARTUP_TIMEOUT_S = 50.0
RECORD = {
    "patient_id": "P-7", "age_at_onset_years": 41.0, "sex": "male", "onset_region": "upper_limb",
    "mrc_arm_distal_left": 3.0, "motor_nerves_studied": 8, "nerves_definite_cb": 3, "anti_gm1_igm_ratio": 6.5,
    "sensory_loss": "none", "fasciculations": False,
    # contract v2: the same findings as a clinician writes them, accepted by every entry point (the MLflow
    # signature included) and agreeing with the counts above
    "weakness_symmetry": "asymmetric", "weakness_predominance": "distal", "weak_arms": "one", "weak_legs": "none",
    "reflexes_arms": "reduced", "reflexes_legs": "normal", "motor_conduction_block": "multiple",
    "motor_ncs_pattern": "demyelinating", "sensory_ncs": "normal", "anti_gm1_igm": "positive",
    "csf_protein_raised": False,
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server's whole process group (MLflow execs uvicorn in a child), then kill it."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _post_to_server(command: list[str], ready: str, path: str, body: Any, tmp_path: Path) -> httpx2.Response:
    """Start a server process (``{port}`` in ``command``), POST ``body`` once it answers ``ready``, stop it."""
    port = _free_port()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    log_path = tmp_path / f"server-{port}.log"
    log = log_path.open("wb")
    process = subprocess.Popen([part.format(port=port) for part in command], stdout=log, stderr=subprocess.STDOUT,
                               env=env, cwd=tmp_path, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            assert process.poll() is None, log_path.read_text(errors="replace")[-2000:]
            try:
                if httpx2.get(f"{url}{ready}", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, f"{command[:4]} did not start in time"
            time.sleep(0.5)
        return httpx2.post(f"{url}{path}", json=body, timeout=30)
    finally:
        _stop(process)
        log.close()


def _mlflow_serve(model_dir: Path, tmp_path: Path, setting: str | None = None) -> dict[str, float]:
    """``mlflow models serve`` on ``model_dir``: the probabilities it returns for RECORD (``params`` setting)."""
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(model_dir), "--env-manager", "local",
               "-h", "127.0.0.1", "-p", "{port}"]
    body: dict[str, Any] = {"dataframe_records": [RECORD]} | ({"params": {"setting": setting}} if setting else {})
    response = _post_to_server(command, "/ping", "/invocations", body, tmp_path)
    assert response.status_code == 200, response.text
    served = response.json()["predictions"][0]
    assert served["patient_id"] == "P-7"
    assert served["setting"] == (setting or DEFAULT_SETTING)
    return {d: served[f"p_{d}"] for d in DIAGNOSES}


def _serve_with_workers(model_dir: Path, tmp_path: Path, setting: str | None = None) -> dict[str, float]:
    """``mmn-ddx serve --workers 2``: uvicorn worker processes, each loading the model itself."""
    command = [sys.executable, "-c", "from mmn_ddx.cli import app; app()", "serve", "--model", str(model_dir),
               "--port", "{port}", "--workers", "2", "--log-level", "warning"]
    path = "/v1/predict" + (f"?setting={setting}" if setting else "")
    response = _post_to_server(command, "/healthz", path, RECORD, tmp_path)
    assert response.status_code == 200, response.text
    assert response.json()["setting"]["name"] == (setting or DEFAULT_SETTING)
    return response.json()["probabilities"]  # type: ignore[no-any-return]


def _cli(model_dir: Path, tmp_path: Path, setting: str | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """``mmn-ddx predict patient.json --json`` and ``mmn-ddx predict cohort.jsonl -o out.csv``."""
    patient, cohort, table = tmp_path / "patient.json", tmp_path / "cohort.jsonl", tmp_path / "out.csv"
    patient.write_text(json.dumps(RECORD), encoding="utf-8")
    cohort.write_text(json.dumps(RECORD) + "\n", encoding="utf-8")
    runner = CliRunner()
    option = ["--setting", setting] if setting else []
    one = runner.invoke(cli_app, ["predict", str(patient), "--model", str(model_dir), "--json", *option])
    assert one.exit_code == 0, one.output
    batch = runner.invoke(cli_app, ["predict", str(cohort), "--model", str(model_dir), "-o", str(table), *option])
    assert batch.exit_code == 0, batch.output
    row = pd.read_csv(table).iloc[0]
    assert json.loads(one.stdout)["setting"]["name"] == row["setting"] == (setting or DEFAULT_SETTING)
    return json.loads(one.stdout)["probabilities"], {d: float(row[f"p_{d}"]) for d in DIAGNOSES}


def _http(predictor: Predictor, setting: str | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """``POST /v1/predict`` and ``POST /v1/predict/batch`` of the app ``mmn-ddx serve`` runs."""
    query = {"setting": setting} if setting else {}
    with TestClient(create_app(predictor)) as client:
        one = client.post("/v1/predict", json=RECORD, params=query)
        batch = client.post("/v1/predict/batch", json={"records": [RECORD]}, params=query)
    assert one.status_code == 200 and batch.status_code == 200, (one.text, batch.text)
    named = one.json()["setting"]["name"], batch.json()["results"][0]["setting"]["name"]
    assert named == (setting or DEFAULT_SETTING,) * 2
    return one.json()["probabilities"], batch.json()["results"][0]["probabilities"]


@pytest.mark.slow
def test_every_entry_point_returns_the_same_probabilities(quick_bundle_dir: Path, tmp_path: Path) -> None:
    predictor = Predictor.load(str(quick_bundle_dir))
    expected = predictor.predict(RECORD).probabilities
    cli_one, cli_batch = _cli(quick_bundle_dir, tmp_path)
    http_one, http_batch = _http(predictor)
    served = {
        "python predict_many": predictor.predict_many([RECORD])[0].probabilities,
        "cli json": cli_one, "cli batch table": cli_batch, "http": http_one, "http batch": http_batch,
        "mmn-ddx serve --workers 2": _serve_with_workers(quick_bundle_dir, tmp_path),
        "mlflow models serve": _mlflow_serve(quick_bundle_dir, tmp_path),
    }
    assert max(expected, key=expected.__getitem__) == "MMN"  # a record that says something
    for entry_point, probabilities in served.items():
        assert probabilities == pytest.approx(expected, abs=1e-9), entry_point


def _moved(probabilities: dict[str, float], from_setting: str, to_setting: str) -> dict[str, float]:
    """Bayes' rule by hand: p_b(d) proportional to p_a(d) * pi_b(d) / pi_a(d)."""
    a, b = pre_test_probabilities(from_setting), pre_test_probabilities(to_setting)
    weighted = {d: p * b[d] / a[d] for d, p in probabilities.items()}
    return {d: w / sum(weighted.values()) for d, w in weighted.items()}


@pytest.mark.slow
def test_every_entry_point_honours_the_setting(quick_bundle_dir: Path, tmp_path: Path) -> None:
    """The same record in another clinical setting: every entry point gives the default's probabilities moved
    by the ratio of the two settings' pre-test probabilities (issue #13: "every entry point honours --setting")."""
    setting = "new-patients"
    assert setting != DEFAULT_SETTING
    predictor = Predictor.load(str(quick_bundle_dir))
    expected = _moved(predictor.predict(RECORD).probabilities, DEFAULT_SETTING, setting)
    cli_one, cli_batch = _cli(quick_bundle_dir, tmp_path, setting)
    http_one, http_batch = _http(predictor, setting)
    served = {
        "python predict": predictor.predict(RECORD, setting=setting).probabilities,
        "python predict_many": predictor.predict_many([RECORD], setting=setting)[0].probabilities,
        "cli json": cli_one, "cli batch table": cli_batch, "http": http_one, "http batch": http_batch,
        "mmn-ddx serve --workers 2": _serve_with_workers(quick_bundle_dir, tmp_path, setting),
        "mlflow models serve": _mlflow_serve(quick_bundle_dir, tmp_path, setting),
    }
    assert max(abs(expected[d] - predictor.predict(RECORD).probabilities[d]) for d in DIAGNOSES) > 0.01  # it moves
    for entry_point, probabilities in served.items():
        assert probabilities == pytest.approx(expected, abs=1e-9), entry_point


def _warnings_everywhere(predictor: Predictor, record: dict[str, Any]) -> tuple[list[str], PredictionResult]:
    """The warning codes of ``record`` from the Python API, held equal, in the same order, to those of the CLI's
    table (``predict -o``), the HTTP API and the pyfunc (``mlflow models serve``, Spark); and the Python result."""
    result = predictor.predict(record)
    with TestClient(create_app(predictor)) as client:
        http = client.post("/v1/predict", json=record).json()["warnings"]
    assert [w.model_dump() for w in result.warnings] == http
    codes = {
        "python": [w.code for w in result.warnings],
        "cli table": score_table(predictor, validate_frame(pd.DataFrame([record])))["warnings"].iloc[0].split(";"),
        "http": [w["code"] for w in http],
        "pyfunc": list(BundlePyfunc(predictor.bundle).predict(pd.DataFrame([record]))["warnings"].iloc[0]),
    }
    for entry_point, found in codes.items():
        assert found == codes["python"], entry_point
    return codes["python"], result


@pytest.mark.parametrize(("source", "synthetic"), [
    ("synthetic", "only"),
    ("synthetic + my_cohort.csv", "partly"),  # train --synthetic 5000 --data my_cohort.csv
    ("my_cohort.csv", None),
    ("synthetic_cases.csv", None),  # a user file named so is still a user cohort
])
def test_every_entry_point_gives_the_same_warnings_for_the_training_data(
        quick_bundle_dir: Path, source: str, synthetic: str | None) -> None:
    """The ``synthetic_training_data`` warning follows the bundle's training data alike in the Python API, the CLI's
    table (``predict -o``), the HTTP API and the pyfunc (``mlflow models serve``, Spark), in words true of the model
    (in process: a bundle's recorded source is the only difference, as ``train --data`` would write it)."""
    bundle = load_bundle(quick_bundle_dir)
    bundle.metadata = bundle.metadata.model_copy(update={"training_data_source": source})
    codes, result = _warnings_everywhere(Predictor(bundle, str(quick_bundle_dir)), RECORD)
    assert (SYNTHETIC_CODE in codes) == (synthetic is not None)
    words = " ".join(w.message for w in result.warnings if w.code == SYNTHETIC_CODE)
    assert (" only;" in words) == (synthetic == "only") and ("partly" in words) == (synthetic == "partly")
    assert "model was trained on synthetic" not in result.notice  # the notice is true of every model


@pytest.mark.parametrize(("mode", "responses", "unread"), [
    (MODES[0], {"ivig_response": "improved"}, ["IVIg"]),
    (MODES[0], {"ivig_response": "no_response", "corticosteroid_response": "worsened"}, ["IVIg", "corticosteroids"]),
    (MODES[0], {"ivig_response": "not_given", "corticosteroid_response": "improved"}, ["corticosteroids"]),
    (MODES[0], {"ivig_response": "not_given", "corticosteroid_response": "not_given"}, []),  # no trial: no response
    (MODES[0], {"ivig_response": None, "corticosteroid_response": None}, []),
    (MODES[1], {"ivig_response": "improved", "corticosteroid_response": "worsened"}, []),  # it reads them
], ids=["ivig-improved", "both-given", "steroid-only", "not-given", "null", "with-treatment"])
def test_every_entry_point_warns_of_a_treatment_response_the_model_does_not_read(
        request: pytest.FixtureRequest, mode: str, responses: dict[str, str | None], unread: list[str]) -> None:
    """README: a response to IVIg or corticosteroids given to the at-presentation model is not read, and every entry
    point says so, naming the drugs and the with-treatment model; "not given" (no trial) and null record none."""
    bundle_dir = request.getfixturevalue("quick_bundle_dir" if mode == MODES[0] else "with_treatment_bundle_dir")
    predictor = Predictor.load(str(bundle_dir), mode=mode)
    codes, result = _warnings_everywhere(predictor, {**RECORD, **responses})
    assert (TREATMENT_IGNORED_CODE in codes) == bool(unread)
    if unread:
        (words,) = [w.message for w in result.warnings if w.code == TREATMENT_IGNORED_CODE]
        assert f"the response to {' and to '.join(unread)}, which this at-presentation model does not read" in words
        assert f"The {MODES[1]} model ({MODEL_NAMES[MODES[1]]}, --mode {MODES[1]}) reads" in words


@pytest.mark.parametrize("label", ["MMN", "ALS"])
def test_a_records_diagnosis_is_checked_and_not_read_by_every_entry_point(
        quick_bundle_dir: Path, predictor: Predictor, tmp_path: Path, label: str) -> None:
    """README: a single record's ``diagnosis``, when given, must be one of the four; a prediction does not read it.
    The Python API, the CLI, the HTTP API (one record and a batch) and the pyfunc through MLflow (whose signature
    must name the column, or MLflow drops it unseen) accept "MMN" and ignore it, and refuse "ALS" in one wording."""
    import mlflow.pyfunc

    labelled, reason = {**RECORD, LABEL: label}, category_reason(label_spec())
    expected = predictor.predict(RECORD).probabilities
    patient = tmp_path / "patient.json"
    patient.write_text(json.dumps(labelled), encoding="utf-8")
    cli = CliRunner().invoke(cli_app, ["predict", str(patient), "--model", str(quick_bundle_dir), "--json"])
    with TestClient(create_app(predictor)) as client:
        one = client.post("/v1/predict", json=labelled)
        batch = client.post("/v1/predict/batch", json={"records": [RECORD, labelled]})
    served = mlflow.pyfunc.load_model(str(quick_bundle_dir))
    frame = pd.DataFrame([labelled])
    frame = frame.astype(dict.fromkeys(frame.select_dtypes("integer").columns, "float64"))  # as JSON reaches MLflow
    if label in DIAGNOSES:
        assert cli.exit_code == 0 and one.status_code == 200 and batch.status_code == 200, (cli.output, one.text)
        out = served.predict(frame)
        for entry_point, probabilities in {
            "python": predictor.predict(labelled).probabilities, "cli json": json.loads(cli.stdout)["probabilities"],
            "http": one.json()["probabilities"], "http batch": batch.json()["results"][1]["probabilities"],
            "mlflow pyfunc": {d: out.iloc[0][f"p_{d}"] for d in DIAGNOSES},
        }.items():
            assert probabilities == pytest.approx(expected, abs=1e-9), entry_point
        return
    with pytest.raises(RecordError) as refused:
        predictor.predict(labelled)
    assert refused.value.problems == {LABEL: reason}
    assert cli.exit_code == 1 and reason in " ".join(cli.output.replace("│", " ").split())
    assert one.status_code == 422 and one.json()["problems"] == {LABEL: reason}
    assert batch.status_code == 422 and batch.json()["problems"] == {f"records.1.{LABEL}": reason}
    with pytest.raises(InputError, match=rf"row 1 \(patient_id P-7\): field '{LABEL}': {reason}$"):
        served.predict(frame)
