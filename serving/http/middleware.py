"""Pure-ASGI middleware: a request-head and a body-size limit, an access log without patient data, and a safe
catch-all.

All plain ASGI (not ``BaseHTTPMiddleware``): they see every byte and every response and cost
microseconds per request.

Body limit: a clinician's record is ~2 kB of JSON. Anything much larger is a mistake or an attack,
and we refuse it *before* parsing, twice over: a declared ``Content-Length`` above the limit is
answered 413 without reading the body, and the bytes actually received are counted as they stream
in (chunked uploads, or a client that lies about its length) and the request is cut off with 413 as
soon as the count passes the limit.

Access log: uvicorn's own access log is switched off (see ``serving.serve_cli``) because it prints
the raw path *with its query string*, where a client could have put anything. Ours logs the method,
the matched route *template* (``/v1/predict``; unmatched paths are logged as ``<unmatched>``), the
status, the duration and the request id, and never a body, a query string or a header value.

Request id: every response carries ``X-Request-ID`` (generated here, never taken from the client, whose
header could hold anything); a 500 names it in its body and in the one log line about the failure, so
an operator can find the failure a user reports.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_logger = logging.getLogger("mmn_ddx.http.access")
error_logger = logging.getLogger("mmn_ddx.http")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the streamed body passes the limit.

    An ``HTTPException`` on purpose: FastAPI re-raises those from its body reader unchanged (any
    other exception there becomes a generic 400), so the error handlers answer 413.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"Request body larger than {limit} bytes.")
        self.limit = limit


def too_large_response(limit: int) -> JSONResponse:
    return JSONResponse(
        {"error": "body_too_large", "message": f"Request body larger than {limit} bytes.", "limit_bytes": limit},
        status_code=413,
    )


def head_bytes(scope: Scope) -> int:
    """The request line plus headers as sent (``METHOD target HTTP/1.1``, ``name: value`` lines), give or take
    the whitespace the parser strips."""
    target = len(scope.get("raw_path") or b"") + (len(scope["query_string"]) + 1 if scope.get("query_string") else 0)
    line = len(scope.get("method", "")) + 1 + target + len(" HTTP/1.1\r\n")
    return line + sum(len(name) + len(value) + 4 for name, value in scope.get("headers", ())) + 2


class RequestHeadLimitMiddleware:
    """431 for a request head (request line plus headers) over ``max_bytes``.

    uvicorn's ``h11_max_incomplete_event_size`` bounds only a head still *incomplete* in its buffer: a head
    that arrives in one piece passes it whatever its size (a 100 000-byte header was answered 200), so the
    parsed head is measured here as well.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and head_bytes(scope) > self.max_bytes:
            message = f"Request line and headers larger than {self.max_bytes} bytes."
            response = JSONResponse({"error": "request_head_too_large", "message": message,
                                     "limit_bytes": self.max_bytes}, status_code=431, headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class TrackedSend:
    """``send``, remembering whether the response has started: a fallback answer after a failure is sent
    only if nothing was (the headers cannot be taken back)."""

    __slots__ = ("_send", "started")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


class BodySizeLimitMiddleware:
    """413 for bodies over ``default_limit`` bytes, or over ``path_limits[path]`` on that path."""

    def __init__(self, app: ASGIApp, default_limit: int, path_limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default_limit = default_limit
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope.get("path", ""), self.default_limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await too_large_response(limit)(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        tracked = TrackedSend(send)
        try:
            await self.app(scope, counting_receive, tracked)
        except BodyTooLarge:
            # Normally the exception handlers have already answered; this is the fallback for a
            # body read outside a route (nothing is sent twice).
            if not tracked.started:
                await too_large_response(limit)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


REQUEST_ID_HEADER = "x-request-id"


def request_id(scope: Scope) -> str:
    """This request's id (set by :class:`AccessLogMiddleware`; ``-`` outside it)."""
    return str(scope.get("state", {}).get("request_id", "-"))


class AccessLogMiddleware:
    """Gives each request an id (``X-Request-ID``) and logs one INFO line per request: method, route
    template, status, milliseconds, id. No patient data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        root_path = scope.get("root_path", "")
        rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER.encode(), rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            if access_logger.isEnabledFor(logging.INFO):
                access_logger.info(
                    "%s %s %d %.1fms id=%s", scope.get("method", "?"), _route_template(scope, root_path), status,
                    (time.perf_counter() - start) * 1000.0, rid,
                )


def _route_template(scope: Scope, root_path: str) -> str:
    """The matched route's declared path (never the raw one, which a client controls).

    The router records a matched route in ``scope["route"]``; a ``Mount`` (static files) instead
    extends ``root_path`` by its prefix, logged as ``/static/…``.
    """
    path = getattr(scope.get("route"), "path", None)
    if path:
        return str(path)
    mounted = str(scope.get("root_path", ""))
    if mounted != root_path and mounted.startswith(root_path):
        return mounted + "/…"
    return "<unmatched>"


class SafeErrorsMiddleware:
    """Catch-all: an unexpected exception becomes a JSON 500 naming the request id, and is *not* re-raised.

    An unexpected exception is the server's fault, never the client's: it is answered 500 (the client's
    mistakes are 4xx, answered by the error handlers before anything gets here). Starlette's own
    ``Exception`` handler re-raises after answering, so uvicorn would log the full traceback, message
    included, and a message may quote a patient value. Here we log only the request id, the exception
    type and the file:line where it was raised.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = TrackedSend(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - this is the one place that must catch everything
            frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
            where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
            rid = request_id(scope)
            error_logger.error("request %s: unhandled %s at %s (message withheld: may contain patient data)",
                               rid, type(exc).__name__, where)
            if tracked.started:
                return  # headers are gone; the client sees a truncated body, the server stays up
            response = JSONResponse(
                {"error": "internal_error",
                 "message": "The server failed while processing this request (not a problem with the record); "
                            "nothing was stored. Report the request id to the operator.",
                 "request_id": rid},
                status_code=500,
            )
            await response(scope, receive, send)
