"""Cell-level parsing rules of the cohort importer: raw file cells -> typed values or a reason.

Why explicit rules instead of letting pandas guess: pandas' type inference silently turns "yes" into
NaN, 4.5 into 4 or "NA" into a string depending on the column, and a guessed value in a diagnostic
record is worse than a rejected one. Every rule below either yields a value or a reason that the
importer reports with the row and field; nothing is coerced without a rule written here.

Text cells (CSV, and text cells of spreadsheets and Parquet files):

* surrounding whitespace is stripped;
* ``""``, ``NA``, ``N/A``, ``null`` and ``NaN`` (any case) are null = not examined / not tested.
  ``none`` is *not* a null token: it is a legal category value (``muscle_atrophy``, ``sensory_loss``);
* booleans: ``true``/``false`` (any case) and ``1``/``0``; anything else ("yes", "x") is rejected;
* numbers must parse completely as a decimal number (``4``, ``4.0``, ``-1.5e3``); a decimal comma,
  units ("4 mm") or ``inf`` are rejected ("1,200" with a reason saying the comma is ambiguous: 1200 or
  1.2). Whole-numberness of counts and ranges are checked later by the pandera schema (so ``4.0`` is
  fine for a count and ``4.5`` is not);
* categories and identifiers are kept as text; category membership is checked by the schema.

Typed cells of spreadsheets and Parquet files (numbers, booleans) are written as text and then follow
the same rules, so a file gives the same result whatever format it was saved in: an Excel ``1`` in a
boolean column is true, a boolean ``TRUE`` in a numeric column is rejected. A float32 (or float16) number
is the number its shortest text writes (float32 0.6 is 0.6, not 0.6000000238, which is above a 0.60 limit).

JSON cells (``.json``/``.jsonl``) follow the JSON types instead, like :class:`data.record.PatientRecord`:
numbers for numeric fields, ``true``/``false`` for booleans, strings for categories and identifiers
(surrounding whitespace stripped, as in a text cell), ``null`` for null. A quoted number (``"4"``) is
rejected, because it signals a broken export. A single record (Python API, HTTP API, one-patient .json file:
:mod:`data.record`) is read by these JSON rules too, its text by :func:`strip_text`.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from mmn_ddx.data.contract import FieldSpec, fields, label_spec

NULL_TOKENS: frozenset[str] = frozenset({"", "na", "n/a", "null", "nan"})
TRUE_TOKENS: frozenset[str] = frozenset({"true", "1"})
FALSE_TOKENS: frozenset[str] = frozenset({"false", "0"})
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"

PARSED_DTYPES: dict[str, Any] = {
    "float": "float64",
    "int": "float64",  # whole-numberness is a schema check, so 4.5 is reported, never truncated
    "bool": pd.BooleanDtype(),
    "string": pd.StringDtype(),
    "category": pd.StringDtype(),  # casting first would turn an unknown category into NaN silently
}
"""In-memory dtype of each field type between parsing and schema validation."""

NOT_A_BOOLEAN = "not a boolean (expected true/false or 1/0)"
NOT_A_NUMBER = "not a number"
DECIMAL_COMMA = f"{NOT_A_NUMBER} (use '.' as the decimal separator)"
AMBIGUOUS_COMMA = (f"{NOT_A_NUMBER}: is the ',' a thousands separator or a decimal comma? Write the number "
                   "without thousands separators and with '.' for decimals (one thousand two hundred: 1200; "
                   "one point two: 1.2)")
THOUSANDS_SEPARATOR = f"{NOT_A_NUMBER} (write it without the thousands separator ',')"
_THOUSANDS = r"[+-]?[1-9]\d{0,2}(?:,\d{3})+"
"""Digits in groups of three after a comma ("1,200", "12,000,000"); a leading 0 ("0,600") is a decimal comma."""

Parsed = tuple[pd.Series, pd.Series]
"""(values in :data:`PARSED_DTYPES`, reasons indexed by the rows that failed; failed cells are null)."""


NOT_A_SINGLE_VALUE = "not a single value (a list, structure or binary cell)"
_NON_SCALAR = (list, tuple, dict, set, np.ndarray, bytes, bytearray)
"""Parquet list/struct/binary cells: written as text they would pass as an identifier ("['a', 'b']")."""


def parse_column(raw: pd.Series, spec: FieldSpec, *, json_types: bool = False) -> Parsed:
    """Parse one raw column for ``spec``; the index (row numbers) is kept."""
    if json_types:
        return _parse_json(raw, spec)
    if raw.dtype == object:
        non_scalar = raw.map(lambda v: isinstance(v, _NON_SCALAR)).to_numpy(dtype=bool)
        if non_scalar.any():
            values, reasons = parse_column(raw.where(~non_scalar, None), spec)
            return values, pd.concat([reasons, _reasons(pd.Series(non_scalar, index=raw.index), NOT_A_SINGLE_VALUE)])
    if spec.is_numeric and ptypes.is_numeric_dtype(raw) and not ptypes.is_bool_dtype(raw):
        return _numbers_from_numeric_dtype(raw)
    if spec.type == "bool" and ptypes.is_bool_dtype(raw):
        return raw.astype(pd.BooleanDtype()), _no_reasons()
    return parse_text(_as_text(raw), spec)


def parse_text(text: pd.Series, spec: FieldSpec) -> Parsed:
    """Apply the text rules (module docstring) to a column of strings (vectorised)."""
    text = text.astype(pd.StringDtype()).str.strip()
    lower = text.str.lower()
    null = text.isna() | lower.isin(NULL_TOKENS)
    if spec.type in ("string", "category"):
        return text.mask(null), _no_reasons()
    if spec.type == "bool":
        is_true, is_false = lower.isin(TRUE_TOKENS), lower.isin(FALSE_TOKENS)
        values = pd.Series(pd.NA, index=text.index, dtype=pd.BooleanDtype()).mask(is_true, True).mask(is_false, False)
        return values, _reasons(~null & ~is_true & ~is_false, NOT_A_BOOLEAN)
    ok = text.str.fullmatch(_NUMBER).fillna(False).astype(bool) & ~null
    bad = ~null & ~ok
    reasons = _reasons(bad, NOT_A_NUMBER)
    if len(reasons):
        reasons = _comma_hints(text[reasons.index], reasons)
    return text.where(ok).astype("float64"), reasons


def _comma_hints(text: pd.Series, reasons: pd.Series) -> pd.Series:
    """Say what a comma in a rejected number may mean; the value itself is never quoted (predict shows no value).

    "0,45" is a decimal comma. "1,200" may be 1200 or 1.2: said to be ambiguous, not "use '.'", which
    would make 1200 cells 1.2. "1,234.5" has a thousands separator only.
    """
    def matching(cells: pd.Series, pattern: str) -> pd.Index:
        hit = cells.str.fullmatch(pattern).fillna(False).astype(bool)
        return hit.index[hit]

    reasons = reasons.copy()
    reasons[matching(text.str.replace(",", ".", regex=False), _NUMBER)] = DECIMAL_COMMA
    reasons[matching(text, _THOUSANDS)] = AMBIGUOUS_COMMA
    reasons[matching(text, _THOUSANDS + r"\.\d+")] = THOUSANDS_SEPARATOR
    return reasons


def strip_text(value: Any) -> Any:
    """A text value without its surrounding whitespace, anything else as it is: the first text rule above, for one
    value. The record model (:mod:`data.record`) applies it to a record's identifier and categories, so a single
    record sent to the Python or HTTP API reads ``" male"`` as every cohort reader does (``.str.strip()`` on a
    column: the same characters, a test holds it)."""
    return value.strip() if isinstance(value, str) else value


def looks_like_a_value(text: str) -> bool:
    """A number, a boolean token or a category value: never a column name, so a header holding one (and no
    field name) is a patient's row without a header above it."""
    text = text.strip().lower()
    return (text in TRUE_TOKENS or text in FALSE_TOKENS or re.fullmatch(_NUMBER, text) is not None
            or text in _category_values())


