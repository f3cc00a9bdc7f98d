"""The form schema served at ``GET /v1/schema``: the contract's fields, dressed for a clinician.

The web page builds its whole form from this response, so the field list exists once (the data
dictionary, via :func:`data.contract.fields`). What this module adds is presentation only:

- **sections** come from the dictionary's own ``# --- title ---`` comment lines, so the form follows
  the order of a neuromuscular examination exactly as the dictionary lays it out;
- **labels** and **units** (``csf_protein_g_per_l``: "CSF protein", g/L) come from
  :mod:`serving.wording.fields`, which names the fields in the sentences a clinician reads too;
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
from mmn_ddx.serving.wording import field_label, field_unit, sentence_case

_SECTION_LINE = re.compile(r"^\s*#\s*-{3}\s*(?P<title>.+?)\s*-*\s*$")
_FIELD_LINE = re.compile(r"^  (?P<name>[a-z][a-z0-9_]*)\s*:")
_MRC = re.compile(r"^mrc_(?P<limb>arm|leg)_(?P<level>proximal|distal)_(?P<side>left|right)$")


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
    return SchemaSection(id=slug, title=sentence_case(title), note=sentence_case(note) if note else None)


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
            label=field_label(spec.name),
            type=spec.type,
            required=spec.required,
            values=list(spec.values) if spec.values is not None else None,
            range=spec.range,
            unit=field_unit(spec),
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
