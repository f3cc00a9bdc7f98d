"""The patient-record contract: one field table, read from the shipped data dictionary.

Every entry point (importer, Python API, CLI, HTTP API) validates against the objects built here,
so the field list and the cross-field rules exist exactly once: ``data/data_dictionary.yaml``, which
keeps every field of the shared v1 dictionary with the same type and meaning (a test holds it), adds the
version 2 fields (``since: 2``) and the ``rules`` section that the record model, the cohort schema and the
serving frame check enforce through one engine (:func:`rule_problems`), hence every entry point.

Nulls mean "not examined / not tested / unknown" and stay null: nothing here imputes.
"""

from __future__ import annotations

import operator
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
    since: int = 1
    """The schema version that added the field (the dictionary's ``since``; v1 fields have none)."""

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
        since=int(raw.get("since", 1)),
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


def category_reason(spec: FieldSpec) -> str:
    """Why a value outside a category field's values is refused, in every reader's words."""
    return "not one of: " + ", ".join(spec.values or ())


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
    """A cross-field ``at_most`` rule of the data dictionary: ``field`` may not exceed ``at_most`` (nulls break
    nothing: an unknown count cannot contradict)."""

    name: str
    field: str
    at_most: str
    message: str
    """The reason given for ``field``; it names ``at_most``."""

    @property
    def other(self) -> str:
        return self.at_most

    def broken(self, values: np.ndarray, bound: np.ndarray) -> np.ndarray:
        """Rows breaking the rule; NaN compares False, so a null on either side is no violation."""
        return np.asarray(values, dtype=np.float64) > np.asarray(bound, dtype=np.float64)

    def broken_by(self, value: float, bound: float) -> bool:
        """:meth:`broken` for one pair of non-null values."""
        return value > bound


_COMPARISONS: dict[str, Callable[[Any, float], Any]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, ">": operator.gt, "<": operator.lt,
}
"""Elementwise on arrays, plain on one value (the record model checks one record at a time, in microseconds)."""


@dataclass(frozen=True)
class Condition:
    """A condition on one field's rule values (:func:`rule_values`), written in the dictionary as a value or
    list of values (categories, booleans) or as a comparison with a number (``"> 0"``, ``">= 2"``)."""

    text: str
    operator: str
    operands: tuple[float, ...]

    def holds(self, values: np.ndarray) -> np.ndarray:
        """Rows where the condition holds; a null (NaN) never satisfies a condition."""
        values = np.asarray(values, dtype=np.float64)
        if self.operator == "in":
            return np.isin(values, self.operands)
        return np.asarray(_COMPARISONS[self.operator](values, self.operands[0]))

    def holds_for(self, value: float) -> bool:
        """:meth:`holds` for one non-null value."""
        if self.operator == "in":
            return value in self.operands
        return bool(_COMPARISONS[self.operator](value, self.operands[0]))


def _condition(spec: FieldSpec, raw: Any) -> Condition:
    if spec.is_numeric:
        text = str(raw).strip()
        operator = next((op for op in _COMPARISONS if text.startswith(op)), None)
        if operator is None:
            raise ValueError(f"{spec.name}: a condition on a number is a comparison such as '> 0', got {raw!r}")
        return Condition(f"{operator} {float(text[len(operator):]):g}", operator, (float(text[len(operator):]),))
    allowed = [True, False] if spec.type == "bool" else list(spec.values or ())
    wanted = raw if isinstance(raw, list) else [raw]
    if not wanted or any(value not in allowed for value in wanted):
        raise ValueError(f"{spec.name}: condition values {wanted!r} are not among {allowed!r}")
    text = " or ".join(str(value).lower() for value in wanted)
    return Condition(text, "in", tuple(float(allowed.index(v)) if spec.type == "category" else float(v)
                                       for v in wanted))


@dataclass(frozen=True)
class Contradiction:
    """A ``contradicts`` rule of the data dictionary: a finding stated in ``field`` that a value of ``other``
    proves false (e.g. ``motor_conduction_block: single`` with ``nerves_definite_cb >= 2``). Only what the
    other field proves false is refused; a null on either side breaks nothing."""

    name: str
    field: str
    finding: Condition
    other: str
    refuted_by: Condition
    message: str
    """The reason given for ``field``; it names ``other`` and the condition that refutes the finding."""

    def broken(self, values: np.ndarray, other: np.ndarray) -> np.ndarray:
        return self.finding.holds(values) & self.refuted_by.holds(other)

    def broken_by(self, value: float, other: float) -> bool:
        """:meth:`broken` for one pair of non-null values."""
        return self.finding.holds_for(value) and self.refuted_by.holds_for(other)


