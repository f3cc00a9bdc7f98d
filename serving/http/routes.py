"""The ``/v1`` API and ``/healthz``.

Request bodies are typed by the contract's own pydantic model (:data:`data.record.PatientRecordOptionalLabel`:
strict, extra fields forbidden; a ``diagnosis``, when given, must be one of the four and is not read, as the CLI
and the Python API treat it), so FastAPI rejects a bad record before the model sees it, and the OpenAPI
document shows the exact contract. Responses are serialised straight from the one typed
:class:`serving.result.PredictionResult` (``model_dump_json``), skipping FastAPI's second
validation pass of the response: the result was validated when it was built.

Every route refuses a query string it does not declare (:func:`serving.http.query.strict_query`, a dependency
of the router): an unknown or repeated parameter is a 422, not ignored.

Single predictions go through :class:`serving.http.batcher.MicroBatcher` (concurrent requests share
one vectorised call); the batch endpoint scores its records in chunks in a worker thread
(:mod:`serving.http.batch`), so a long batch does not block the event loop that answers ``/healthz``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from mmn_ddx.data import PatientRecordOptionalLabel
from mmn_ddx.serving.http.batch import (
    BATCH_PATH,
    MAX_BATCH,
    MAX_FULL_BATCH,
    CompactResult,
    Detail,
    predict_batch_json,
)
from mmn_ddx.serving.http.batcher import MicroBatcher
from mmn_ddx.serving.http.body import StrictJSONRoute
from mmn_ddx.serving.http.limits import ServerLimits
from mmn_ddx.serving.http.model_info import ModelInfo, PredictorLike, model_info
from mmn_ddx.serving.http.query import strict_query
from mmn_ddx.serving.http.schema import FormSchema, form_schema
from mmn_ddx.serving.result import NOT_FOR_CLINICAL_USE, PredictionResult
from mmn_ddx.training.artifact import DEFAULT_SETTING, Setting

SETTING_QUERY = Query(
    Setting(DEFAULT_SETTING), description="The clinical setting whose pre-test probabilities the probabilities are for "
    f"(the generator's class-prior presets; default `{DEFAULT_SETTING}`, the intended-use population). The result's "
    "`setting` block states it with its pre-test probabilities.")

_QUERY_422 = ("`invalid_query`: a query parameter this endpoint does not take, one given twice, or a value not "
              "allowed; `problems` maps the parameter to the reason (with the allowed values).")
# Every endpoint refuses a query string it does not declare (serving/http/query.py), so each documents the 422.
router = APIRouter(route_class=StrictJSONRoute, dependencies=[Depends(strict_query)],
                   responses={422: {"description": _QUERY_422}})

_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed JSON."},
    408: {"description": "The body did not arrive in time."},
    413: {"description": "Body (or batch) too large."},
    415: {"description": "Body is not JSON."},
    422: {"description": "`invalid_record`: a record violates the data dictionary; `problems` maps field path to "
                         "reason. `invalid_body`: the body is not of the endpoint's shape (missing, not an object; in "
                         "a batch, `records` missing or not a list, or another key beside it). `invalid_setting`: an "
                         f"unknown `setting`, the allowed ones listed. {_QUERY_422}"},
    431: {"description": f"Request line and headers larger than {ServerLimits.max_head_bytes} bytes."},
}


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    records: list[PatientRecordOptionalLabel] = Field(  # type: ignore[valid-type]
        max_length=MAX_BATCH, description=f"At most {MAX_BATCH} records; larger batches get 413."
    )


class BatchResponse(BaseModel):
    results: list[PredictionResult]


class CompactBatchResponse(BaseModel):
    results: list[CompactResult]


class Health(BaseModel):
    status: str
    model: str
    version: str | None
    notice: str = NOT_FOR_CLINICAL_USE


def _predictor(request: Request) -> PredictorLike:
    return request.app.state.predictor


def _json(payload: str) -> Response:
    return Response(content=payload, media_type="application/json")


@router.post(
    "/v1/predict",
    response_model=PredictionResult,
    responses=_ERROR_RESPONSES,
    summary="Explained differential diagnosis for one patient",
    tags=["prediction"],
)
async def predict(request: Request, record: PatientRecordOptionalLabel = Body(...),  # type: ignore[valid-type]  # noqa: B008
                  setting: Setting = SETTING_QUERY) -> Response:
    """Probabilities, prediction set, explanation by finding, criteria verdicts, next test, warnings.

    Every field except `age_at_onset_years` and `sex` may be omitted or `null` (= unknown). A `diagnosis`, when
    given, must be one of the four; the prediction does not read it. Text values (`patient_id`, categories,
    `diagnosis`) are read without surrounding whitespace, as in a cohort file.
    """
    batcher: MicroBatcher = request.app.state.batcher
    result = await batcher.predict(record, setting.value)  # a validated PatientRecord: not re-checked
    return _json(result.model_dump_json())


@router.post(
    BATCH_PATH,
    response_model=BatchResponse | CompactBatchResponse,
    responses=_ERROR_RESPONSES,
    summary=f"Explained predictions for up to {MAX_BATCH} patients ({MAX_FULL_BATCH} at full detail)",
    tags=["prediction"],
)
async def predict_batch(
    request: Request,
    batch: BatchRequest,
    detail: Detail = Query("full", description="`full`: each result as `POST /v1/predict` gives it (at most "  # noqa: B008
                           f"{MAX_FULL_BATCH} records); `compact`: without the explanation and criteria detail "
                           f"(at most {MAX_BATCH} records)."),
    setting: Setting = SETTING_QUERY,
) -> Response:
    """One result per record, in order. Field paths in a 422 read `records.<index>.<field>`.

    A batch costs records x contract fields; over the budget of its detail level it gets 413.
    """
    return _json(await predict_batch_json(_predictor(request), batch.records, detail, setting.value))


@router.get("/v1/model", response_model=ModelInfo, summary="The model being served", tags=["model"])
def get_model(request: Request) -> ModelInfo:
    """Name, version, alias, training-data digest, metrics, intended use and model card (Markdown)."""
    return request.app.state.model_info


@router.get("/v1/schema", response_model=FormSchema, summary="The record contract", tags=["model"])
def get_schema() -> FormSchema:
    """Every contract field with type, unit, allowed values or range; the web form is built from it."""
    return form_schema()


@router.get("/healthz", response_model=Health, summary="Liveness and the loaded model", tags=["ops"])
@router.head("/healthz", response_model=Health, summary="Liveness, without a body", tags=["ops"],
             operation_id="healthz_head")
def healthz(request: Request) -> Health:
    """``HEAD`` too: load balancers and uptime probes often check health without a body."""
    info: ModelInfo = request.app.state.model_info
    return Health(status="ok", model=info.name, version=info.version)


def attach_predictor(state: Any, predictor: PredictorLike) -> None:
    """Store the predictor, its micro-batcher and its model info (computed once: the bundle cannot
    change while serving)."""
    state.predictor = predictor
    state.batcher = MicroBatcher(predictor)
    state.model_info = model_info(predictor)
