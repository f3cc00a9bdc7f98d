"""The HTTP API: same answers as the Python API, field-named 422s, 413s, never a 500, no patient data in logs."""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from mmn_ddx.data.contract import DIAGNOSES, SCHEMA_VERSION, contradictions, fields, rules
from mmn_ddx.serving.http.app import RECORD_BODY_LIMIT
from mmn_ddx.serving.http.errors import MAX_BATCH

MRC_SEVEN = {"age_at_onset_years": 40.0, "sex": "male", "mrc_arm_distal_left": 7}


def _post(client: TestClient, body: bytes | str, content_type: str = "application/json") -> httpx2.Response:
    return client.post("/v1/predict", content=body, headers={"content-type": content_type})


# --- the happy path -------------------------------------------------------------------------------


@pytest.mark.parametrize("diagnosis", DIAGNOSES)
def test_prediction_matches_the_python_api(client: TestClient, predictor: Any, vignettes: dict, diagnosis: str) -> None:
    record = vignettes[diagnosis]
    response = client.post("/v1/predict", json=record)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = predictor.predict(record)
    assert body["probabilities"] == pytest.approx(expected.probabilities, abs=1e-12)
    assert body["predicted_diagnosis"] == expected.predicted_diagnosis
    assert body["prediction_set"]["diagnoses"] == expected.prediction_set.diagnoses
    assert [f["finding"] for f in body["explanation"]["by_finding"]] == [
        f.finding for f in expected.explanation.by_finding]
    assert body["notice"] and body["audit"]["schema_version"] == SCHEMA_VERSION


def test_minimal_record_with_nulls_is_accepted(client: TestClient) -> None:
    response = client.post("/v1/predict", json={"age_at_onset_years": 50, "sex": "female", "course": None})
    assert response.status_code == 200, response.text
    assert set(response.json()["probabilities"]) == set(DIAGNOSES)


def test_batch_matches_predict_many_in_order(client: TestClient, predictor: Any, vignettes: dict) -> None:
    records = [vignettes[d] for d in ("MND", "MMN", "MADSAM", "CIDP")]
    response = client.post("/v1/predict/batch", json={"records": records})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    expected = predictor.predict_many(records)
    assert [r["patient_id"] for r in results] == [r["patient_id"] for r in records]
    for got, want in zip(results, expected, strict=True):
        assert got["probabilities"] == pytest.approx(want.probabilities, abs=1e-12)


def _spaced(record: dict[str, Any]) -> dict[str, Any]:
    """The record with surrounding whitespace around every text value (identifier and categories)."""
    text = {name for name, spec in fields().items() if spec.type in ("string", "category")}
    return {name: f" {value}\t" if name in text and value is not None else value for name, value in record.items()}


def test_text_with_surrounding_whitespace_is_read_as_a_cohort_file_reads_it(client: TestClient, vignettes: dict
                                                                            ) -> None:
    """' male' was 422 here (and in the batch) while every cohort reader and the MLflow model read it as male."""
    record = {**vignettes["MMN"], "patient_id": "P-1"}
    spaced = {**_spaced(record), "diagnosis": " MMN "}
    assert spaced["sex"] == " male\t" and spaced["patient_id"] == " P-1\t"
    response = client.post("/v1/predict", json=spaced)
    assert response.status_code == 200, response.text
    assert response.json() == client.post("/v1/predict", json=record).json()
    batch = client.post("/v1/predict/batch", json={"records": [spaced, record]})
    assert batch.status_code == 200, batch.text
    first, second = batch.json()["results"]
    assert first == second and first["patient_id"] == "P-1"


