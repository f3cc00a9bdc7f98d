"""The rule-based criteria next to the model: verdicts with their elements, for a whole batch at once.

:func:`features.criteria.explain_criteria` explains one patient (a one-row frame) and costs several
milliseconds of pandas work per call; serving explains a batch with *one* evaluation of every element
(:func:`features.criteria.evaluate_all`, on the prediction's one read of the patients' columns) and reads each
patient's statuses out of those arrays. The
wording, element order and "not assessable because these fields are null" rule are those of
``explain_criteria`` (a test holds the two equal), and which missing fields could change a verdict is the
criteria's own rule (:func:`features.criteria.undecided_before_met`), so the criteria code stays the only source
of truth for what an element means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data import DIAGNOSES, Columns, truth_codes
from mmn_ddx.features.criteria import (
    CRITERIA_FIELDS,
    CRITERIA_SETS,
    NOT_ASSESSABLE,
    NOT_MET,
    READINGS,
    STEPS,
    CriteriaSet,
    Evaluation,
    Status,
    evaluate_readings,
    first_met_codes,
    maps_to,
    undecided_before_met,
)
from mmn_ddx.serving.result import CriteriaSummary, CriterionElement
from mmn_ddx.serving.wording import messages

MET: Status = "met"
_STATUS: tuple[Status, ...] = (NOT_MET, MET, NOT_ASSESSABLE)
"""Status by code (:func:`data.kleene.truth_codes`)."""
_ROWS = {**{c.id: len(c.elements) for c in CRITERIA_SETS}, "rule_based": len(STEPS)}
"""Rows of each criteria set's elements, then of the cascade steps, in :func:`evaluate`'s matrix of codes."""


@dataclass(frozen=True)
class CriteriaBatch:
    """Every patient's element statuses, verdicts and rule-based label, as arrays."""

    evaluation: Evaluation
    statuses: dict[str, np.ndarray]
    """Criteria set (or "rule_based") -> status codes (elements in the set's order, or cascade steps; patients)."""
    categories: dict[str, tuple[tuple[str, ...], np.ndarray]]
    """Criteria set -> its category keys (highest first) and their status codes (categories, patients): where a
    category is Unknown (code 2), the verdict could still change."""
    nulls: np.ndarray
    """(patients, :data:`CRITERIA_FIELDS`): True where null (every field an element reads)."""
    verdicts: dict[str, np.ndarray]
    labels: np.ndarray
    """The rule-based label under the strict reading (the verdicts' reading)."""
    labels_by_reading: dict[str, np.ndarray]
    """The rule-based label under every reading (strict, chart-review), shown side by side."""

    def __len__(self) -> int:
        return len(self.labels)


def evaluate(data: Columns | pd.DataFrame | Sequence[Mapping[str, Any]]) -> CriteriaBatch:
    """Evaluate all criteria sets once per reading, for the prediction's columns (:mod:`data.columns`), a frame
    or records (read once); the elements and verdicts are the strict reading's, the labels every reading's."""
    readings = evaluate_readings(data)
    ev = readings["strict"]
    # every value of the readings' one stacked evaluation in one matrix of codes, then the strict rows
    whole, rows = (ev, slice(None)) if ev.stacked is None or ev.rows is None else (ev.stacked, ev.rows)
    categories = [whole.categories[c.id] for c in CRITERIA_SETS]
    codes = truth_codes([*(whole.elements[c.id][e.id] for c in CRITERIA_SETS for e in c.elements),
                         *(whole.steps[step.id] for step in STEPS),
                         *(value for by_key in categories for value in by_key.values())])[:, rows]
    blocks = _blocks(codes, [*_ROWS.values(), *(len(by_key) for by_key in categories)])
    statuses = dict(zip(_ROWS, blocks, strict=False))  # then the categories' blocks
    by_set = {c.id: (tuple(by_key), block)
              for c, by_key, block in zip(CRITERIA_SETS, categories, blocks[len(_ROWS):], strict=True)}
    verdicts = {set_id: first_met_codes(block, keys) for set_id, (keys, block) in by_set.items()}
    nulls = ev.cols.null_mask(CRITERIA_FIELDS)
    labels: dict[str, np.ndarray] = {
        reading: np.asarray(readings[reading].labels, dtype=object) for reading in READINGS
    }
    return CriteriaBatch(ev, statuses, by_set, nulls, verdicts, labels["strict"], labels)


