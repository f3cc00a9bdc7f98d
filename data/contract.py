"""The patient-record contract: one field table, read from the shipped data dictionary.

Every entry point (importer, Python API, CLI, HTTP API) validates against the objects built here,
so the field list exists exactly once: ``data/data_dictionary.yaml``, a verbatim copy of the shared
dictionary (a test keeps the two identical).

Nulls mean "not examined / not tested / unknown" and stay null: nothing here imputes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import pandas as pd
import yaml

DIAGNOSES: tuple[str, ...] = ("MMN", "MND", "CIDP", "MADSAM")
LABEL = "diagnosis"
ID_FIELD = "patient_id"

FieldType = Literal["string", "float", "int", "bool", "category"]


@dataclass(frozen=True)
class FieldSpec:
    """One contract field: its type, allowed values or range, and whether it may be null."""

    name: str
    type: FieldType
    required: bool = False
    values: tuple[str, ...] | None = None
    range: tuple[float, float] | None = None
    description: str = ""

    @property
    def is_numeric(self) -> bool:
        return self.type in ("float", "int")

    def pandas_dtype(self) -> Any:
        """Canonical in-memory dtype: nullable so that a null never becomes a value."""
        return {
            "string": pd.StringDtype(),
            "float": "float64",
            "int": pd.Int64Dtype(),
            "bool": pd.BooleanDtype(),
        }.get(self.type) or pd.CategoricalDtype(list(self.values or ()))


def _spec(name: str, raw: dict[str, Any]) -> FieldSpec:
    rng = raw.get("range")
    values = raw.get("values")
    return FieldSpec(
        name=name,
        type=raw["type"],
        required=bool(raw.get("required", False)),
        values=tuple(values) if values is not None else None,
        range=(float(rng[0]), float(rng[1])) if rng is not None else None,
        description=" ".join(str(raw.get("description", "")).split()),
    )


@cache
def dictionary() -> dict[str, Any]:
    """The raw data dictionary shipped with the package."""
    text = resources.files("mmn_ddx.data").joinpath("data_dictionary.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@cache
def fields() -> dict[str, FieldSpec]:
    """All record fields (without the label), in dictionary order."""
    return {name: _spec(name, raw) for name, raw in dictionary()["fields"].items()}


@cache
def label_spec() -> FieldSpec:
    return _spec(LABEL, dictionary()["label"][LABEL])


SCHEMA_VERSION: int = int(dictionary()["schema_version"])
FIELD_NAMES: tuple[str, ...] = tuple(fields())
FEATURE_FIELDS: tuple[str, ...] = tuple(n for n in FIELD_NAMES if n != ID_FIELD)
"""Fields that describe the patient (everything but the free identifier)."""

assert label_spec().values == DIAGNOSES, "label values drifted from DIAGNOSES"


def empty_frame(with_label: bool = False) -> pd.DataFrame:
    """A zero-row frame with the canonical column order and dtypes."""
    specs = list(fields().values()) + ([label_spec()] if with_label else [])
    return pd.DataFrame({s.name: pd.Series(dtype=s.pandas_dtype()) for s in specs})


def to_canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast already-validated columns to canonical dtypes, adding missing optional fields as null.

    Only for data that passed validation (or was generated): values are not checked here.
    """
    specs = list(fields().values())
    if LABEL in frame.columns:
        specs.append(label_spec())
    columns: dict[str, pd.Series] = {}
    for spec in specs:
        if spec.name in frame.columns:
            column = frame[spec.name]
            if spec.type == "int":
                column = pd.array(column, dtype=pd.Int64Dtype())
            columns[spec.name] = pd.Series(column, index=frame.index).astype(spec.pandas_dtype())
        else:
            missing = float("nan") if spec.type == "float" else pd.NA
            columns[spec.name] = pd.Series(missing, index=frame.index, dtype=spec.pandas_dtype())
    return pd.DataFrame(columns, index=frame.index)  # built at once: inserting 50 columns one by one is slow