# --- contract violations: 422 naming the field ----------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"shoe_size_eu": 4711}, "shoe_size_eu", "unknown field"),
        ({"age_at_onset_years": "47"}, "age_at_onset_years", "number"),
        ({"nerves_definite_cb": 2.5}, "nerves_definite_cb", "whole number"),  # the count rule: 2.0 is the count 2
        ({"fasciculations": "yes"}, "fasciculations", "boolean"),
        ({"mrc_arm_distal_left": 7}, "mrc_arm_distal_left", "less than or equal to 5"),
        ({"csf_protein_g_per_l": -1}, "csf_protein_g_per_l", "greater than or equal to 0"),
        ({"sex": "m"}, "sex", "'male' or 'female'"),
        ({"sensory_loss": "patchy"}, "sensory_loss", "'none'"),
        ({"age_at_onset_years": None}, "age_at_onset_years", "number"),
        ({"sensory_loss": " patchy "}, "sensory_loss", "'none'"),  # stripped, still no category
        ({"sex": "   "}, "sex", "'male' or 'female'"),  # blank is '', not null: as in a JSON cohort
        ({"age_at_onset_years": " 47 "}, "age_at_onset_years", "number"),  # stripping reads no number
    ],
    ids=["unknown-field", "string-for-number", "float-for-count", "string-for-bool", "mrc-7", "negative",
         "bad-sex", "bad-category", "null-age", "spaced-bad-category", "blank-sex", "spaced-string-for-number"],
)
def test_contract_violation_is_422_naming_the_field(client: TestClient, vignettes: dict, change: dict,
                                                     field: str, reason: str) -> None:
    response = client.post("/v1/predict", json={**vignettes["MMN"], **change})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_record"
    assert list(body["problems"]) == [field]
    assert reason in body["problems"][field]
    assert "4711" not in response.text and "patchy" not in response.text  # values are never echoed


ISSUE_EXAMPLE = {"age_at_onset_years": 45.0, "sex": "male", "motor_nerves_studied": 2, "nerves_definite_cb": 5}


def test_count_above_the_nerves_studied_is_422_with_the_dictionary_rule(client: TestClient) -> None:
    """Issue #10's row: the same field and message as ``cohort validate`` and the Python API."""
    message = next(rule.message for rule in rules() if rule.field == "nerves_definite_cb")
    response = client.post("/v1/predict", json=ISSUE_EXAMPLE)
    assert response.status_code == 422
    assert response.json()["problems"] == {"nerves_definite_cb": message}
    batch = client.post("/v1/predict/batch", json={"records": [ISSUE_EXAMPLE]})
    assert batch.status_code == 422 and batch.json()["problems"] == {"records.0.nerves_definite_cb": message}


def test_a_cross_field_reason_quotes_the_rule_s_words_not_the_number_sent(client: TestClient) -> None:
    """README: a reason quotes no number or free text sent; a ``contradicts`` rule quotes its own finding (a word of
    the contract the record's value matched) and threshold, as the data dictionary words them."""
    (rule,) = [r for r in contradictions() if r.field == "csf_protein_raised"]
    record = {"age_at_onset_years": 40, "sex": "male", "csf_protein_raised": False, "csf_protein_g_per_l": 2.345}
    response = client.post("/v1/predict", json=record)
    assert response.json()["problems"] == {"csf_protein_raised": rule.message}
    assert rule.message.startswith("'false' contradicts csf_protein_g_per_l > 1: ")
    assert "2.345" not in response.text


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_is_an_invalid_record_naming_the_field(client: TestClient, literal: bytes) -> None:
    """README: ``/v1/predict`` refuses a JSON ``NaN`` (which MLflow's server reads as null) naming the field."""
    response = _post(client, b'{"age_at_onset_years": 40, "sex": "male", "csf_protein_g_per_l": ' + literal + b"}")
    assert response.status_code == 422 and response.json()["error"] == "invalid_record"
    assert response.json()["problems"] == {"csf_protein_g_per_l": "Input should be a finite number"}


def test_missing_age_is_named(client: TestClient) -> None:
    response = client.post("/v1/predict", json={"sex": "male"})
    assert response.status_code == 422
    assert response.json()["problems"] == {"age_at_onset_years": "required field is missing"}


def test_batch_violation_names_the_record_index(client: TestClient, vignettes: dict) -> None:
    records = [vignettes["MMN"], {**vignettes["CIDP"], "sex": "x"}]
    response = client.post("/v1/predict/batch", json={"records": records})
    assert response.status_code == 422
    assert list(response.json()["problems"]) == ["records.1.sex"]


# --- size limits: 413 -----------------------------------------------------------------------------