@functools.cache
def _category_values() -> frozenset[str]:
    specs = [*fields().values(), label_spec()]
    return frozenset(str(value).lower() for spec in specs if spec.type == "category" for value in spec.values or ())


def _numbers_from_numeric_dtype(raw: pd.Series) -> Parsed:
    values = _float64(raw)
    return values.where(np.isfinite(values)), _reasons(np.isinf(values), "not a finite number")


def _float64(raw: pd.Series) -> pd.Series:
    """Numbers as float64; a float32 (or float16) one through its shortest decimal text, the number written.

    Widened directly, float32 0.6 is 0.6000000238: above the CSF limit 0.60, a finding flipped. Its shortest
    text ('0.6', what the file's writer meant) read as float64 is 0.6 exactly, as from a CSV.
    """
    if not _narrow_float(raw):
        return raw.astype("float64")
    return pd.Series(_narrow_cells(raw).astype(str).astype("float64"), index=raw.index)


def _narrow_float(raw: pd.Series) -> bool:
    """A float column narrower than float64 (numpy or pandas' nullable Float32)."""
    dtype = getattr(raw.dtype, "numpy_dtype", raw.dtype)
    return isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize < 8


def _narrow_cells(raw: pd.Series) -> np.ndarray:
    """A narrow float column's cells as numpy scalars of its own type (pandas would widen them), null as NaN."""
    return raw.to_numpy(dtype=getattr(raw.dtype, "numpy_dtype", raw.dtype), na_value=np.nan)


