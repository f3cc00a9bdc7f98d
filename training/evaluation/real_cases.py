"""The development check on real published patients: how the champion, a world's exact posterior (the
literature world's unless another is given) and the rule-based cascade do on records written by clinicians
rather than by the generator.

A file of real cases (``shared/clinical/real-cases/dev.jsonl``: 15 published patients) is one JSON record
per line: the contract's fields, the authors' ``diagnosis``, and metadata (:data:`METADATA_FIELDS`) that is
not part of a record. An overlay (``benchmarks/real_cases/dev_v2_overlay.jsonl``) adds the schema version 2
statements each case's text makes, each with its quoted phrase (:func:`read_overlay`), so the figures can be
reported on the v1 records and on the v1+v2 records side by side. **Evaluation only**: nothing is fitted or
tuned on these patients (n = 15 is far too few; a separate, unseen set of real patients judges
generalisation), and every figure is reported with n.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data import (
    DIAGNOSES,
    ID_FIELD,
    LABEL,
    RecordError,
    World,
    fields,
    posterior,
    to_canonical,
    validate_record,
    world_name,
)
from mmn_ddx.features import fields_unseen_in
from mmn_ddx.features.criteria import READINGS, evaluate_criteria
from mmn_ddx.training.artifact.calibration import log_loss
from mmn_ddx.training.evaluation.benchmark_methods import frame_for_mode

METADATA_FIELDS = ("case_id", "source", "evidence", "difficulty", "notes")
"""Keys of a real-case line that describe the publication, not the patient."""


@dataclass(frozen=True)
class RealCases:
    """Validated real cases: the canonical frame (no label), the authors' diagnoses, and each case's metadata."""

    frame: pd.DataFrame
    labels: np.ndarray
    """Index into :data:`DIAGNOSES` per case."""
    metadata: list[dict[str, Any]]


@dataclass(frozen=True)
class Statement:
    """One overlay value and the phrase of the case's evidence or notes that justifies it."""

    value: Any
    quote: str


def read_overlay(path: str | Path) -> dict[str, dict[str, Statement]]:
    """case_id -> field -> :class:`Statement`: data-dictionary fields, each with a quoted phrase (the records
    it is added to refuse a replaced value); a bad line raises ``ValueError`` naming the line."""
    overlay: dict[str, dict[str, Statement]] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        case_id, statements = raw.get("case_id"), raw.get("fields")
        if not isinstance(case_id, str) or not isinstance(statements, dict) or case_id in overlay:
            raise ValueError(f"{path}, line {number}: expected a new case_id and its fields")
        unknown = sorted(set(statements) - set(fields()))
        if unknown:
            raise ValueError(f"{path}, line {number}: {unknown} are not in the data dictionary")
        unquoted = sorted(name for name, s in statements.items() if not str(s.get("quote", "")).strip())
        if unquoted:
            raise ValueError(f"{path}, line {number}: {unquoted} carry no quoted phrase")
        overlay[case_id] = {name: Statement(s["value"], s["quote"]) for name, s in statements.items()}
    return overlay


def read_real_cases(path: str | Path, overlay: Mapping[str, Mapping[str, Statement]] | None = None) -> RealCases:
    """Read and validate a real-cases file, with the ``overlay`` statements added to the cases it names (never
    replacing a value of the file); a bad line raises ``ValueError`` naming the line and the field."""
    records, labels, metadata = [], [], []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        label = raw.pop(LABEL, None)
        if label not in DIAGNOSES:
            raise ValueError(f"{path}, line {number}: {LABEL} must be one of {', '.join(DIAGNOSES)}, got {label!r}")
        metadata.append({key: raw.pop(key, None) for key in METADATA_FIELDS})
        for name, statement in (overlay or {}).get(metadata[-1]["case_id"], {}).items():
            if raw.get(name) is not None:
                raise ValueError(f"{path}, line {number}: the overlay would replace {name}")
            raw[name] = statement.value
        try:
            records.append(validate_record(raw).model_dump())
        except RecordError as exc:
            raise ValueError(f"{path}, line {number}: {exc}") from None
        labels.append(DIAGNOSES.index(label))
    if not records:
        raise ValueError(f"{path}: no cases")
    return RealCases(to_canonical(pd.DataFrame.from_records(records)), np.asarray(labels), metadata)


