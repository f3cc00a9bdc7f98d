"""Error handlers: every failure is a small JSON document, never a stack trace.

One shape for all errors, so the web page and scripts handle them in one place::

    {"error": "invalid_record", "message": "...", "problems": {"mrc_arm_distal_left": "..."}}

``problems`` maps the *field path* (``mrc_arm_distal_left``; ``records.3.sex`` in a batch) to the
reason. The code says what is wrong: ``invalid_record`` (a record breaks the data dictionary),
``invalid_body`` (the body is not of the endpoint's shape: missing, not an object; in a batch, ``records``
missing or not a list, or a key beside it), ``invalid_query`` (a query parameter the endpoint does not take,
one given twice, or a value not allowed: ``problems`` maps the parameter to the reason, with the allowed
values), ``invalid_setting`` (the ``setting`` parameter's value alone: its own code, documented in the
README). No number or free text the client sent is echoed back or logged: pydantic's ``input`` is dropped
from every error, and a cross-field rule's reason quotes the rule's own words
(:class:`data.contract.Contradiction`); names (of a field, a query parameter) are shown as sent. The client's
mistakes are 4xx; anything unexpected is the server's, a 500 with a request id, answered by
:class:`serving.http.middleware.SafeErrorsMiddleware`, not by an ``Exception`` handler here: Starlette
re-raises after such a handler, and the server would then log a traceback whose message may quote a
patient value.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from mmn_ddx.data import RecordError
from mmn_ddx.serving.http.batch import BATCH_PATH, MAX_BATCH, BatchTooCostly
from mmn_ddx.serving.http.body import InvalidBody
from mmn_ddx.serving.http.middleware import BodyTooLarge, too_large_response
from mmn_ddx.serving.http.query import InvalidQuery, value_reason
from mmn_ddx.serving.records import BatchRecordError
from mmn_ddx.training.artifact import SETTINGS


def error_body(error: str, message: str, problems: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": error, "message": message}
    if problems is not None:
        body["problems"] = problems
    body.update(extra)
    return body


def invalid_record_response(problems: dict[str, str]) -> JSONResponse:
    fields = ", ".join(problems)
    return JSONResponse(
        error_body("invalid_record", f"The record does not satisfy the data dictionary: {fields}.", problems),
        status_code=422,
    )


def invalid_body_response(problems: dict[str, str]) -> JSONResponse:
    shown = "; ".join(f"{path}: {reason}" for path, reason in problems.items())
    message = f"The request body is not shaped as this endpoint takes it ({shown})."
    return JSONResponse(error_body("invalid_body", message, problems), status_code=422)


def invalid_query_response(problems: dict[str, str]) -> JSONResponse:
    shown = " ".join(f"Query parameter '{name}': {reason}." for name, reason in problems.items())
    return JSONResponse(error_body("invalid_query", shown, problems), status_code=422)


def _is_batch(request: Request) -> bool:
    return getattr(request.scope.get("route"), "path", None) == BATCH_PATH


def _in_record(loc: tuple[Any, ...], batch: bool) -> bool:
    """Whether a body problem lies in a record (``invalid_record``) rather than in the body's shape: the body
    itself is one record, or in a batch ``{"records": [...]}`` each element of ``records`` is."""
    return len(loc) >= (3 if batch else 2) and (not batch or loc[1] == "records")


def _shape_reason(err: dict[str, Any]) -> str:
    if err.get("type") == "extra_forbidden":
        return "unknown key: a batch body holds only 'records'"
    if err.get("type") == "missing" and len(err.get("loc", ())) > 1:
        return "required: the list of records"
    if err.get("type") == "list_type":
        return "must be a list of records (JSON objects)"
    return _reason(err)


def _path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "<body>"


def _reason(err: dict[str, Any]) -> str:
    if err.get("type") == "missing" and tuple(err.get("loc", ())) == ("body",):
        return "a JSON body is required"
    if err.get("type") in ("model_attributes_type", "dict_type", "model_type"):
        return "must be a JSON object"
    if err.get("type") == "extra_forbidden":
        return "unknown field (not in the data dictionary)"
    if err.get("type") == "missing":
        return "required field is missing"
    return str(err.get("msg", "invalid value"))


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        err = next(e for e in errors if e.get("type") == "json_invalid")
        position = err.get("loc", ("body", "?"))[-1]
        reason = (err.get("ctx") or {}).get("error", "invalid JSON")
        return JSONResponse(
            error_body("malformed_json", f"The body is not valid JSON ({reason} at character {position})."),
            status_code=400,
        )
    body_unreadable = any(tuple(e.get("loc", ())) == ("body",) and e.get("type") != "missing" for e in errors)
    if body_unreadable and not _is_json(request):  # FastAPI parses JSON only when the request says it is JSON
        return JSONResponse(
            error_body("unsupported_media_type", "Send the record as JSON with 'Content-Type: application/json'."),
            status_code=415,
        )
    for err in errors:
        if err.get("type") == "too_long" and _path(err.get("loc", ())) == "records":
            return JSONResponse(
                error_body("batch_too_large", f"A batch holds at most {MAX_BATCH} records; split it.",
                           limit_records=MAX_BATCH),
                status_code=413,
            )
    query = {str(e["loc"][1]): value_reason(request, str(e["loc"][1]), str(e.get("msg", "invalid value")))
             for e in errors if tuple(e.get("loc", ()))[:1] == ("query",) and len(e["loc"]) > 1}
    if set(query) == {"setting"}:  # its own code, documented in the README
        message = f"Unknown clinical setting; allowed: {', '.join(SETTINGS)}."  # the value is not echoed
        return JSONResponse(error_body("invalid_setting", message, {"setting": message}), status_code=422)
    if query:
        return invalid_query_response(query)
    batch = _is_batch(request)
    shape = {_path(loc): _shape_reason(e) for e in errors
             if (loc := tuple(e.get("loc", ())))[:1] == ("body",) and not _in_record(loc, batch)}
    if shape:
        return invalid_body_response(shape)
    problems: dict[str, str] = {}
    for err in errors:
        problems.setdefault(_path(tuple(err.get("loc", ()))), _reason(err))
    return invalid_record_response(problems)


async def _record_error(request: Request, exc: RecordError) -> JSONResponse:
    """Contract violations found by the predictor itself (beyond the request model's checks)."""
    if isinstance(exc, BatchRecordError):  # rows count from 1; request paths index from 0
        return invalid_record_response({f"records.{row - 1}.{field}": reason
                                        for row, problems in exc.rows.items() for field, reason in problems.items()})
    return invalid_record_response(dict(exc.problems))


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    if isinstance(exc, BodyTooLarge):
        return too_large_response(exc.limit)
    if isinstance(exc, InvalidQuery):
        return invalid_query_response(exc.problems)
    if isinstance(exc, InvalidBody):  # a repeated key or a lone surrogate: in a record, or in a batch's envelope
        batch = _is_batch(request)
        shape = {path: reason for path, reason in exc.problems.items() if batch and not path.startswith("records.")}
        return invalid_body_response(shape) if shape else invalid_record_response(exc.problems)
    if exc.status_code == 400:  # FastAPI's body reader: deep nesting, a 5 000-digit number, bad UTF-8
        return JSONResponse(error_body("malformed_json", "The body could not be parsed as JSON (invalid encoding, "
                                       "nesting too deep or a number too long)."), status_code=400)
    code = {404: "not_found", 405: "method_not_allowed", 408: "request_timeout", 413: "body_too_large",
            415: "unsupported_media_type", 503: "model_unavailable"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


async def _batch_too_costly(request: Request, exc: BatchTooCostly) -> JSONResponse:
    return JSONResponse(exc.body, status_code=413)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BatchTooCostly, _batch_too_costly)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(RecordError, _record_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
