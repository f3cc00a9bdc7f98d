"""What the MLflow pyfunc accepts, as sent, checked against the record contract (row, field, reason).

The exported model declares no input schema (:func:`training.fitting.tracking.model_signature` says why), so
MLflow hands the input over as it parsed it and this module is the only check, the record contract's:

* a pandas frame: Spark's Arrow batches, the scoring server's ``dataframe_records`` / ``dataframe_split``
  formats, an in-process ``predict(frame)``. Pandas' conventions hold: a null is None, NaN or ``pd.NA``,
  and a count with a null is a float column;
* records or columns as sent: the ``inputs`` / ``instances`` formats (the scoring server wraps each cell or
  column in a numpy array: ``np.array(41)``, ``np.array(None)``), or a list of dicts, a dict of columns or
  one record (a dict of values) in process. Each cell keeps its JSON type; a float NaN is null there too, as
  in the Python API: the scoring server reads a JSON ``NaN`` with Python's ``json`` and its dataframe formats
  hold a null as NaN, so no format can tell a sent NaN from a null (``/v1/predict`` refuses it as not JSON).

Either way an unknown field, a quoted number ("8", "NaN"), a number for a category or a yes/no field
that is not a boolean is refused, as in every other entry point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from mmn_ddx.data import ID_FIELD, LABEL, PARSED_DTYPES, fields, label_spec, parse_column, to_canonical


class InputError(ValueError):
    """A row of the input violates the record contract; the message names row, field and reason."""


def canonical_input(model_input: Any) -> pd.DataFrame:
    """Validate every row against the contract (vectorised) and return a canonical frame.

    Accepts the inputs of the module docstring: a frame whose nulls may be NaN/None/pd.NA, whose whole
    numbers may be floats (a nullable integer column arrives as float) and whose booleans may be numpy
    booleans, or records/columns as sent - the JSON typing rules of the importer
    (:func:`data.cells.parse_column`) and its pandera schema, column by column. A ``diagnosis`` column is
    checked as the importer checks it (one of the diagnoses, or null) and then not read, as every entry point
    treats a record's label. Raises :class:`InputError` naming the first bad row (counted from 1, with its
    ``patient_id`` if any) and each of its bad fields, never the value.
    """
    from mmn_ddx.data import BUILTIN_REASONS, SchemaErrors, validate_cohort  # lazy: pandera

    frame = model_input if isinstance(model_input, pd.DataFrame) else as_sent(model_input)
    specs = {**fields(), **({LABEL: label_spec()} if LABEL in frame.columns else {})}
    unknown = [str(c) for c in frame.columns if c not in specs]
    missing = [name for name, spec in specs.items() if spec.required and name not in frame.columns]
    if unknown or missing:
        raise InputError("; ".join([*(f"field '{c}': unknown field (not in the data dictionary)" for c in unknown),
                                    *(f"field '{c}': required field missing" for c in missing)]))
    index = pd.RangeIndex(1, len(frame) + 1)
    problems: dict[int, dict[str, str]] = {}
    columns: dict[str, pd.Series] = {}
    for name, spec in specs.items():
        if name in frame.columns:
            values, reasons = parse_column(_typed(frame[name].set_axis(index)), spec, json_types=True)
            for row, reason in reasons.items():
                problems.setdefault(int(row), {}).setdefault(name, str(reason))
        else:
            values = pd.Series(None, index=index, dtype=PARSED_DTYPES[spec.type])
        columns[name] = values
    parsed = pd.DataFrame(columns, index=index)
    try:
        validate_cohort(parsed, canonical=False, only=tuple(c for c in specs if c in frame.columns))
    except SchemaErrors as exc:
        cases = exc.failure_cases.dropna(subset=["index"])
        for row, column, check in zip(cases["index"], cases["column"], cases["check"], strict=True):
            problems.setdefault(int(row), {}).setdefault(str(column), BUILTIN_REASONS.get(check, str(check)))
    if problems:
        row = min(problems)
        detail = "; ".join(f"field '{f}': {reason}" for f, reason in problems[row].items())
        more = f" (and {len(problems) - 1} more invalid rows)" if len(problems) > 1 else ""
        patient = parsed.at[row, ID_FIELD]  # on Spark a row number counts within a batch: the id finds it
        where = f"row {row}" if pd.isna(patient) else f"row {row} ({ID_FIELD} {patient})"
        raise InputError(f"{where}: {detail}{more}")
    return to_canonical(parsed.drop(columns=[LABEL], errors="ignore"))


def as_sent(model_input: Any) -> pd.DataFrame:
    """Records (a list of dicts), one record (a dict of values) or columns (a dict of lists or arrays) as a
    frame of object columns holding each cell as plain Python, in its JSON type: pandas would turn a count
    with a null into a float, and a column of ``"8"`` and ``8`` into whatever it infers.

    Raises :class:`InputError` for anything else, naming the row or field.
    """
    if isinstance(model_input, Mapping):
        if not any(_is_column(v) for v in model_input.values()):  # one record: {"inputs": {"sex": "male", ...}}
            return as_sent([model_input])
        lengths = {len(v) if _is_column(v) else -1 for v in model_input.values()}
        if len(lengths) > 1:
            raise InputError("columns: every field needs one value per patient (a list of the same length)")
        return _object_frame({str(k): [_plain(cell) for cell in v] for k, v in model_input.items()}, lengths.pop())
    if isinstance(model_input, Sequence) and not isinstance(model_input, str | bytes):
        for row, record in enumerate(model_input, start=1):
            if not isinstance(record, Mapping):
                raise InputError(f"row {row}: not a record (expected a JSON object of fields, got "
                                 f"{type(record).__name__})")
        names = dict.fromkeys(str(k) for record in model_input for k in record)
        return _object_frame({n: [_plain(r.get(n)) for r in model_input] for n in names}, len(model_input))
    raise InputError(f"expected a table of records (a DataFrame, a list of JSON objects or a mapping of columns), "
                     f"got {type(model_input).__name__}")


def _is_column(value: Any) -> bool:
    return isinstance(value, list | tuple | pd.Series) or (isinstance(value, np.ndarray) and value.ndim > 0)


def _plain(cell: Any) -> Any:
    """A cell as plain Python: the scoring server wraps JSON values in numpy arrays (0-d for a value, 1-d for
    a JSON array), and a numpy column yields numpy scalars."""
    if isinstance(cell, np.ndarray):
        return cell.tolist()
    return cell.item() if isinstance(cell, np.generic) else cell


def _object_frame(columns: dict[str, list[Any]], rows: int) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(cells, dtype=object) for name, cells in columns.items()},
                        index=pd.RangeIndex(rows), columns=pd.Index(list(columns), dtype=object))


def _typed(column: pd.Series) -> pd.Series:
    """An object column whose non-null cells are all booleans (or all strings) in pandas' typed dtype.

    What MLflow and Spark hand over for yes/no fields with nulls is an object column; checked as a
    whole in C (``infer_dtype``) it need not be classified cell by cell. A mixed column is left as it is,
    for the importer's per-cell rules to report.
    """
    if not ptypes.is_object_dtype(column.dtype):
        return column
    kind = ptypes.infer_dtype(column, skipna=True)
    return column.astype(_TYPED[kind]) if kind in _TYPED else column


_TYPED = {"boolean": pd.BooleanDtype(), "string": pd.StringDtype()}
