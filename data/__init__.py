"""data: the patient-record contract, cohort import/validation, the synthetic cohort and its summary.

Public API (``from data import read_cohort``). Names are resolved lazily (PEP 562) so that
``import data.contract`` - done by every layer, including the HTTP server - does not pay for pandera,
pyarrow and openpyxl, which only the importer needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "DIAGNOSES": "mmn_ddx.data.contract",
    "FEATURE_FIELDS": "mmn_ddx.data.contract",
    "ID_FIELD": "mmn_ddx.data.contract",
    "LABEL": "mmn_ddx.data.contract",
    "FieldSpec": "mmn_ddx.data.contract",
    "empty_frame": "mmn_ddx.data.contract",
    "fields": "mmn_ddx.data.contract",
    "to_canonical": "mmn_ddx.data.contract",
    "PatientRecord": "mmn_ddx.data.record",
    "RecordError": "mmn_ddx.data.record",
    "validate_record": "mmn_ddx.data.record",
    "cohort_schema": "mmn_ddx.data.schema",
    "validate_cohort": "mmn_ddx.data.schema",
    "CohortError": "mmn_ddx.data.importer",
    "ImportResult": "mmn_ddx.data.importer",
    "RowError": "mmn_ddx.data.importer",
    "read_cohort": "mmn_ddx.data.importer",
    "read_record_json": "mmn_ddx.data.importer",
    "write_table": "mmn_ddx.data.importer",
    "describe_cohort": "mmn_ddx.data.describe",
    "posterior": "mmn_ddx.data.posterior",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from mmn_ddx.data.contract import (
        DIAGNOSES, FEATURE_FIELDS, ID_FIELD, LABEL, FieldSpec, empty_frame, fields, to_canonical,
    )
    from mmn_ddx.data.describe import describe_cohort
    from mmn_ddx.data.posterior import posterior
    from mmn_ddx.data.importer import CohortError, ImportResult, RowError, read_cohort, read_record_json, write_table
    from mmn_ddx.data.record import PatientRecord, RecordError, validate_record
    from mmn_ddx.data.schema import cohort_schema, validate_cohort


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'data' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