Rule = FieldRule | Contradiction


def _rules(raw: dict[str, Any]) -> tuple[Rule, ...]:
    out: list[Rule] = []
    for name, rule in raw.items():
        for bound, limited in rule.get("at_most", {}).items():
            out.extend(FieldRule(name, field, bound, rule["message"].format(at_most=bound, field=field))
                       for field in limited)
        for entry in rule.get("contradicts", ()):
            out.extend(_contradictions(name, entry))
    return tuple(out)


def _contradictions(name: str, entry: dict[str, Any]) -> list[Contradiction]:
    ((field, stated),) = entry["finding"].items()
    finding = _condition(_field_spec(name, field), stated)
    out = []
    for other, raw in entry["refuted_by"].items():
        refuted_by = _condition(_field_spec(name, other), raw)
        message = f"'{finding.text}' contradicts {other} {refuted_by.text}: {entry['because']}"
        out.append(Contradiction(name, field, finding, other, refuted_by, message))
    return out


def _field_spec(rule: str, name: str) -> FieldSpec:
    if name not in fields():
        raise ValueError(f"rule {rule}: {name} is not a field of the data dictionary")
    return fields()[name]


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every cross-field rule of the data dictionary, each checked against the field table.

    A rule's ``field`` (where its error is reported) comes after its ``other`` field in the dictionary, so
    that the record model, which validates fields in dictionary order, reports it where the cohort schema
    does: one field, one message, at every entry point.
    """
    out = _rules(dictionary().get("rules", {}))
    for rule in out:
        for name in (rule.field, rule.other):
            spec = _field_spec(rule.name, name)
            if isinstance(rule, FieldRule) and not spec.is_numeric:
                raise ValueError(f"rule {rule.name}: {name} is not a numeric field of the data dictionary")
        if FIELD_NAMES.index(rule.field) < FIELD_NAMES.index(rule.other):
            raise ValueError(f"rule {rule.name}: {rule.field} must come after {rule.other} in the dictionary")
    return out


@cache
def rules() -> tuple[FieldRule, ...]:
    """The ``at_most`` rules (counts within their denominators), one per limited field."""
    return tuple(rule for rule in all_rules() if isinstance(rule, FieldRule))


@cache
def contradictions() -> tuple[Contradiction, ...]:
    """The ``contradicts`` rules (a stated finding against the figures that prove it false)."""
    return tuple(rule for rule in all_rules() if isinstance(rule, Contradiction))


def rule_values(spec: FieldSpec, column: Any) -> np.ndarray:
    """A column (canonical, parsed or plain values) as the float array the rules compare: numbers as they are,
    booleans as 1/0, categories as their index in the dictionary's values; null (or an unknown category,
    reported by the field's own check) as NaN."""
    if spec.type == "category":
        series = pd.Series(column)
        if isinstance(series.dtype, pd.CategoricalDtype) and tuple(series.cat.categories) == spec.values:
            codes = series.cat.codes.to_numpy()
            return np.where(codes < 0, np.nan, codes.astype(np.float64))
        import pyarrow as pa  # text columns (the importer's parsed stage): arrow's lookup is ~10x pandas'
        import pyarrow.compute as pc

        text = pa.array(series.astype("string").array, type=pa.string())
        found = pc.index_in(text, value_set=pa.array(list(spec.values or ()), type=pa.string()))
        return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.float64)
    if spec.type == "bool":
        return pd.Series(column).astype("boolean").to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.Series(column).to_numpy(dtype=np.float64, na_value=np.nan)


def rule_value(spec: FieldSpec, value: Any) -> float:
    """One non-null value as :func:`rule_values` reads it (the record model checks one record at a time)."""
    return float((spec.values or ()).index(value)) if spec.type == "category" else float(value)


def rule_problems(values: Callable[[str], np.ndarray | None]) -> list[tuple[Rule, np.ndarray]]:
    """Each broken rule with its mask of rows, reading a field's rule values (:func:`rule_values`) through
    ``values`` (None = absent, i.e. all null). The one rule engine: the record model, the cohort schema and
    the serving frame check all call it."""
    broken = []
    for rule in all_rules():
        part, whole = values(rule.field), values(rule.other)
        if part is None or whole is None:
            continue
        mask = rule.broken(part, whole)
        if mask.any():
            broken.append((rule, mask))
    return broken


def frame_rule_problems(frame: pd.DataFrame) -> list[tuple[Rule, np.ndarray]]:
    """:func:`rule_problems` on a frame of contract columns (canonical or parsed); absent columns are null."""
    specs = fields()
    return rule_problems(lambda name: rule_values(specs[name], frame[name]) if name in frame.columns else None)


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
