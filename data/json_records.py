"""JSON records in, strictly: what Python's ``json`` module lets through silently is a problem here.

* a duplicated key (``{"sex": "male", "sex": "female"}``) would keep the last value: rejected, naming the key;
* ``NaN`` / ``Infinity`` are not JSON (RFC 8259), and ``NaN`` would read as null = "not examined": rejected,
  naming the record's field that holds the literal (the HTTP API names it too), else the whole row;
* a lone UTF-16 surrogate (``"\\ud800"``) is valid JSON but not Unicode text, and fails later when the
  value is printed or written: rejected, naming the field;
* each record must be an object.

Problems are ``(row, (field, reason))``; :data:`data.formats.RECORD` is the field of a whole-row problem.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mmn_ddx.data.formats import RECORD

Item = tuple[int, dict[str, Any], tuple[str, str] | None]
"""``(row number, record, problem)``: the record is empty when there is a problem."""


class RecordRejected(ValueError):
    """A JSON record that is valid JSON but not an acceptable record (``field``, ``reason``)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(reason if field == RECORD else f"field '{field}': {reason}")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in pairs:
        if key in record:
            raise RecordRejected(_shown(key), f"duplicate key '{_shown(key)}' (which value is meant cannot be decided)")
        record[key] = value
    return record


def _not_a_number(name: str, field: str = RECORD) -> RecordRejected:
    """The problem of a NaN/Infinity literal, the same whether the file is .json or .jsonl."""
    return RecordRejected(field, f"not valid JSON ({name} is not a JSON number; use null for not examined)")


def _not_a_number_in(value: Any) -> RecordRejected:
    """The problem of the first NaN/Infinity placeholder in ``value``: on the record's field that holds it, however
    deeply; on the whole row when ``value`` is not a record (a bare ``NaN``, a list)."""
    if isinstance(value, dict):
        for key, item in _entries(value):
            if (found := _first_constant(item)) is not None:
                return _not_a_number(found.name, _shown(key))
    found = _first_constant(value)
    return _not_a_number(found.name if found is not None else "NaN")


def _collecting(constants: list[_Constant]) -> Any:
    """A ``parse_constant`` hook that keeps each NaN/Infinity literal as a placeholder and notes that it was seen."""

    def constant(name: str) -> _Constant:
        constants.append(_Constant(name))
        return constants[-1]

    return constant


def _shown(text: str) -> str:
    """A key as it can be printed (a lone surrogate escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def parse_record(text: str | bytes) -> dict[str, Any] | Any:
    """One JSON value with the strict rules above; raises ``RecordRejected`` or ``json.JSONDecodeError``.

    The first problem in the text wins, as a parser that stops there would find it: a NaN literal read before a
    repeated key was found is reported, on its field (located by a second, tolerant pass).
    """
    constants: list[_Constant] = []
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_constant=_collecting(constants))
    except RecursionError:
        raise RecordRejected(RECORD, "not valid JSON (nested too deeply)") from None
    except RecordRejected:
        if not constants:
            raise
        value = json.loads(text, object_pairs_hook=_ListItems, parse_constant=_Constant)
    if constants:
        raise _not_a_number_in(value)
    if isinstance(value, dict):
        _check_text(value)
    return value


def _check_text(record: dict[str, Any]) -> None:
    for key, value in record.items():
        for text in (key, value):
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    field = _shown(key)
                    raise RecordRejected(
                        field, "not valid Unicode text (a lone UTF-16 surrogate such as \\ud800)"
                    ) from None


def _item(number: int, parse: Any) -> Item:
    try:
        value = parse()
    except RecordRejected as exc:
        return number, {}, (exc.field, exc.reason)
    except json.JSONDecodeError as exc:
        return number, {}, (RECORD, f"not valid JSON ({exc.msg}, column {exc.colno})")
    if not isinstance(value, dict):
        return number, {}, (RECORD, f"expected a JSON object, got {type(value).__name__}")
    return number, value, None


def json_lines(path: Path) -> Iterator[Item]:
    """Records of a JSON Lines file, line by line (row *n* = line *n*; blank lines are not records)."""
    from mmn_ddx.data.formats import _not_utf8  # formats imports this module

    with path.open("rb") as stream:
        for number, line in enumerate(stream, 1):
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _not_utf8(path, line[exc.start], number) from None
            if text.strip():
                yield _item(number, lambda text=text: parse_record(text))


def single_record(path: Path) -> dict[str, Any] | None:
    """The record of a one-patient .json file (strict rules above), or None when it holds a list (a cohort).

    Raises :class:`data.formats.CohortError` for a file that is not UTF-8 JSON and
    :class:`RecordRejected` for an object that breaks a rule above.
    """
    from mmn_ddx.data.formats import CohortError, read_utf8  # formats imports this module

    text = read_utf8(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CohortError(f"{path.name}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise CohortError(f"{path.name}: not valid JSON (nested too deeply)") from None
    return parse_record(text) if isinstance(document, dict) else None


def json_list(path: Path) -> Iterator[Item]:
    """Records of a .json file: one object, or a list of objects (row *n* = element *n*)."""
    from mmn_ddx.data.formats import CohortError, read_utf8  # formats imports this module

    text = read_utf8(path)
    try:
        document = json.loads(text)  # structure first; each element is then checked strictly
    except json.JSONDecodeError as exc:
        raise CohortError(f"{path.name}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise CohortError(f"{path.name}: not valid JSON (nested too deeply)") from None
    if not isinstance(document, (dict, list)):
        raise CohortError(f"{path.name}: expected one JSON object or a list of objects")
    if not document:
        raise CohortError(f"{path.name}: no records")
    del document
    constants: list[_Constant] = []
    strict = json.loads(text, object_pairs_hook=_ListItems, parse_constant=_collecting(constants))
    items = [strict] if isinstance(strict, dict) else strict
    for number, value in enumerate(items, 1):
        yield _item(number, lambda value=value: _checked(value, has_constants=bool(constants)))


class _ListItems(dict):
    """A JSON object that remembers a duplicated key instead of failing the whole document."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.problem: RecordRejected | None = None
        self.pairs: list[tuple[str, Any]] | None = None
        try:
            self.update(_object(pairs))
        except RecordRejected as exc:
            self.problem = exc
            self.pairs = pairs  # every value, a repeated key's too: a NaN among them is still found on its field


def _checked(value: Any, *, has_constants: bool) -> Any:
    """An element of a JSON list as :func:`parse_record` reads a line: a NaN/Infinity first, then a repeated key."""
    if has_constants and _first_constant(value) is not None:
        raise _not_a_number_in(value)
    if isinstance(value, _ListItems):
        if value.problem is not None:
            raise value.problem
        _check_text(value)
        return dict(value)
    return value


def _first_constant(value: Any) -> _Constant | None:
    """The first NaN/Infinity placeholder in ``value``, searched iteratively (JSON can nest ~1000 deep)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Constant):
            return item
        if isinstance(item, dict):
            stack.extend(reversed([entry for _, entry in _entries(item)]))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return None


def _entries(obj: dict[str, Any]) -> list[tuple[str, Any]]:
    """An object's keys and values in the text's order, each value of a repeated key included."""
    return getattr(obj, "pairs", None) or list(obj.items())


class _Constant:
    """Placeholder for a NaN/Infinity literal while locating its element."""

    def __init__(self, name: str) -> None:
        self.name = name
