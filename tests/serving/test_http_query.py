"""The query string: a parameter an endpoint does not take, one given twice or a value not allowed is a 422 that
says it is the query's problem, names the parameter and lists what is allowed; it was ignored, the last of a
repeated one was used, and a bad ``detail`` was reported as a record problem (``query.detail``)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mmn_ddx.serving.http.query import REPEATED

RECORD = {"age_at_onset_years": 40, "sex": "male"}
BATCH = {"records": [RECORD]}


def _post(client: TestClient, path: str, params: list[tuple[str, str]] | dict[str, str]) -> dict:
    response = client.post(path, params=params, json=RECORD if path == "/v1/predict" else BATCH)
    assert response.status_code == 422, response.text
    return response.json()


def test_a_detail_not_allowed_is_a_query_problem_listing_the_allowed_values(client: TestClient) -> None:
    answer = _post(client, "/v1/predict/batch", {"detail": "bogus"})
    assert answer["error"] == "invalid_query"
    assert answer["problems"] == {"detail": "not an allowed value; allowed: full, compact"}
    assert "Query parameter 'detail'" in answer["message"] and "allowed: full, compact" in answer["message"]
    assert "record" not in answer["message"] and "bogus" not in str(answer)  # the value is not echoed


@pytest.mark.parametrize(("path", "params", "name", "takes"), [
    ("/v1/predict", {"detail": "compact"}, "detail", "setting"),  # detail is the batch's only
    ("/v1/predict", {"settings": "balanced"}, "settings", "setting"),  # a typo
    ("/v1/predict/batch", {"detial": "compact", "setting": "balanced"}, "detial", "detail, setting"),
])
def test_a_parameter_the_endpoint_does_not_take_is_refused(client: TestClient, path: str, params: dict, name: str,
                                                           takes: str) -> None:
    answer = _post(client, path, params)
    assert answer["error"] == "invalid_query"
    assert answer["problems"] == {name: f"not a parameter of this endpoint, which takes {takes}"}
    assert f"Query parameter '{name}'" in answer["message"]


@pytest.mark.parametrize("path", ["/v1/model", "/v1/schema", "/healthz"])
def test_endpoints_without_parameters_refuse_a_query_string(client: TestClient, path: str) -> None:
    response = client.get(path, params={"x": "1"})
    assert response.status_code == 422
    assert response.json()["problems"] == {"x": "not a parameter of this endpoint, which takes none"}
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(("path", "params"), [
    ("/v1/predict", [("setting", "referral"), ("setting", "balanced")]),
    ("/v1/predict/batch", [("setting", "referral"), ("setting", "balanced")]),
    ("/v1/predict/batch", [("detail", "compact"), ("detail", "compact")]),  # even the same value twice
])
def test_a_repeated_parameter_is_refused(client: TestClient, path: str, params: list[tuple[str, str]]) -> None:
    answer = _post(client, path, params)
    name = params[0][0]
    assert (answer["error"], answer["problems"]) == ("invalid_query", {name: REPEATED})


def test_the_page_s_request_is_accepted(client: TestClient) -> None:
    """serving/web/app.js posts a record to ``/v1/predict?setting=<the selector's choice>``."""
    response = client.post("/v1/predict?setting=new-patients", json=RECORD)
    assert response.status_code == 200 and response.json()["setting"]["name"] == "new-patients"


def test_the_openapi_document_lists_the_parameters_and_the_422(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    taken = {path: [p["name"] for op in ops.values() for p in op.get("parameters", [])]
             for path, ops in spec["paths"].items() if path.startswith(("/v1", "/healthz"))}
    assert taken == {"/v1/predict": ["setting"], "/v1/predict/batch": ["detail", "setting"], "/v1/model": [],
                     "/v1/schema": [], "/healthz": []}
    for path, ops in spec["paths"].items():
        for op in ops.values():
            assert "`invalid_query`" in op["responses"]["422"]["description"], (path, op["operationId"])