def _as_text(raw: pd.Series) -> pd.Series:
    """Typed cells as text (exact: ``repr`` of a float round-trips), so the text rules apply."""
    if ptypes.is_string_dtype(raw.dtype) and not ptypes.is_object_dtype(raw.dtype):
        return raw
    if isinstance(raw.dtype, pd.CategoricalDtype):  # convert the few categories, not every cell
        texts = np.asarray([cell_text(c) for c in raw.cat.categories] + [None], dtype=object)
        return pd.Series(texts[raw.cat.codes.to_numpy()], index=raw.index, dtype=pd.StringDtype())
    return pd.Series(cell_texts(raw), index=raw.index, dtype=pd.StringDtype())


def cell_texts(raw: pd.Series) -> list[str | None]:
    """:func:`cell_text` of every cell; a float32 cell stays float32, so its text is the number written."""
    return [cell_text(v) for v in (_narrow_cells(raw) if _narrow_float(raw) else raw.astype(object))]


def cell_text(value: Any) -> str | None:
    """One typed cell as the text a user would type (None for null); also renders rejected values."""
    if value is None or value is pd.NA or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, np.floating) and value.itemsize < 8:
        return str(value)  # numpy's shortest text for its precision: float32 0.6 is '0.6', not '0.6000000238...'
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


_JSON_KINDS = {"float": "number", "int": "number", "bool": "boolean", "string": "string", "category": "string"}
"""The JSON type each field type requires."""

_KIND_OF_TYPE: dict[type, str] = {
    bool: "boolean",
    np.bool_: "boolean",
    str: "string",
    int: "number",
    float: "number",
    np.int64: "number",
    np.float64: "number",
}


def _json_name(kind: type) -> str:
    """The JSON name of a nested value's type (a list is an array, a dict an object)."""
    return "array" if issubclass(kind, list) else "object" if issubclass(kind, dict) else kind.__name__


def _json_kinds(raw: pd.Series) -> pd.Series:
    """JSON type of every cell ("null", "number", "boolean", "string" or a Python type name)."""
    null = raw.isna()
    if ptypes.is_bool_dtype(raw):
        kind = "boolean"
    elif ptypes.is_numeric_dtype(raw):
        kind = "number"
    elif ptypes.is_string_dtype(raw.dtype) and not ptypes.is_object_dtype(raw.dtype):
        kind = "string"
    else:  # mixed column (e.g. true/false/null): classify each cell by its Python type
        types = raw.astype(object).map(type)
        kinds = types.map(_KIND_OF_TYPE)
        unknown = kinds.isna() & ~null
        kinds[unknown] = [_json_name(t) for t in types[unknown]]
        return kinds.mask(null, "null")
    return pd.Series(kind, index=raw.index, dtype=object).mask(null, "null")


def _parse_json(raw: pd.Series, spec: FieldSpec) -> Parsed:
    if _narrow_float(raw):  # a float32 column handed to the model (Spark's FloatType): the numbers written
        raw = _float64(raw)
    kinds = _json_kinds(raw)
    expected = _JSON_KINDS[spec.type]
    ok = kinds == expected
    reasons = pd.Series(
        [f"expected a JSON {expected}, got {'an' if kind[0] in 'aeiou' else 'a'} {kind}"
         for kind in kinds[~ok & (kinds != "null")]],
        index=kinds.index[~ok & (kinds != "null")],
        dtype=object,
    )
    kept = raw.astype(object).where(ok, None)
    if spec.type in ("float", "int"):
        values = pd.Series([_json_float(v) for v in kept], index=kept.index, dtype="float64")
        infinite = np.isinf(values)
        reasons = pd.concat([reasons, _reasons(infinite, "not a finite number")])
        return values.where(~infinite), reasons
    values = kept.astype(PARSED_DTYPES[spec.type])
    if spec.type in ("string", "category"):  # as a text cell: " P1 " is the id P1 (so a duplicate of "P1")
        values = values.str.strip()
    return values, reasons


def _json_float(value: Any) -> float:
    """A JSON number as a float; an integer beyond float range (10**400) is infinite, hence rejected."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _reasons(mask: pd.Series, reason: str) -> pd.Series:
    index = mask.index[np.asarray(mask, dtype=bool)]
    return pd.Series(reason, index=index, dtype=object)


def _no_reasons() -> pd.Series:
    return pd.Series(dtype=object)
