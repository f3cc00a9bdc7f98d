"""Contract v2 at every entry point: the qualitative fields are accepted, and a finding the figures prove false
is refused with the same field and message by the importer, the Python API, the CLI, the HTTP API and the
MLflow pyfunc. (Whether predictions use the v2 fields is the features' business: here, acceptance and
validation.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mmn_ddx.cli import app as cli_app
from mmn_ddx.data.contract import DIAGNOSES, contradictions, fields
from mmn_ddx.data.importer import read_cohort, read_record_json, write_table
from mmn_ddx.data.record import RecordError

V2_FIELDS = [name for name, spec in fields().items() if spec.since == 2]
QUALITATIVE = {
    "patient_id": "v2-1", "age_at_onset_years": 39.0, "sex": "male", "onset_region": "upper_limb",
    "weakness_symmetry": "asymmetric", "weakness_predominance": "distal", "weak_arms": "one", "weak_legs": "none",
    "reflexes_arms": "reduced", "reflexes_legs": "normal",
    "motor_conduction_block": "multiple", "motor_ncs_pattern": "demyelinating", "sensory_ncs": "normal",
    "anti_gm1_igm": "positive", "csf_protein_raised": False,
}
"""Multiple blocks, a demyelinating pattern, anti-GM1 positive, asymmetric distal arm weakness: all in words."""
CONTRADICTED = {"age_at_onset_years": 45.0, "sex": "male", "nerves_definite_cb": 3, "motor_conduction_block": "single"}
FIELD = "motor_conduction_block"
MESSAGE = next(r.message for r in contradictions() if r.field == FIELD and r.other == "nerves_definite_cb"
               and r.finding.text == "single")


def test_the_qualitative_record_is_accepted_by_the_importer_and_keeps_its_words(tmp_path: Path) -> None:
    record = {**QUALITATIVE, "muscle_atrophy": "present"}  # wasting stated without a grade
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    assert {k: v for k, v in read_record_json(path).items() if k in record} == record
    (tmp_path / "cohort.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    for name in ("cohort.csv", "cohort.xlsx"):
        write_table(pd.DataFrame([record]), tmp_path / name)
    for name in ("cohort.jsonl", "cohort.csv", "cohort.xlsx"):
        result = read_cohort(tmp_path / name)
        assert result.n_rejected == 0, result.rejections
        row = result.valid.iloc[0]
        assert {k: row[k] for k in record} == record, name


def test_the_qualitative_record_is_accepted_by_the_python_api_and_http(predictor: Any, client: TestClient) -> None:
    result = predictor.predict(QUALITATIVE)
    assert set(result.probabilities) == set(DIAGNOSES)
    response = client.post("/v1/predict", json=QUALITATIVE)
    assert response.status_code == 200, response.text
    assert response.json()["probabilities"] == pytest.approx(result.probabilities, abs=1e-12)
    assert response.json()["notice"]


def test_a_contradiction_is_refused_with_one_message_by_every_entry_point(
        predictor: Any, client: TestClient, tmp_path: Path) -> None:
    with pytest.raises(RecordError) as caught:
        predictor.predict(CONTRADICTED)
    assert caught.value.problems == {FIELD: MESSAGE}
    response = client.post("/v1/predict", json=CONTRADICTED)
    assert response.status_code == 422 and response.json()["problems"] == {FIELD: MESSAGE}
    batch = client.post("/v1/predict/batch", json={"records": [QUALITATIVE, CONTRADICTED]})
    assert batch.status_code == 422 and batch.json()["problems"] == {f"records.1.{FIELD}": MESSAGE}

    path = tmp_path / "cohort.csv"
    pd.DataFrame([CONTRADICTED]).to_csv(path, index=False)
    rejections = read_cohort(path).rejections
    assert rejections[["row", "field", "reason"]].values.tolist() == [[1, FIELD, MESSAGE]]
    validated = CliRunner().invoke(cli_app, ["cohort", "validate", str(path)])
    assert validated.exit_code == 1 and FIELD in validated.output
    assert " ".join(MESSAGE.split()) in " ".join(validated.output.replace("│", " ").split())


def test_openapi_lists_every_v2_field_with_its_values(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    record = next(schema for name, schema in document["components"]["schemas"].items()
                  if name.startswith("PatientRecord") and "properties" in schema)
    for name in V2_FIELDS:
        spec, prop = fields()[name], record["properties"][name]
        kinds = prop.get("anyOf", [prop])
        if spec.type == "category":
            assert any(k.get("enum") == list(spec.values or ()) for k in kinds), name
        else:
            assert any(k.get("type") == "boolean" for k in kinds), name
        assert name not in record.get("required", [])
    atrophy = record["properties"]["muscle_atrophy"].get("anyOf", [])
    assert any("present" in k.get("enum", []) for k in atrophy)


def test_the_form_places_the_v2_fields_in_their_examination_sections(client: TestClient) -> None:
    body = client.get("/v1/schema").json()
    assert body["schema_version"] == 2
    section = {f["name"]: f["section"] for f in body["fields"]}
    assert {section[n] for n in ("weak_arms", "weakness_symmetry", "reflexes_arms")} == {section["mrc_arm_distal_left"]}
    assert section["motor_conduction_block"] == section["sensory_ncs"] == section["nerves_definite_cb"]
    assert section["anti_gm1_igm"] == section["csf_protein_raised"] == section["anti_gm1_igm_ratio"]
    assert "other" not in section.values()
