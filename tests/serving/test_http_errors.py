"""Issue #15: bad input is a clean 422 naming the field; internal errors are 500 with a request id, never
disguised as the client's fault; the same bad record gets the same error path alone or under load."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from mmn_ddx.serving.http import create_app
from mmn_ddx.serving.http.body import DUPLICATE_KEY, NOT_UNICODE

JSON = {"content-type": "application/json"}
LONE_SURROGATE = rb'{"age_at_onset_years": 40, "sex": "male", "patient_id": "\ud800"}'
"""The issue's reproduction: a lone surrogate escape, valid JSON but not Unicode text."""
COUNT_OVER_STUDIED = {"age_at_onset_years": 40, "sex": "male", "nerves_definite_cb": 5, "motor_nerves_studied": 2}
"""Passes the field-by-field contract, broken by the cross-field rule (a count above the nerves studied)."""


def test_lone_surrogate_is_a_422_naming_the_field(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        response = client.post("/v1/predict", content=LONE_SURROGATE, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["problems"] == {"patient_id": NOT_UNICODE}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # the client's error, not the server's


def test_lone_surrogate_in_a_batch_names_the_record_index(client: TestClient) -> None:
    body = b'{"records": [{"age_at_onset_years": 40, "sex": "male"}, ' + LONE_SURROGATE + b"]}"
    response = client.post("/v1/predict/batch", content=body, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["problems"] == {"records.1.patient_id": NOT_UNICODE}


def test_lone_surrogate_in_a_key_is_named_escaped(client: TestClient) -> None:
    response = client.post("/v1/predict", content=rb'{"age_at_onset_years": 40, "sex": "male", "\udc00": 1}',
                           headers=JSON)
    assert response.status_code == 422
    assert response.json()["problems"] == {"\\udc00": NOT_UNICODE}


def test_paired_surrogates_are_text(client: TestClient) -> None:
    response = client.post("/v1/predict", headers=JSON,
                           content=rb'{"age_at_onset_years": 40, "sex": "male", "patient_id": "P-\ud83d\ude00"}')
    assert response.status_code == 200, response.text
    assert response.json()["patient_id"] == "P-\U0001f600"


def test_duplicate_keys_are_a_422_naming_the_key(client: TestClient) -> None:
    body = b'{"age_at_onset_years": 40, "age_at_onset_years": 999, "sex": "male"}'
    response = client.post("/v1/predict", content=body, headers=JSON)
    assert response.status_code == 422
    assert response.json()["problems"] == {"age_at_onset_years": DUPLICATE_KEY}
    assert "999" not in response.text


def test_duplicate_keys_in_a_batch_name_the_record(client: TestClient) -> None:
    body = b'{"records": [{"age_at_onset_years": 40, "sex": "male"}, {"sex": "male", "sex": "female"}]}'
    response = client.post("/v1/predict/batch", content=body, headers=JSON)
    assert response.status_code == 422
    assert response.json()["problems"] == {"records.1.sex": DUPLICATE_KEY}


def test_cross_field_error_path_is_the_same_alone_and_under_load(live_server: Any) -> None:
    """Alone, the record was scored in a micro-batch of one and named ``records.0.<field>``; under load it
    was retried alone and named ``<field>``. It must be ``<field>`` either way."""
    good = {"age_at_onset_years": 50, "sex": "female"}

    async def post_all() -> list[httpx2.Response]:
        async with httpx2.AsyncClient(base_url=live_server.url, timeout=60) as http:
            alone = await http.post("/v1/predict", json=COUNT_OVER_STUDIED)
            crowd = await asyncio.gather(*(http.post("/v1/predict", json=r)
                                           for r in [good] * 6 + [COUNT_OVER_STUDIED] * 2 + [good] * 6))
            return [alone, *crowd]

    responses = asyncio.run(post_all())
    bad = [responses[0], responses[7], responses[8]]
    assert [r.status_code for r in bad] == [422] * 3
    assert [list(r.json()["problems"]) for r in bad] == [["nerves_definite_cb"]] * 3
    assert [r.status_code for r in responses if r not in bad] == [200] * 12


def test_cross_field_error_in_a_batch_names_the_record_index(client: TestClient) -> None:
    response = client.post("/v1/predict/batch", json={"records": [{"age_at_onset_years": 40, "sex": "male"},
                                                                  COUNT_OVER_STUDIED]})
    assert response.status_code == 422
    assert list(response.json()["problems"]) == ["records.1.nerves_definite_cb"]


ENVELOPE_PROBLEMS = [
    ({"records": [{"age_at_onset_years": 40, "sex": "male"}], "extra": 1},
     {"extra": "unknown key: a batch body holds only 'records'"}),
    ({}, {"records": "required: the list of records"}),
    ({"records": "x"}, {"records": "must be a list of records (JSON objects)"}),
    ([], {"<body>": "must be a JSON object"}),
    (b'{"records": [], "records": []}', {"records": DUPLICATE_KEY}),
]


@pytest.mark.parametrize(("body", "problems"), ENVELOPE_PROBLEMS,
                         ids=["key-beside-records", "no-records", "records-not-a-list", "not-an-object", "repeated"])
def test_a_batch_body_of_the_wrong_shape_is_not_called_a_record_problem(client: TestClient, body: Any,
                                                                        problems: dict[str, str]) -> None:
    """A key beside ``records`` was reported as 'unknown field (not in the data dictionary)' of a record."""
    sent = {"content": body, "headers": JSON} if isinstance(body, bytes) else {"json": body}
    response = client.post("/v1/predict/batch", **sent)
    assert response.status_code == 422
    answer = response.json()
    assert (answer["error"], answer["problems"]) == ("invalid_body", problems)
    assert "data dictionary" not in answer["message"] and all(path in answer["message"] for path in problems)


def test_a_record_of_a_batch_is_still_a_record_problem(client: TestClient) -> None:
    response = client.post("/v1/predict/batch", json={"records": [[], {"sex": "male", "extra": 1}]})
    assert response.json()["error"] == "invalid_record"
    assert set(response.json()["problems"]) == {"records.0", "records.1.age_at_onset_years", "records.1.extra"}


def test_a_single_record_that_is_not_an_object_is_a_body_problem(client: TestClient) -> None:
    response = client.post("/v1/predict", json=["male"])
    assert response.status_code == 422
    answer = response.json()
    assert (answer["error"], answer["problems"]) == ("invalid_body", {"<body>": "must be a JSON object"})


class _Exploding:
    """A predictor with a bug: its exception message quotes patient data."""

    def predict(self, record: Any, *, setting: str | None = None) -> Any:
        raise RuntimeError(f"broken on patient {record.patient_id} aged {record.age_at_onset_years}")

    def predict_many(self, records: list[Any], *, setting: str | None = None) -> Any:
        return self.predict(records[0])


@pytest.mark.parametrize("path", ["/v1/predict", "/v1/predict/batch"])
def test_internal_error_is_500_with_a_request_id_and_no_patient_data(
        vignettes: dict, caplog: pytest.LogCaptureFixture, path: str) -> None:
    record = vignettes["MMN"]
    body = record if path == "/v1/predict" else {"records": [record]}
    with TestClient(create_app(_Exploding()), raise_server_exceptions=False) as failing, \
            caplog.at_level(logging.DEBUG):
        response = failing.post(path, json=body)
    assert response.status_code == 500
    payload = response.json()
    assert payload["error"] == "internal_error" and "not a problem with the record" in payload["message"]
    assert payload["request_id"] == response.headers["x-request-id"]
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1 and payload["request_id"] in failures[0] and "RuntimeError" in failures[0]
    assert record["patient_id"] not in caplog.text + response.text
    assert str(record["age_at_onset_years"]) not in "\n".join(failures)


def test_every_response_has_its_own_request_id(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    ids.add(client.get("/nowhere").headers["x-request-id"])
    assert len(ids) == 4


def test_head_healthz_is_200_without_a_body(client: TestClient) -> None:
    response = client.head("/healthz")
    assert response.status_code == 200
    assert response.content == b""
