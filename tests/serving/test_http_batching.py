"""Micro-batching of POST /v1/predict: concurrent requests share one call, and each gets its own answer."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from typing import Any

import httpx2
import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data.contract import LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.data.record import RecordError
from mmn_ddx.serving.http.batcher import MicroBatcher
from mmn_ddx.serving.result import PredictionResult


def _plain(value: Any) -> Any:
    """A cohort cell as a JSON value (missing -> null)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


class SlowStub:
    """Answers with a template result carrying the record's patient_id; slow enough that requests queue."""

    def __init__(self, template: PredictionResult, delay_s: float = 0.05) -> None:
        self.template = template
        self.delay_s = delay_s
        self.calls: list[int] = []
        self.lock = threading.Lock()

    def _one(self, record: dict[str, Any]) -> PredictionResult:
        if record["patient_id"] == "bad":
            raise RecordError({"sex": "not processable"})
        return self.template.model_copy(update={"patient_id": record["patient_id"]})

    def predict(self, record: dict[str, Any], *, setting: str | None = None) -> PredictionResult:
        return self._one(record)

    def predict_many(self, records: list[dict[str, Any]], *, setting: str | None = None) -> list[PredictionResult]:
        with self.lock:
            self.calls.append(len(records))
        time.sleep(self.delay_s)
        return [self._one(r) for r in records]


@pytest.fixture(scope="module")
def template(predictor: Any) -> PredictionResult:
    return predictor.predict({"age_at_onset_years": 50.0, "sex": "female"})


def test_concurrent_requests_are_batched_and_answered_in_order(template: PredictionResult) -> None:
    stub = SlowStub(template)
    batcher = MicroBatcher(stub)

    async def run() -> list[Any]:
        ids = [f"P{i}" for i in range(12)]
        return await asyncio.gather(*(batcher.predict({"patient_id": i}) for i in ids), return_exceptions=True)

    results = asyncio.run(run())
    assert [r.patient_id for r in results] == [f"P{i}" for i in range(12)]
    assert sum(stub.calls) == 12 and max(stub.calls) > 1  # fewer calls than requests
    assert batcher.batch_sizes == stub.calls


def test_a_bad_record_fails_only_its_own_request(template: PredictionResult) -> None:
    batcher = MicroBatcher(SlowStub(template))

    async def run() -> list[Any]:
        ids = ["A", "bad", "C", "D"]
        return await asyncio.gather(*(batcher.predict({"patient_id": i}) for i in ids), return_exceptions=True)

    a, bad, c, d = asyncio.run(run())
    assert isinstance(bad, RecordError) and bad.problems == {"sex": "not processable"}
    assert (a.patient_id, c.patient_id, d.patient_id) == ("A", "C", "D")


def test_concurrent_http_answers_equal_one_by_one_predictions(live_server: Any, predictor: Any) -> None:
    frame = generate_cohort(16, seed=31).drop(columns=LABEL)
    records = [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]

    async def post_all() -> list[httpx2.Response]:
        async with httpx2.AsyncClient(base_url=live_server.url, timeout=120) as client:
            return await asyncio.gather(*(client.post("/v1/predict", json=r) for r in records))

    responses = asyncio.run(post_all())
    assert [r.status_code for r in responses] == [200] * len(records)
    for record, response in zip(records, responses, strict=True):
        body = response.json()
        expected = predictor.predict(record)
        assert body["patient_id"] == record["patient_id"]
        assert body["probabilities"] == pytest.approx(expected.probabilities, abs=1e-9)
        assert body["predicted_diagnosis"] == expected.predicted_diagnosis
