"""``mlflow models serve`` on the exported pyfunc returns the same probabilities as ``Predictor.predict``.

README command (from the project root; the virtualenv's ``bin`` must be on ``PATH``, because MLflow
starts ``uvicorn`` by name and fails with exit code 127 otherwise):

    source .venv/bin/activate
    MLFLOW_TRACKING_URI=sqlite:///mlruns.db mlflow models serve -m models:/mmn-ddx@champion \
        --env-manager local -h 127.0.0.1 -p 5001

Here the server runs on the quick test model's directory on a free loopback port; it is started in its own
process group and always killed, with bounded waits everywhere.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from data.contract import DIAGNOSES
from serving.predictor import Predictor

STARTUP_TIMEOUT_S = 50.0
RECORD = {
    "patient_id": "P-7", "age_at_onset_years": 41.0, "sex": "male", "onset_region": "upper_limb",
    "mrc_arm_distal_left": 3.0, "motor_nerves_studied": 8, "nerves_definite_cb": 3, "anti_gm1_igm_ratio": 6.5,
    "sensory_loss": "none", "fasciculations": False,
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


@pytest.mark.slow
def test_mlflow_models_serve_matches_the_predictor(quick_bundle_dir: Path, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(quick_bundle_dir), "--env-manager", "local",
         "-h", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")[-2000:]
            try:
                if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "mlflow models serve did not start in time"
            time.sleep(0.5)
        response = httpx.post(f"{url}/invocations", json={"dataframe_records": [RECORD]}, timeout=30)
    finally:
        _stop(process)
        log.close()
    assert response.status_code == 200, response.text
    served = response.json()["predictions"][0]
    expected = Predictor.load(str(quick_bundle_dir)).predict(RECORD)
    assert served["patient_id"] == "P-7"
    assert served["predicted_diagnosis"] == expected.predicted_diagnosis
    for diagnosis in DIAGNOSES:
        assert served[f"p_{diagnosis}"] == pytest.approx(expected.probabilities[diagnosis], abs=1e-9)
