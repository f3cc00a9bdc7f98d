"""Strict query strings: a parameter the endpoint does not take, or one given twice, is the client's error (422).

FastAPI reads the query parameters an endpoint declares and ignores any other, and of a repeated one it keeps
the last: a typo (``?settings=balanced``) or ``?detail=compact`` on ``POST /v1/predict`` (which has no detail
level) was answered at the defaults without a word, and ``?setting=referral&setting=balanced`` in the balanced
setting. :func:`strict_query`, a dependency of the whole router, compares the query string with the parameters
the matched route declares (those its OpenAPI document lists), so no endpoint lists them a second time. Every
parameter of this API takes one value.

The values of the declared parameters are FastAPI's to check; :func:`value_reason` words its refusal with the
allowed values read from the same declaration. Names are reported as sent, values never (as for the body).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterator
from typing import Any, Literal, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from starlette.exceptions import HTTPException

REPEATED = "given more than once; it takes one value"


class InvalidQuery(HTTPException):
    """The query string names a parameter the endpoint does not take, or one twice; ``problems`` maps name ->
    reason. An ``HTTPException``, as :class:`serving.http.body.InvalidBody`: :mod:`serving.http.errors` answers
    422."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(status_code=422, detail="invalid query string")
        self.problems = problems


def declared(route: Any) -> dict[str, tuple[str, ...] | None]:
    """The query parameters of ``route`` (an ``APIRoute``; anything else takes none), each with its allowed
    values when they are enumerated (an ``Enum`` or a ``Literal``), else None."""
    dependant = getattr(route, "dependant", None)
    if not isinstance(dependant, Dependant):
        return {}
    return {field.alias: _allowed(field.field_info.annotation) for field in _query_fields(dependant)}


def _query_fields(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_fields(sub)


def _allowed(annotation: Any) -> tuple[str, ...] | None:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return tuple(str(member.value) for member in annotation)
    if get_origin(annotation) is Literal:
        return tuple(str(value) for value in get_args(annotation))
    return None


def _unknown(takes: dict[str, tuple[str, ...] | None]) -> str:
    return f"not a parameter of this endpoint, which takes {', '.join(takes) if takes else 'none'}"


async def strict_query(request: Request) -> None:
    """Raise :class:`InvalidQuery` for a parameter the matched route does not declare, or one given twice."""
    takes = declared(request.scope.get("route"))
    counts = Counter(name for name, _ in request.query_params.multi_items())
    problems = {name: _unknown(takes) if name not in takes else REPEATED
                for name, count in counts.items() if name not in takes or count > 1}
    if problems:
        raise InvalidQuery(problems)


def value_reason(request: Request, name: str, pydantic_message: str) -> str:
    """The reason a declared parameter's value was refused, with the allowed values (the value is not shown)."""
    allowed = declared(request.scope.get("route")).get(name)
    return f"not an allowed value; allowed: {', '.join(allowed)}" if allowed else pydantic_message
