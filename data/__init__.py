"""data: the patient-record contract, cohort import/validation, the synthetic cohort and its summary.

Public API (``from data import read_cohort``). Names are resolved lazily (PEP 562) so that
``import data.contract`` - done by every layer, including the HTTP server - does not pay for pandera,
pyarrow and openpyxl, which only the importer needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "DIAGNOSES": "data.contract",
    "FEATURE_FIELDS": "data.contract",
    "ID_FIELD": "data.contract",
    "LABEL": "data.contract",
    "FieldSpec": "data.contract",
    "empty_frame": "data.contract",
    "fields": "data.contract",
    "to_canonical": "data.contract",
    "PatientRecord": "data.record",
    "RecordError": "data.record",
    "validate_record": "data.record",
    "cohort_schema": "data.schema",
    "validate_cohort": "data.schema",
    "CohortError": "data.importer",
    "ImportResult": "data.importer",
    "RowError": "data.importer",
    "read_cohort": "data.importer",
    "read_record_json": "data.importer",
    "write_table": "data.importer",
    "describe_cohort": "data.describe",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from data.contract import (
        DIAGNOSES, FEATURE_FIELDS, ID_FIELD, LABEL, FieldSpec, empty_frame, fields, to_canonical,
    )
    from data.describe import describe_cohort
    from data.importer import CohortError, ImportResult, RowError, read_cohort, read_record_json, write_table
    from data.record import PatientRecord, RecordError, validate_record
    from data.schema import cohort_schema, validate_cohort


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'data' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
