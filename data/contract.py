"""The patient-record contract: one field table, read from the shipped data dictionary.

Every entry point (importer, Python API, CLI, HTTP API) validates against the objects built here,
so the field list and the cross-field rules exist exactly once: ``data/data_dictionary.yaml``, which
keeps every field of the shared v1 dictionary with the same type and meaning (a test holds it) and adds
the ``rules`` section that the record model, the cohort schema and hence every entry point enforce.

Nulls mean "not examined / not tested / unknown" and stay null: nothing here imputes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
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

MRC_FIELDS: tuple[str, ...] = tuple(name for name in FIELD_NAMES if name.startswith("mrc_"))
"""The eight regional MRC grades in dictionary order: arm then leg, proximal then distal, left then right
(region-major: column ``2*r + s`` is region ``r``, side ``s``)."""
MRC_REGIONS: tuple[str, ...] = tuple(dict.fromkeys(name[len("mrc_"):].rsplit("_", 1)[0] for name in MRC_FIELDS))
"""``arm_proximal``, ``arm_distal``, ``leg_proximal``, ``leg_distal``: the left/right pairs."""
assert tuple(f"mrc_{region}_{side}" for region in MRC_REGIONS for side in ("left", "right")) == MRC_FIELDS


@dataclass(frozen=True)
class FieldRule:
    """A cross-field rule of the data dictionary: ``field`` may not exceed ``at_most`` (nulls break nothing)."""

    name: str
    field: str
    at_most: str
    message: str
    """The reason given for ``field``; it names ``at_most``."""

    def broken(self, values: np.ndarray, bound: np.ndarray) -> np.ndarray:
        """Rows breaking the rule; NaN compares False, so a null on either side is no violation."""
        return np.asarray(values, dtype=np.float64) > np.asarray(bound, dtype=np.float64)


def _rules(raw: dict[str, Any]) -> tuple[FieldRule, ...]:
    out: list[FieldRule] = []
    for name, rule in raw.items():
        for bound, limited in rule["at_most"].items():
            out.extend(FieldRule(name, field, bound, rule["message"].format(at_most=bound, field=field))
                       for field in limited)
    return tuple(out)


@cache
def rules() -> tuple[FieldRule, ...]:
    """The data dictionary's cross-field rules, one per limited field, each checked against the field table."""
    out = _rules(dictionary().get("rules", {}))
    for rule in out:
        for name in (rule.field, rule.at_most):
            if name not in fields() or not fields()[name].is_numeric:
                raise ValueError(f"rule {rule.name}: {name} is not a numeric field of the data dictionary")
    return out


def rule_problems(values: Callable[[str], np.ndarray | None]) -> list[tuple[FieldRule, np.ndarray]]:
    """Each broken rule with its mask of rows, reading a field's values through ``values`` (None = absent,
    i.e. all null). Shared by every reader that checks records in bulk."""
    broken = []
    for rule in rules():
        part, whole = values(rule.field), values(rule.at_most)
        if part is None or whole is None:
            continue
        mask = rule.broken(part, whole)
        if mask.any():
            broken.append((rule, mask))
    return broken


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
