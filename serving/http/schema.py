"""The form schema served at ``GET /v1/schema``: the contract's fields, dressed for a clinician.

The web page builds its whole form from this response, so the field list exists once (the data
dictionary, via :func:`data.contract.fields`). What this module adds is presentation only:

- **sections** come from the dictionary's own ``# --- title ---`` comment lines, so the form follows
  the order of a neuromuscular examination exactly as the dictionary lays it out;
- **units** are read from the field-name suffixes the dictionary uses (``_years``, ``_g_per_l``,
  ``_per_ul``, ...) and from the type (MRC grades, nerve counts);
- **labels** turn ``csf_protein_g_per_l`` into "CSF protein";
- the eight ``mrc_<limb>_<level>_<side>`` fields carry their grid position, so the page can draw
  the arm/leg x proximal/distal x left/right grid clinicians use.

A field the section parser cannot place still appears (section "other"): nothing is ever dropped.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mmn_ddx.data import DIAGNOSES, SCHEMA_VERSION, FieldSpec, fields

_SECTION_LINE = re.compile(r"^\s*#\s*-{3}\s*(?P<title>.+?)\s*-*\s*$")
_FIELD_LINE = re.compile(r"^  (?P<name>[a-z][a-z0-9_]*)\s*:")
_MRC = re.compile(r"^mrc_(?P<limb>arm|leg)_(?P<level>proximal|distal)_(?P<side>left|right)$")

# Presentation words, not fields: how acronyms are written in a clinic letter.
_WORDS = {
    "csf": "CSF", "emg": "EMG", "mri": "MRI", "igm": "IgM", "gm1": "GM1", "mag": "MAG", "ivig": "IVIg",
    "cb": "CB", "cidp": "CIDP", "dml": "DML", "cv": "CV", "fwave": "F-wave", "mrc": "MRC", "id": "ID",
}
# (name suffix, unit): the dictionary states units in field names.
_UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_years", "years"),
    ("_months", "months"),
    ("_g_per_l", "g/L"),
    ("_per_ul", "cells/µL"),
    ("_igm_ratio", "× lab cut-off"),
)


class GridPosition(BaseModel):
    model_config = ConfigDict(frozen=True)
    limb: Literal["arm", "leg"]
    level: Literal["proximal", "distal"]
    side: Literal["left", "right"]


class SchemaField(BaseModel):
    """One contract field as the form shows it; ``null`` in a record always means unknown."""

    model_config = ConfigDict(frozen=True)
    name: str
    label: str
    type: Literal["string", "float", "int", "bool", "category"]
    required: bool
    values: list[str] | None
    range: tuple[float, float] | None
    unit: str | None
    description: str
    section: str
    group: str | None
    grid: GridPosition | None


class SchemaSection(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    title: str
    note: str | None


class FormSchema(BaseModel):
    model_config = ConfigDict(frozen=True)
    schema_version: int
    diagnoses: list[str]
    null_means: str
    sections: list[SchemaSection]
    fields: list[SchemaField]


def _dictionary_sections() -> tuple[list[SchemaSection], dict[str, str]]:
    """Sections and the section of each field, from the dictionary's comment headers."""
    text = resources.files("mmn_ddx.data").joinpath("data_dictionary.yaml").read_text(encoding="utf-8")
    sections = [SchemaSection(id="identification", title="Identification", note=None)]
    owner: dict[str, str] = {}
    in_fields = False
    for line in text.splitlines():
        if line.startswith("fields:"):
            in_fields = True
            continue
        if in_fields and line and not line[0].isspace() and not line.startswith("#"):
            break  # next top-level key
        if not in_fields:
            continue
        if match := _SECTION_LINE.match(line):
            sections.append(_section(match["title"]))
        elif match := _FIELD_LINE.match(line):
            owner[match["name"]] = sections[-1].id
    return sections, owner


def _section(raw: str) -> SchemaSection:
    """'nerve conduction studies (counts of nerves)' -> title + note; the id is the title slug."""
    title, note = raw, None
    for sep in (":", "("):
        if sep in raw:
            head, tail = raw.split(sep, 1)
            title, note = head.strip(), tail.strip().rstrip(")").strip()
            break
    slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
    return SchemaSection(id=slug, title=_sentence(title), note=_sentence(note) if note else None)


def _sentence(text: str) -> str:
    words = [_WORDS.get(word.lower(), word) for word in text.split()]
    joined = " ".join(words)
    return joined[:1].upper() + joined[1:]


def _unit(spec: FieldSpec) -> str | None:
    for suffix, unit in _UNIT_SUFFIXES:
        if spec.name.endswith(suffix):
            return unit
    if _MRC.match(spec.name):
        return "MRC 0–5"
    if spec.type == "int":
        if "nerves" in spec.name:
            return "nerves"
        if "territories" in spec.name:
            return "territories"
        if "regions" in spec.name:
            return "regions"
        return "count"
    return None


def _label(spec: FieldSpec) -> str:
    name = spec.name
    for suffix, _ in _UNIT_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)] + ("_igm" if suffix == "_igm_ratio" else "")
            break
    if name.startswith("nerves_"):
        name = name[len("nerves_"):]  # the unit already says "nerves"
    label = _sentence(" ".join(_WORDS.get(part, part) for part in name.split("_")))
    return label.replace("Anti ", "Anti-")


def _group(spec: FieldSpec, section: str) -> str | None:
    """Sub-blocks inside a section, mirroring how an examination is written up."""
    if _MRC.match(spec.name):
        return "Power: weakest muscle per region (MRC grade)"
    if section.startswith("motor"):
        if spec.name.startswith("reflexes_") or spec.name == "upper_motor_neuron_signs":
            return "Reflexes and upper-motor-neuron signs"
        return "Other motor findings"
    if section.startswith("nerve_conduction"):
        return "Sensory conduction" if spec.name.startswith("sensory_") else "Motor conduction"
    return None


@cache
def form_schema() -> FormSchema:
    """The schema document; cached because the contract cannot change while the server runs."""
    sections, owner = _dictionary_sections()
    out: list[SchemaField] = []
    for spec in fields().values():
        section = owner.get(spec.name, "other")
        grid = _MRC.match(spec.name)
        out.append(SchemaField(
            name=spec.name,
            label=_label(spec),
            type=spec.type,
            required=spec.required,
            values=list(spec.values) if spec.values is not None else None,
            range=spec.range,
            unit=_unit(spec),
            description=spec.description,
            section=section,
            group=_group(spec, section),
            grid=GridPosition(**grid.groupdict()) if grid else None,  # type: ignore[arg-type]
        ))
    if any(f.section == "other" for f in out):
        sections.append(SchemaSection(id="other", title="Other findings", note=None))
    used = {f.section for f in out}
    return FormSchema(
        schema_version=SCHEMA_VERSION,
        diagnoses=list(DIAGNOSES),
        null_means="not examined / not tested / unknown (never imputed as normal)",
        sections=[s for s in sections if s.id in used],
        fields=out,
    )


def schema_document() -> dict[str, Any]:
    return form_schema().model_dump(mode="json")
