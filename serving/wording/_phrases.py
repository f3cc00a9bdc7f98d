"""Small phrase builders shared by the finding describers: numbers, plurals, regions, yes / no / unknown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmn_ddx.features import record_value

Record = Mapping[str, Any]

DRUGS: dict[str, str] = {"ivig_response": "IVIg", "corticosteroid_response": "corticosteroids"}
"""Each treatment field (:data:`features.TREATMENT_FIELDS`) by the drug whose trial it records."""


def num(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def plural(count: float, word: str, many: str | None = None) -> str:
    """'1 motor nerve', '3 motor nerves' ('many' for an irregular plural)."""
    return f"{num(count)} {word if count == 1 else many or word + 's'}"


def region(name: str) -> str:
    """'arm_distal_left' -> 'left distal arm'; 'arm_distal' -> 'distal arm'."""
    limb, level, *side = name.split("_")
    return " ".join([*side, level, limb])


def yes_no(record: Record, name: str, present: str, absent: str, unknown: str) -> str:
    value = record_value(record, name)
    return unknown if value is None else present if value else absent


def words(value: str | None, unknown: str) -> str:
    return unknown if value is None else value.replace("_", " ")
