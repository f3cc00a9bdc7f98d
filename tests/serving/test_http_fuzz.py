"""Issue #15 item 8: schemathesis against the live OpenAPI schema - no 5xx, no disguised internal error.

Valid and invalid requests generated from ``/openapi.json`` of the app on uvicorn (the serve CLI's
configuration). Every answer must be below 500 and, if an error, a JSON document with ``error`` and
``message`` that is not the old disguised ``processing_failed``.

Bounded for CI: ``MMN_DDX_FUZZ_EXAMPLES`` examples per operation (default 250: ~500 requests in all, the
operations without parameters need one). ``benchmarks/http_fuzz.py`` runs this module with a large
budget and ``MMN_DDX_FUZZ_REPORT`` set, where the tally of requests and statuses is written.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

EXAMPLES = int(os.environ.get("MMN_DDX_FUZZ_EXAMPLES", "250"))
REPORT = os.environ.get("MMN_DDX_FUZZ_REPORT")
DISGUISED = "processing_failed"
"""The error code the server used to answer its own failures with (as a 422)."""

TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module")
def api_schema(live_server: Any) -> Iterator[Any]:
    yield schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")
    if REPORT:
        Path(REPORT).write_text(json.dumps(dict(TALLY), indent=2) + "\n", encoding="utf-8")


def _check(case: Any) -> None:
    response = case.call(timeout=120)
    TALLY["requests"] += 1
    TALLY[f"{case.method} {case.path}"] += 1
    TALLY[f"status_{response.status_code}"] += 1
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:500])
    if response.status_code >= 400 and case.method != "HEAD":
        body = response.json()
        assert body["error"] != DISGUISED and body["message"], body


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error_and_no_disguised_error(api_schema: Any, mode: GenerationMode) -> None:
    """Each operation of the live schema, ``EXAMPLES`` examples split over valid and invalid requests.

    Hypothesis drives schemathesis's strategies directly: its pytest plugin's lazy loading does not
    run under the pytest version pinned here.
    """
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /v1/predict", "POST /v1/predict/batch", "GET /healthz"}
    fuzzed = []
    for operation in operations:
        check = settings(max_examples=max(1, EXAMPLES // 2), deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))(given(case=operation.as_strategy(mode))(_check))
        try:
            check()
        except Unsatisfiable:  # no invalid request exists for an operation without body or parameters
            assert mode is GenerationMode.NEGATIVE and not operation.body and not operation.query, operation.label
            continue
        fuzzed.append(operation.label)
    assert {"POST /v1/predict", "POST /v1/predict/batch"} <= set(fuzzed)