@dataclass(frozen=True)
class MethodFigures:
    """One method's figures on the real cases (probabilistic methods; the cascade has no log-loss)."""

    n: int
    accuracy: float
    log_loss: float | None = None
    set_coverage: float | None = None
    mean_set_size: float | None = None
    coverage: float | None = None
    """Share of cases the method labels (the rule-based cascade abstains)."""
    accuracy_when_labelled: float | None = None
    predicted: list[str | None] = field(default_factory=list)


def probabilistic_figures(probs: np.ndarray, labels: np.ndarray,
                          sets: Sequence[Sequence[str]] | None = None) -> MethodFigures:
    """Accuracy, log-loss (natural log) and, with prediction sets, their coverage and mean size."""
    figures: dict[str, Any] = {
        "n": len(labels),
        "accuracy": float(np.mean(probs.argmax(axis=1) == labels)),
        "log_loss": log_loss(probs, labels),
        "predicted": [DIAGNOSES[i] for i in probs.argmax(axis=1)],
    }
    if sets is not None:
        figures["set_coverage"] = float(np.mean([DIAGNOSES[y] in s for y, s in zip(labels, sets, strict=True)]))
        figures["mean_set_size"] = float(np.mean([len(s) for s in sets]))
    return MethodFigures(**figures)


def rule_figures(rule_labels: Sequence[object], labels: np.ndarray) -> MethodFigures:
    """Coverage of the cascade and its accuracy on what it labels (an abstention is not a diagnosis)."""
    named = [label if label in DIAGNOSES else None for label in rule_labels]
    labelled = [i for i, label in enumerate(named) if label is not None]
    right = [named[i] == DIAGNOSES[labels[i]] for i in labelled]
    return MethodFigures(
        n=len(labels), accuracy=float(sum(right) / len(labels)), coverage=len(labelled) / len(labels),
        accuracy_when_labelled=float(np.mean(right)) if right else None, predicted=named,
    )


ProbaAndSets = Callable[[pd.DataFrame], tuple[np.ndarray, list[list[str]] | None]]
"""A model on canonical frames: its probabilities and its prediction sets (None: the model has none)."""


def posterior_name(world: World | None = None) -> str:
    """The exact posterior's row, naming its world: the literature's is one guess at real patients among others."""
    return f"exact posterior of {world_name(world)}"


def evaluate_real_cases(cases: RealCases, mode: str, models: Mapping[str, ProbaAndSets],
                        world: World | None = None) -> dict[str, MethodFigures]:
    """Each model (probabilities and prediction sets), the exact posterior of ``world`` (None: the literature
    world) and the cascade in each reading of the criteria."""
    frame = frame_for_mode(cases.frame, mode)
    out: dict[str, MethodFigures] = {}
    for name, fn in models.items():
        probs, sets = _probs_sets(fn, frame)
        out[name] = probabilistic_figures(probs, cases.labels, sets)
    out[posterior_name(world)] = probabilistic_figures(posterior(frame, exclude=fields_unseen_in(mode), world=world),
                                                       cases.labels)
    for reading in READINGS:
        labels = evaluate_criteria(frame, reading=reading)["rule_based_label"]
        out[f"rule-based cascade ({reading})"] = rule_figures(list(labels), cases.labels)
    return out


def _probs_sets(fn: ProbaAndSets, frame: pd.DataFrame) -> tuple[np.ndarray, list[list[str]] | None]:
    probs, sets = fn(frame)
    return np.asarray(probs, dtype=np.float64), sets


def case_rows(cases: RealCases, figures: Mapping[str, MethodFigures]) -> list[dict[str, Any]]:
    """Per case: its id, difficulty, the authors' diagnosis and each method's answer (for the report)."""
    ids = list(cases.frame[ID_FIELD]) if ID_FIELD in cases.frame.columns else [m["case_id"] for m in cases.metadata]
    return [{"case": ids[i], "difficulty": cases.metadata[i].get("difficulty"), "diagnosis": DIAGNOSES[y],
             **{name: f.predicted[i] for name, f in figures.items()}}
            for i, y in enumerate(cases.labels)]
