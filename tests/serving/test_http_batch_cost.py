"""Issue #15 item 5: a batch is bounded by cost (records x fields, 413), can be answered compactly, and is
scored in chunks off the event loop."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from mmn_ddx.data.contract import fields
from mmn_ddx.serving.http import create_app
from mmn_ddx.serving.http.batch import CHUNK, MAX_BATCH, MAX_FULL_BATCH, CompactResult

MINIMAL = {"age_at_onset_years": 40, "sex": "male"}


def _minimal(n: int) -> list[dict[str, Any]]:
    return [{**MINIMAL, "patient_id": f"P{i}", "age_at_onset_years": 20 + i % 50} for i in range(n)]


def test_full_detail_over_its_budget_is_413_saying_how_to_split(client: TestClient) -> None:
    response = client.post("/v1/predict/batch", json={"records": _minimal(MAX_FULL_BATCH + 1)})
    assert response.status_code == 413
    body = response.json()
    assert body["error"] == "batch_too_large" and body["limit_records"] == MAX_FULL_BATCH
    assert body["limit_cells"] == MAX_FULL_BATCH * len(fields())
    assert f"{MAX_FULL_BATCH + 1} records x {len(fields())} fields" in body["message"]
    assert "detail=compact" in body["message"]


def test_compact_batch_answers_more_records_in_far_fewer_bytes(client: TestClient, predictor: Any) -> None:
    records = _minimal(MAX_FULL_BATCH + 1)
    response = client.post("/v1/predict/batch?detail=compact", json={"records": records})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["patient_id"] for r in results] == [r["patient_id"] for r in records]
    assert set(results[0]) == set(CompactResult.model_fields)
    full = predictor.predict_many(records[:3])
    for got, want in zip(results, full, strict=False):
        assert got["probabilities"] == want.probabilities
        assert got["prediction_set"]["diagnoses"] == want.prediction_set.diagnoses
        assert got["rule_based_label"] == want.criteria.rule_based_label
    per_record_full = len(full[0].model_dump_json())
    assert len(response.content) / len(records) < per_record_full / 10  # the issue: ~45 kB a record


def test_compact_batch_over_the_record_limit_is_413(client: TestClient) -> None:
    response = client.post("/v1/predict/batch?detail=compact", json={"records": [MINIMAL] * (MAX_BATCH + 1)})
    assert response.status_code == 413 and response.json()["error"] == "batch_too_large"


def test_unknown_detail_is_422(client: TestClient) -> None:
    response = client.post("/v1/predict/batch?detail=everything", json={"records": [MINIMAL]})
    assert response.status_code == 422 and response.json()["error"] == "invalid_query"  # not a record problem
    assert list(response.json()["problems"]) == ["detail"]


def test_a_batch_is_scored_in_chunks_between_which_the_event_loop_runs(predictor: Any) -> None:
    calls: list[int] = []

    class Counting:
        def predict(self, record: Any, *, setting: str | None = None) -> Any:
            return predictor.predict(record, setting=setting)

        def predict_many(self, records: list[Any], *, setting: str | None = None) -> Any:
            calls.append(len(records))
            return predictor.predict_many(records, setting=setting)

    n = 2 * CHUNK + 3
    with TestClient(create_app(Counting())) as counted:
        response = counted.post("/v1/predict/batch?detail=compact", json={"records": _minimal(n)})
    assert response.status_code == 200
    assert calls == [CHUNK, CHUNK, 3]
    assert len(json.loads(response.content)["results"]) == n
