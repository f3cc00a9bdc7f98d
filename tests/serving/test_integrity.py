"""The bundle's manifest digest where a user sees what model answered, and a tampered model refused by
the CLI and the server with a readable error (no traceback) rather than served or silently replaced."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mmn_ddx.cli import app as cli
from mmn_ddx.serving.predictor import Predictor
from mmn_ddx.serving.terminal import audit as render_audit
from mmn_ddx.training.artifact.bundle import IntegrityError

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
PATIENT = {"patient_id": "P-1", "age_at_onset_years": 38.0, "sex": "male", "nerves_definite_cb": 3,
           "motor_nerves_studied": 8}
runner = CliRunner()


@pytest.fixture
def tampered(quick_bundle_dir: Path, tmp_path: Path) -> Path:
    """A copy of the exported model whose model card is a symbolic link to /etc/passwd (issue #15)."""
    model = Path(shutil.copytree(quick_bundle_dir, tmp_path / "model"))
    card = model / "data" / "bundle" / "model_card.md"
    card.unlink()
    os.symlink("/etc/passwd", card)
    return model


def test_model_endpoint_and_every_audit_block_carry_the_manifest_digest(client: TestClient, predictor: Any) -> None:
    digest = predictor.bundle.manifest_digest
    assert isinstance(digest, str) and len(digest) == 64
    assert client.get("/v1/model").json()["manifest_digest"] == digest
    response = client.post("/v1/predict", json=PATIENT)
    assert response.status_code == 200, response.text
    assert response.json()["audit"]["manifest_digest"] == digest
    assert predictor.predict(PATIENT).audit.manifest_digest == digest
    assert digest[:16] in render_audit(predictor.predict(PATIENT)).plain


def test_a_tampered_model_is_never_replaced_by_another_one(tampered: Path) -> None:
    with pytest.raises(IntegrityError, match=r"model_card\.md: a symbolic link"):
        Predictor.load(str(tampered))


def test_predict_cli_refuses_a_tampered_model_without_a_traceback(tampered: Path, tmp_path: Path) -> None:
    patient = tmp_path / "patient.json"
    patient.write_text(json.dumps(PATIENT), encoding="utf-8")
    result = runner.invoke(cli, ["predict", str(patient), "--model", str(tampered)])
    assert result.exit_code == 1
    assert "model_card.md: a symbolic link" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_serve_cli_refuses_a_tampered_model_without_a_traceback(tampered: Path) -> None:
    result = runner.invoke(cli, ["serve", "--model", str(tampered), "--port", "1"])
    assert result.exit_code == 1
    assert "model_card.md: a symbolic link" in " ".join(result.output.split())
    assert "Traceback" not in result.output