def test_declared_oversized_body_is_413(client: TestClient) -> None:
    body = json.dumps({"age_at_onset_years": 40, "sex": "male", "patient_id": "x" * RECORD_BODY_LIMIT})
    response = _post(client, body)
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"


def test_streamed_oversized_body_without_length_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"age_at_onset_years": 40, "sex": "male", "patient_id": "'
        for _ in range(RECORD_BODY_LIMIT // 1024 + 2):
            yield b"y" * 1024
        yield b'"}'

    response = client.post("/v1/predict", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_batch_over_the_record_limit_is_413(client: TestClient) -> None:
    records = [{"age_at_onset_years": 40, "sex": "male"}] * (MAX_BATCH + 1)
    response = client.post("/v1/predict/batch", json={"records": records})
    assert response.status_code == 413
    assert response.json()["error"] == "batch_too_large"


# --- hostile input: a 4xx with a message, never a 500 ---------------------------------------------

HOSTILE: list[tuple[str, bytes, str]] = [
    ("not-json", b"age=40&sex=male", "application/json"),
    ("truncated", b'{"age_at_onset_years": 40, "sex": "ma', "application/json"),
    ("empty", b"", "application/json"),
    ("array", b"[1, 2, 3]", "application/json"),
    ("array-of-records", b'[{"age_at_onset_years": 40, "sex": "male"}]', "application/json"),
    ("null", b"null", "application/json"),
    ("string", b'"MMN"', "application/json"),
    ("nan", b'{"age_at_onset_years": NaN, "sex": "male"}', "application/json"),
    ("infinity", b'{"age_at_onset_years": Infinity, "sex": "male"}', "application/json"),
    ("huge-float", b'{"age_at_onset_years": 1e999, "sex": "male"}', "application/json"),
    ("huge-int", b'{"age_at_onset_years": 40, "sex": "male", "nerves_definite_cb": ' + b"9" * 5000 + b"}",
     "application/json"),
    ("deep-nesting", b"[" * 20000 + b"]" * 20000, "application/json"),
    ("nested-junk", b'{"age_at_onset_years": {"$gt": 0}, "sex": ["male"], "course": {"a": [[[]]]}}',
     "application/json"),
    ("duplicate-keys", b'{"age_at_onset_years": 40, "age_at_onset_years": 999, "sex": "male"}', "application/json"),
    ("bad-utf8", b'{"age_at_onset_years": 40, "sex": "\xff\xfe"}', "application/json"),
    ("nul-bytes", b'{"age_at_onset_years": 40, "sex": "male\\u0000", "patient_id": "\\u0000"}', "application/json"),
    ("text-plain", b'{"age_at_onset_years": 40, "sex": "male"}', "text/plain"),
    ("form", b"age_at_onset_years=40&sex=male", "application/x-www-form-urlencoded"),
    ("bool-for-number", b'{"age_at_onset_years": true, "sex": "male"}', "application/json"),
]


@pytest.mark.parametrize(("body", "content_type"), [(b, c) for _, b, c in HOSTILE], ids=[i for i, _, _ in HOSTILE])
def test_hostile_input_is_a_clear_4xx(client: TestClient, body: bytes, content_type: str) -> None:
    response = _post(client, body, content_type)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    payload = response.json()
    assert payload["error"] and payload["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_json_sent_as_another_media_type_is_415(client: TestClient, content_type: str) -> None:
    response = _post(client, b'{"age_at_onset_years": 40, "sex": "male"}', content_type)
    assert response.status_code == 415
    assert "application/json" in response.json()["message"]


@pytest.mark.parametrize("payload", [{"records": "x"}, {"records": [[]]}, {"records": None}, {}, {"records": [],
                                     "extra": 1}])
def test_hostile_batches_are_4xx(client: TestClient, payload: dict) -> None:
    response = client.post("/v1/predict/batch", json=payload)
    assert 400 <= response.status_code < 500, response.text


# --- model, schema, health, page, docs ------------------------------------------------------------


def test_model_endpoint_describes_the_served_bundle(client: TestClient, predictor: Any) -> None:
    body = client.get("/v1/model").json()
    audit = predictor.predict({"age_at_onset_years": 50.0, "sex": "male"}).audit
    assert body["name"] == audit.model_name and body["version"] == audit.model_version
    assert body["training_data_digest"] == audit.training_data_digest
    assert body["schema_version"] == SCHEMA_VERSION
    assert body["metrics"] and "not for clinical use" in body["intended_use"].lower()
    assert body["model_card"].lstrip().startswith("#")


def test_schema_is_the_contract(client: TestClient) -> None:
    body = client.get("/v1/schema").json()
    contract = fields()
    assert [f["name"] for f in body["fields"]] == list(contract)
    for f in body["fields"]:
        spec = contract[f["name"]]
        assert (f["type"], f["required"]) == (spec.type, spec.required)
        assert f["values"] == (list(spec.values) if spec.values else None)
        assert f["range"] == (list(spec.range) if spec.range else None)
    sections = {s["id"] for s in body["sections"]}
    assert {f["section"] for f in body["fields"]} == sections and "other" not in sections
    grid = {(g["limb"], g["level"], g["side"]) for f in body["fields"] if (g := f["grid"])}
    assert len(grid) == 8
    units = {f["name"]: f["unit"] for f in body["fields"]}
    assert units["csf_protein_g_per_l"] == "g/L" and units["age_at_onset_years"] == "years"


def test_health(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["model"]


def test_page_and_all_its_assets_are_served_locally(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts and any(a.endswith(".css") for a in assets)
    seen: set[str] = set()
    queue = [a for a in assets if a.startswith("/static/")]
    while queue:  # follow ES-module imports too
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", asset.text), f"{url} loads from the network"
        queue += [f"/static/{m}" for m in re.findall(r'from "\./([\w.-]+)"', asset.text)]
    assert {"/static/app.js", "/static/form.js", "/static/result.js", "/static/waterfall.js"} <= seen
    assert all(a.startswith(("/", "#", "data:")) for a in assets if a not in ("/docs",))


def test_docs_are_served_offline(client: TestClient) -> None:
    pytest.importorskip("fastapi_offline", reason="fastapi-offline not installed: /docs would use a CDN")
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()
    for url in re.findall(r'(?:src|href)="(/docs-static/[^"]+)"', docs.text):
        assert client.get(url).status_code == 200, url
    assert client.get("/openapi.json").json()["paths"]["/v1/predict"]


# --- no patient data in logs ----------------------------------------------------------------------


def test_no_patient_values_in_logs(live_server: Any, vignettes: dict, caplog: pytest.LogCaptureFixture,
                                   capfd: pytest.CaptureFixture[str]) -> None:
    marker = "ZZ-SECRET-4711"
    record = {**vignettes["MMN"], "patient_id": marker, "age_at_onset_years": 37.123}
    with caplog.at_level(logging.DEBUG), httpx2.Client(base_url=live_server.url, timeout=30) as http:
        assert http.post("/v1/predict", json=record).status_code == 200
        assert http.post("/v1/predict", json={**record, "mrc_arm_distal_left": 7.777}).status_code == 422
        assert http.post(f"/v1/predict?patient={marker}", json=record).status_code == 422  # not a parameter
        assert http.get(f"/{marker}").status_code == 404
    out, err = capfd.readouterr()
    server_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]  # not the client's
    logs = "\n".join(logging.Formatter("%(name)s %(message)s").format(r) for r in server_records) + out + err
    assert "/v1/predict 200" in logs  # the access log is on, with route templates
    for secret in (marker, "37.123", "7.777"):
        assert secret not in logs


def test_serve_reports_a_model_that_cannot_load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mmn_ddx.cli import serve as serve_cli

    def refuse(model: str | None, mode: str | None) -> Any:
        raise FileNotFoundError(f"no bundle in {model}")

    monkeypatch.setattr(serve_cli, "load_predictor", refuse)
    result = CliRunner().invoke(serve_cli.serve_app, ["--model", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "could not load the model" in result.output


def test_serve_with_workers_reports_a_port_in_use(predictor: Any) -> None:
    from typer.testing import CliRunner

    from mmn_ddx.cli import serve as serve_cli

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(serve_cli.serve_app, ["--model", predictor.uri, "--port", str(port),
                                                          "--workers", "2"])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in " ".join(result.output.split())