def _blocks(matrix: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """``matrix`` cut into consecutive blocks of rows of the given sizes."""
    return [matrix[end - size:end] for size, end in zip(sizes, accumulate(sizes), strict=True)]


def summary(batch: CriteriaBatch, i: int, predicted: str) -> CriteriaSummary:
    """Patient ``i``'s verdicts with their elements, and whether they agree with the model.

    Built as plain dicts and validated in one pydantic call, except the ~75 elements: those are shared
    instances, validated once (:func:`_element`), which pydantic takes as they are.
    """
    nulls = int.from_bytes(batch.nulls[i].tobytes(), "little")  # one byte per field (:data:`_FIELD_BITS`)
    verdicts = [_set_verdict(batch, criteria, i, nulls) for criteria in CRITERIA_SETS]
    label = str(batch.labels[i])
    cascade_missing = _cascade_missing(verdicts, batch, i)
    verdicts.append({
        "criteria": messages.CASCADE_TITLE,
        "verdict": label,
        "variant": None,
        "maps_to": label if label in DIAGNOSES else None,
        "elements": [step[code] for step, code in zip(_STEPS, batch.statuses["rule_based"][:, i].tolist(),
                                                      strict=True)],
        "missing_fields": cascade_missing,
    })
    agrees = (label == predicted) if label in DIAGNOSES else None
    by_reading = {reading: str(labels[i]) for reading, labels in batch.labels_by_reading.items()}
    return CriteriaSummary.model_validate({"verdicts": verdicts, "rule_based_label": label,
                                           "rule_based_labels": by_reading,
                                           "agrees_with_model": agrees,
                                           "note": messages.criteria_note(label, predicted, cascade_missing)})


def _element(element_id: str, description: str, fields: tuple[str, ...], code: int, missing: tuple[str, ...] = ()
             ) -> CriterionElement:
    """One element of a result. Shared by every result showing the same entry (frozen, like the audit block):
    validating ~75 elements per result cost more than the rest of the criteria summary."""
    return CriterionElement(id=element_id, description=description, status=_STATUS[code], fields=fields,
                            missing=missing)


def _statuses(element_id: str, description: str, fields: tuple[str, ...] = ()) -> tuple[CriterionElement, ...]:
    """The element's entry per status code with nothing missing (the same for every patient): made once."""
    return tuple(_element(element_id, description, fields, code) for code in range(len(_STATUS)))


_ELEMENTS = {c.id: tuple(_statuses(e.id, messages.element(e.reference, e.description), e.fields)
                         for e in c.elements) for c in CRITERIA_SETS}
_STEPS = tuple(_statuses(step.id, messages.cascade_step(step.description, step.label)) for step in STEPS)
_FIELD_BITS = {name: 1 << 8 * j for j, name in enumerate(CRITERIA_FIELDS)}
"""Each field's bit in a patient's null fields read as one int (:func:`summary`)."""
_FIELD_MASKS = {c.id: tuple(sum({_FIELD_BITS[f] for f in e.fields}) for e in c.elements) for c in CRITERIA_SETS}
"""Per element, the bits of the fields it reads."""
_SETS = {c.id: c for c in CRITERIA_SETS}


@lru_cache(maxsize=4096)
def _unassessable(set_id: str, k: int, nulls: int) -> CriterionElement:
    """Element ``k`` of a set, not assessable for its null fields (``nulls``: their bits): a few patterns of null
    fields recur (a test not done), so each is made once."""
    element = _SETS[set_id].elements[k]
    absent = tuple(f for f in element.fields if nulls & _FIELD_BITS[f])
    return _element(element.id, _ELEMENTS[set_id][k][2].description, element.fields, 2, absent)


_VERDICT_FIELDS = {c.id: tuple(sorted((f, _FIELD_BITS[f]) for f in {f for e in c.elements if e.used_in_verdict
                                                                   for f in e.fields})) for c in CRITERIA_SETS}
"""Per set, the fields its verdict reads, by name, with their bits: the only fields its ``missing`` can name."""
_LAYOUT = {c.id: tuple(zip(_ELEMENTS[c.id], _FIELD_MASKS[c.id], (e.used_in_verdict for e in c.elements),
                           range(len(c.elements)), strict=True)) for c in CRITERIA_SETS}
"""Per set and element: its entries by status code, its fields' bits, whether the verdict reads it, its position
(what :func:`_set_verdict` reads per element, zipped once rather than per patient)."""


@lru_cache(maxsize=4096)
def _named(set_id: str, bits: int) -> tuple[str, ...]:
    """The fields of some null bits of a set's verdict, sorted by name: made once per pattern of null fields, which
    recur (a test not done), like :func:`_unassessable`; a tuple, so the cached value cannot be changed."""
    return tuple(name for name, bit in _VERDICT_FIELDS[set_id] if bits & bit)


def _set_verdict(batch: CriteriaBatch, criteria: CriteriaSet, i: int, nulls: int) -> dict[str, Any]:
    key = str(batch.verdicts[criteria.id][i])
    variant, verdict = key.split(": ") if ": " in key else (None, key)
    elements, missing = [], 0
    codes = batch.statuses[criteria.id][:, i].tolist()  # plain ints: read once per element below
    for (entries, fields, used, k), code in zip(_LAYOUT[criteria.id], codes, strict=True):
        if code != 2:
            elements.append(entries[code])
            continue
        absent = nulls & fields
        if used:
            missing |= absent
        elements.append(_unassessable(criteria.id, k, absent) if absent else entries[2])
    _, categories = batch.categories[criteria.id]
    could_change = undecided_before_met(categories[:, i].tolist())  # the rule of explain_criteria
    return {"criteria": criteria.title, "verdict": verdict, "variant": variant,
            "maps_to": maps_to(criteria.id, verdict, variant), "elements": elements,
            "missing_fields": list(_named(criteria.id, missing)) if could_change else []}


def _cascade_missing(verdicts: list[dict[str, Any]], batch: CriteriaBatch, i: int) -> list[str]:
    """Null fields of the undecided steps before the deciding one (:func:`features.criteria.undecided_before_met`,
    the rule of ``explain_criteria``): what could still change the label."""
    by_set = dict(zip((c.id for c in CRITERIA_SETS), verdicts, strict=True))
    missing: dict[str, None] = {}
    for k in undecided_before_met(batch.statuses["rule_based"][:, i].tolist()):
        missing.update(dict.fromkeys(by_set[STEPS[k].criteria]["missing_fields"]))
    return sorted(missing)
