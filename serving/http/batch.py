"""``POST /v1/predict/batch``: bounded by cost, a compact answer on request, computed off the event loop.

Measured on the issue's reproduction (1 000 minimal records, 44 kB): ~3.5 s of scoring and a 45 MB
answer, because each full result carries its whole explanation (~22 kB) and criteria (~23 kB), and
``/healthz`` stalled meanwhile. So:

- **cost**: every record is expanded to all contract fields (an empty record costs as much as a full
  one), so a batch costs *records x contract fields* cells; the budget depends on the detail asked for
  (:data:`CELL_BUDGET`), and a batch over it gets 413 saying how to split it.
- **detail**: ``?detail=compact`` answers per record only the diagnosis, probabilities, prediction set,
  rule-based label, next test, warnings and audit (~1.4 kB instead of ~45 kB).
- **responsiveness**: records are scored in chunks in a worker thread, and the event loop runs between
  chunks, so health checks and other requests are answered during a long batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from mmn_ddx.data import fields
from mmn_ddx.serving.http.model_info import PredictorLike
from mmn_ddx.serving.records import BatchRecordError, validate_many
from mmn_ddx.serving.result import (
    NOT_FOR_CLINICAL_USE,
    Audit,
    ClinicalSetting,
    NextTest,
    PredictionResult,
    PredictionSet,
    Warning,
)

BATCH_PATH = "/v1/predict/batch"
Detail = Literal["full", "compact"]
MAX_BATCH = 1000
"""Most records in one batch (at ``detail=compact``); larger ones get 413 (split them)."""
MAX_FULL_BATCH = 100
"""Most records at ``detail=full`` (~45 kB each: 100 make ~4.5 MB)."""
CELL_BUDGET: dict[Detail, int] = {"full": MAX_FULL_BATCH * len(fields()), "compact": MAX_BATCH * len(fields())}
"""Records x contract fields a batch may cost, by detail."""
CHUNK = 25
"""Records scored per call in the worker thread; the event loop runs between chunks (~0.1 s each)."""


class CompactResult(BaseModel):
    """One patient's result without the explanation and criteria detail (``detail=full`` or ``POST /v1/predict``
    give them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    patient_id: str | None
    predicted_diagnosis: str
    probabilities: dict[str, float]
    prediction_set: PredictionSet
    setting: ClinicalSetting
    rule_based_label: str = Field(description="The criteria's label: MMN / MND / CIDP / MADSAM / unclassified / "
                                              "conflicting.")
    agrees_with_model: bool | None
    next_test: NextTest | None
    warnings: list[Warning]
    audit: Audit
    notice: str = NOT_FOR_CLINICAL_USE

    @classmethod
    def of(cls, result: PredictionResult) -> CompactResult:
        return cls(patient_id=result.patient_id, predicted_diagnosis=result.predicted_diagnosis,
                   probabilities=result.probabilities, prediction_set=result.prediction_set, setting=result.setting,
                   rule_based_label=result.criteria.rule_based_label,
                   agrees_with_model=result.criteria.agrees_with_model, next_test=result.next_test,
                   warnings=result.warnings, audit=result.audit, notice=result.notice)


class BatchTooCostly(Exception):
    """The batch costs more cells than the budget of its detail level (answered 413)."""

    def __init__(self, records: int, detail: Detail) -> None:
        n_fields, budget = len(fields()), CELL_BUDGET[detail]
        hint = " or ask for ?detail=compact" if detail == "full" else ""
        self.body: dict[str, Any] = {
            "error": "batch_too_large",
            "message": f"This batch costs {records} records x {n_fields} fields = {records * n_fields} cells; "
                       f"the limit at detail={detail} is {budget} cells ({budget // n_fields} records). "
                       f"Split it{hint}.",
            "limit_records": budget // n_fields,
            "limit_cells": budget,
        }
        super().__init__(self.body["message"])


def check_cost(records: int, detail: Detail) -> None:
    if records * len(fields()) > CELL_BUDGET[detail]:
        raise BatchTooCostly(records, detail)


async def predict_batch_json(predictor: PredictorLike, records: Sequence[Any], detail: Detail,
                             setting: str | None = None) -> str:
    """The batch response body (``{"results": [...]}``), scored chunk by chunk in a worker thread.

    Every record is validated first, so a bad row is reported (as ``records.<i>``) before any scoring,
    and nothing is half-done.
    """
    check_cost(len(records), detail)
    await run_in_threadpool(validate_many, records)  # BatchRecordError: rows counted over the whole batch
    parts: list[str] = []
    for start in range(0, len(records), CHUNK):
        parts += await run_in_threadpool(_score_chunk, predictor, records[start:start + CHUNK], detail, setting)
    return '{"results":[' + ",".join(parts) + "]}"


def _score_chunk(predictor: PredictorLike, records: Sequence[Any], detail: Detail, setting: str | None
                 ) -> list[str]:
    try:
        results = predictor.predict_many(list(records), setting=setting)
    except BatchRecordError as exc:  # not expected after validate_many; rows would be chunk-relative
        raise RuntimeError("a batch record failed validation after passing it") from exc
    if detail == "compact":
        return [CompactResult.of(r).model_dump_json() for r in results]
    return [r.model_dump_json() for r in results]
