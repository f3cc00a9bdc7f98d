"""Contract fields by the names a clinician reads: the form's labels and units (``GET /v1/schema``) and every
sentence that names a field (the out-of-distribution warning, the criteria note).

One place, so the form and the sentences never call a field two things; the names come from the data
dictionary's field names (``csf_protein_g_per_l`` -> "CSF protein", unit g/L). Machine-readable output (JSON
fields, tables, the criteria CLI's ``missing_fields``) keeps the field names themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from mmn_ddx.data import MRC_FIELDS, FieldSpec

ACRONYMS: dict[str, str] = {
    "csf": "CSF", "emg": "EMG", "mri": "MRI", "igm": "IgM", "gm1": "GM1", "mag": "MAG", "ivig": "IVIg",
    "cb": "CB", "cidp": "CIDP", "dml": "DML", "cv": "CV", "fwave": "F-wave", "mrc": "MRC", "id": "ID",
    "ncs": "NCS",
}
"""How acronyms are written in a clinic letter (presentation words, not fields)."""
UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_years", "years"),
    ("_months", "months"),
    ("_g_per_l", "g/L"),
    ("_per_ul", "cells/µL"),
    ("_igm_ratio", "× lab cut-off"),
)
"""(name suffix, unit): the dictionary states units of measure in field names."""
MRC_UNIT = "MRC 0–5"


def sentence_case(text: str) -> str:
    """Words as a clinic letter writes them, the first capitalised: 'csf protein' -> 'CSF protein'."""
    joined = " ".join(ACRONYMS.get(word.lower(), word) for word in text.split())
    return joined[:1].upper() + joined[1:]


def in_sentence(label: str) -> str:
    """A label inside a sentence: 'Bulbar weakness' -> 'bulbar weakness'; an acronym or a mixed-case first word
    stays as written ('CSF protein', 'IgM paraprotein', 'Anti-GM1 IgM')."""
    head = label.split(" ", 1)[0]
    return label[:1].lower() + label[1:] if head[1:] == head[1:].lower() else label


@cache
def field_label(name: str) -> str:
    """The field's label on the form, e.g. 'csf_protein_g_per_l' -> 'CSF protein' (its unit: :func:`field_unit`)."""
    for suffix, _ in UNIT_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)] + ("_igm" if suffix == "_igm_ratio" else "")
            break
    if name.startswith("nerves_"):
        name = name[len("nerves_"):]  # the unit already says "nerves"
    return sentence_case(" ".join(name.split("_"))).replace("Anti ", "Anti-")


def field_labels(names: Iterable[str]) -> list[str]:
    """The fields' labels inside a sentence, each once (the anti-GM1 titre and its stated result are one label)."""
    return list(dict.fromkeys(in_sentence(field_label(name)) for name in names))


def measure_unit(name: str) -> str | None:
    """The unit of measure a field's name states ('g/L', 'years', ...), None for counts, grades and categories."""
    return next((unit for suffix, unit in UNIT_SUFFIXES if name.endswith(suffix)), None)


def field_unit(spec: FieldSpec) -> str | None:
    """The unit the form shows beside the field: its unit of measure, the MRC scale, or what an integer counts."""
    if unit := measure_unit(spec.name):
        return unit
    if spec.name in MRC_FIELDS:
        return MRC_UNIT
    if spec.type == "int":
        return next((unit for unit in ("nerves", "territories", "regions") if unit in spec.name), "count")
    return None
