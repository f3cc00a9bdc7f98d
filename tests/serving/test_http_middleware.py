"""The middleware's fallback answers, driven as plain ASGI: one answer when nothing was sent, none after."""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mmn_ddx.serving.http.middleware import BodySizeLimitMiddleware, SafeErrorsMiddleware

SCOPE: Scope = {"type": "http", "method": "POST", "path": "/v1/predict", "headers": []}


def _run(app: ASGIApp, body_chunks: list[bytes]) -> list[Message]:
    """Messages the app sends for a request whose body arrives in ``body_chunks``."""
    sent: list[Message] = []
    pending = [{"type": "http.request", "body": chunk, "more_body": k < len(body_chunks) - 1}
               for k, chunk in enumerate(body_chunks)]

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    async def request() -> None:
        await app(dict(SCOPE), receive, send)

    asyncio.run(request())
    return sent


def _reads_body_then_answers(start_first: bool) -> ASGIApp:
    """An app that reads the whole body outside any route (so no error handler answers for it)."""
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if start_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive()).get("more_body", False):
            pass
        await send({"type": "http.response.body", "body": b"ok"})
    return app


def _fails(start_first: bool) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if start_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("boom")
    return app


def test_a_body_over_the_limit_read_outside_a_route_gets_413() -> None:
    sent = _run(BodySizeLimitMiddleware(_reads_body_then_answers(False), default_limit=10), [b"x" * 8, b"x" * 8])
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"] == "body_too_large"


def test_no_413_is_sent_once_the_response_has_started() -> None:
    sent = _run(BodySizeLimitMiddleware(_reads_body_then_answers(True), default_limit=10), [b"x" * 8, b"x" * 8])
    assert [m["type"] for m in sent] == ["http.response.start"]


def test_a_body_within_the_limit_passes() -> None:
    sent = _run(BodySizeLimitMiddleware(_reads_body_then_answers(False), default_limit=10), [b"x" * 4, b"x" * 4])
    assert sent == [{"type": "http.response.body", "body": b"ok"}]


def test_a_failure_before_the_response_is_a_500_with_a_request_id() -> None:
    sent = _run(SafeErrorsMiddleware(_fails(False)), [b"{}"])
    assert sent[0]["status"] == 500
    assert json.loads(sent[1]["body"])["error"] == "internal_error"


def test_a_failure_after_the_response_started_sends_nothing_more() -> None:
    sent = _run(SafeErrorsMiddleware(_fails(True)), [b"{}"])
    assert [m["type"] for m in sent] == ["http.response.start"]
