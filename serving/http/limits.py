"""Server limits against slow, idle and incomplete requests: uvicorn's own options, plus the two timeouts
uvicorn does not have.

uvicorn bounds the idle time *between* requests on a keep-alive connection (``timeout_keep_alive``) and
the number of connections and tasks (``limit_concurrency``: beyond it, requests get 503) and the size of
a request head (``h11_max_incomplete_event_size``). It has no limit on the time a fresh connection may
take to send its request head (a client that connects and sends nothing, or one byte every few seconds,
held its connection forever) nor on the time to send the body (``Content-Length: 500`` and one byte
held it forever). So:

- :class:`HeaderTimeoutH11Protocol` is uvicorn's h11 protocol with its own keep-alive timer armed when
  the connection opens and kept until the request head is complete (uvicorn cancels it at the first
  byte): a connection must send a whole request head within ``timeout_keep_alive`` seconds of opening
  or of its previous response, else it is closed.
- :class:`BodyTimeoutMiddleware` bounds the time to receive the whole body: 408 and the connection is
  closed.

:class:`ServerLimits` holds the defaults (``mmn-ddx serve`` exposes each as an option).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from mmn_ddx.serving.http.middleware import TrackedSend


@dataclass(frozen=True)
class ServerLimits:
    """Per worker process. The defaults suit one clinic's use on a small machine (see README)."""

    timeout_keep_alive: int = 5
    """Seconds a connection may stay idle, and may take to send a complete request head (uvicorn's default)."""
    timeout_body: float = 15.0
    """Seconds to receive a request body once its head has arrived (a 4 MiB batch needs ~3 s at 10 Mbit/s)."""
    limit_concurrency: int = 200
    """Open connections plus running requests; beyond it new requests get 503 (uvicorn's ``limit_concurrency``)."""
    max_head_bytes: int = 16 * 1024
    """Largest request line plus headers: 431 (:class:`~mmn_ddx.serving.http.middleware.RequestHeadLimitMiddleware`),
    or 400 from uvicorn's parser (``h11_max_incomplete_event_size``) while a larger head is still arriving."""
    backlog: int = 2048
    """Connections the kernel queues before the server accepts them (uvicorn's default)."""
    timeout_worker_healthcheck: int = 60
    """Seconds a worker may take to answer the supervisor's ping before it is replaced (uvicorn's default is
    5). A worker that *exits* is replaced at once whatever this says; this only bounds a hung one. Loading
    the model holds the GIL long enough that, on a loaded 2-core machine, workers missed 5 s and even 20 s
    pings while starting and were killed in a loop."""

    def uvicorn_options(self) -> dict[str, Any]:
        """The limits uvicorn enforces itself, as ``uvicorn.Config`` keywords."""
        return {
            "http": PROTOCOL,  # an import string: imported in the worker after it answers the supervisor's pings
            "timeout_keep_alive": self.timeout_keep_alive,
            "limit_concurrency": self.limit_concurrency,
            "h11_max_incomplete_event_size": self.max_head_bytes,
            "backlog": self.backlog,
            "timeout_worker_healthcheck": self.timeout_worker_healthcheck,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


PROTOCOL = "mmn_ddx.serving.http.limits:HeaderTimeoutH11Protocol"


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol; its keep-alive timer also runs from connection to complete request head."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def data_received(self, data: bytes) -> None:
        # uvicorn cancels the timer here, at any byte; h11 yielding the complete request head cancels it
        # in handle_events (uvicorn's own code path for pipelined requests).
        self.conn.receive_data(data)
        self.handle_events()


class BodyTimeout(HTTPException):
    """Raised from ``receive`` when the body is not complete in time (FastAPI re-raises ``HTTPException``)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(status_code=408, detail=f"The request body did not arrive within {seconds:g} s.",
                         headers={"Connection": "close"})


def timeout_response(exc: BodyTimeout) -> JSONResponse:
    return JSONResponse({"error": "request_timeout", "message": exc.detail}, status_code=408, headers=exc.headers)


class BodyTimeoutMiddleware:
    """408 (and the connection closed) when the body takes longer than ``seconds`` after the head."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.seconds
        body_done = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:  # later receives wait for a disconnect, which may take any time
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(self.seconds) from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        tracked = TrackedSend(send)
        try:
            await self.app(scope, timed_receive, tracked)
        except BodyTimeout as exc:  # read outside a route: the error handlers did not answer
            if not tracked.started:
                await timeout_response(exc)(scope, receive, send)
