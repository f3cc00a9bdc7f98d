"""Strict JSON request bodies: a repeated key or an unpaired surrogate is the client's error (422).

Python's ``json`` module silently keeps the *last* of two equal keys (``{"age": 40, "age": 999}`` is
read as 999) and decodes an escape such as ``"\\ud800"`` into a string that is not Unicode text: it
cannot be encoded to UTF-8, so the record passed validation and the server failed later, when it
wrote the answer. Both are rejected here, before the record model sees the body, with the field path
(``records.3.patient_id`` in a batch) and the reason - never the value.

FastAPI parses the body with ``await request.json()``; :class:`StrictJSONRoute` hands its handlers a
request whose ``json()`` is :func:`parse_strict_json` (FastAPI's documented "custom Request and
APIRoute class" hook).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
"""A lone surrogate can only come from a ``\\udXXX`` escape (raw surrogate bytes are invalid UTF-8)."""
_SURROGATE = re.compile("[\ud800-\udfff]")

DUPLICATE_KEY = "duplicate key: a JSON object may name each field once"
NOT_UNICODE = "not valid Unicode text: contains an unpaired surrogate escape (\\ud800-\\udfff)"


class InvalidBody(HTTPException):
    """The body is JSON but breaks the rules above; ``problems`` maps field path -> reason.

    An ``HTTPException`` on purpose: FastAPI re-raises those from its body reader unchanged (any other
    exception there becomes a generic 400); :mod:`serving.http.errors` answers 422.
    """

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(status_code=422, detail="invalid JSON body")
        self.problems = problems


class _Object(dict[str, Any]):
    """A decoded JSON object that remembers which of its keys were repeated."""

    duplicates: frozenset[str] = frozenset()


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        obj.duplicates = frozenset(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    return obj


def parse_strict_json(body: bytes) -> Any:
    """``json.loads`` that raises :class:`InvalidBody` for repeated keys and unpaired surrogates."""
    value = json.loads(body, object_pairs_hook=_object)
    check_surrogates = _SURROGATE_ESCAPE.search(body) is not None
    problems = dict(_problems(value, (), check_surrogates))
    if problems:
        raise InvalidBody(problems)
    return value


def _problems(value: Any, path: tuple[str, ...], surrogates: bool) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key in sorted(getattr(value, "duplicates", ())):
            yield _path((*path, key)), DUPLICATE_KEY
        if not surrogates and not any(isinstance(v, dict | list) for v in value.values()):
            return
        for key, item in value.items():
            if surrogates and _SURROGATE.search(key):
                yield _path((*path, key)), NOT_UNICODE
            else:
                yield from _problems(item, (*path, key), surrogates)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _problems(item, (*path, str(index)), surrogates)
    elif surrogates and isinstance(value, str) and _SURROGATE.search(value):
        yield _path(path), NOT_UNICODE


def _path(parts: tuple[str, ...]) -> str:
    """Dotted path; a key that is not Unicode text is shown escaped (``\\ud800``), so it can be sent back."""
    text = ".".join(parts) or "<body>"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_strict_json(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """An ``APIRoute`` whose JSON bodies are parsed by :func:`parse_strict_json`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_handler
