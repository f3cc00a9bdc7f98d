"""Explain the criteria for one patient: every element with its status, as typed, JSON-ready verdicts.

This is the object the CLI prints and serving returns next to each prediction, so it is built from the
very arrays :func:`evaluate_criteria` uses (same code path, a one-row frame) and must stay fast.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from mmn_ddx.data import DIAGNOSES, truth_codes
from mmn_ddx.features.criteria._evaluate import (
    CRITERIA_SETS,
    Evaluation,
    evaluate_readings,
    first_met,
    maps_to,
    undecided_before_met,
)
from mmn_ddx.features.criteria._logic import Reading, Tri
from mmn_ddx.features.criteria._registry import CriteriaSet
from mmn_ddx.features.criteria._results import (
    CIDP_VARIANT_LABELS,
    EL_ESCORIAL_PROXY_VERDICTS,
    MET,
    NOT_ASSESSABLE,
    NOT_MET,
    OTHER_CIDP_VARIANT,
    CascadeFact,
    CriteriaVerdict,
    ElementResult,
    Status,
)
from mmn_ddx.features.criteria.cascade import STEPS, blocking_steps


def _status(value: Tri, i: int) -> Status:
    return NOT_ASSESSABLE if not value.known[i] else (MET if value.true[i] else NOT_MET)


def _set_verdict(criteria: CriteriaSet, ev: Evaluation, strict: Evaluation, verdict_keys: np.ndarray,
                 could_change: bool, i: int) -> CriteriaVerdict:
    """``strict``: the same record read strictly (``ev`` itself under that reading). What recording a null
    field could change is what the strict reading leaves undecided: chart review reads an unmentioned
    finding as absent, and recording it present changes that element. ``could_change``: a category is
    undecided above the strict verdict (:func:`undecided_before_met`), so the missing fields are listed, the
    same in both readings."""
    elements = []
    missing: dict[str, None] = {}
    for element in criteria.elements:
        status = _status(ev.elements[criteria.id][element.id], i)
        undecided = _status(strict.elements[criteria.id][element.id], i) == NOT_ASSESSABLE
        absent = [f for f in element.fields if ev.cols.is_null(f)[i]] if undecided else []
        if element.used_in_verdict:
            missing.update(dict.fromkeys(absent))
        elements.append(
            ElementResult(
                id=element.id,
                reference=element.reference,
                description=element.description,
                role=element.role,
                used_in_verdict=element.used_in_verdict,
                status=status,
                fields_used=list(element.fields),
                missing_fields=absent,
            )
        )
    categories = {key: _status(value, i) for key, value in ev.categories[criteria.id].items()}
    key = str(verdict_keys[i])
    variant, verdict = key.split(": ") if ": " in key else (None, key)
    return CriteriaVerdict(
        criteria=criteria.id,
        title=criteria.title,
        citation=criteria.citation,
        verdict=verdict,
        variant=variant,
        maps_to=maps_to(criteria.id, verdict, variant),
        el_escorial_proxy=(
            first_met({EL_ESCORIAL_PROXY_VERDICTS[0]: ev.el_escorial})[i] if criteria.id == "als_gold_coast" else None
        ),
        categories=categories,
        missing_fields=sorted(missing) if could_change else [],
        elements=elements,
        notes=list(criteria.notes),
        reading=ev.cols.reading,
    )


def _cascade_verdict(ev: Evaluation, verdicts: dict[str, CriteriaVerdict], open_steps: list[int],
                     i: int) -> CriteriaVerdict:
    """``open_steps``: the steps undecided before the strict reading's deciding one (:func:`undecided_before_met`):
    their sets' missing fields could change the label, in either reading."""
    statuses = {step.id: _status(ev.steps[step.id], i) for step in STEPS}
    label = str(ev.labels[i])
    facts = []
    if (blocked := blocking_steps(statuses)) is not None:
        step, blocking = blocked
        facts.append(CascadeFact(code="blocked", step=step.id, label=step.label,
                                 blocked_by={s.id: s.label for s in blocking}))
    cidp = verdicts["cidp_ean2021"]
    if cidp.variant and CIDP_VARIANT_LABELS[cidp.variant] == OTHER_CIDP_VARIANT:
        facts.append(CascadeFact(code="variant_outside_labels", label=OTHER_CIDP_VARIANT, variant=cidp.variant,
                                 verdict=cidp.verdict))
    missing: dict[str, None] = {}
    for k in open_steps:
        missing.update(dict.fromkeys(verdicts[STEPS[k].criteria].missing_fields))
    return CriteriaVerdict(
        criteria="rule_based",
        title="Rule-based cascade (criteria.md §5, project construct)",
        citation="Project baseline: MMN definite/probable > MADSAM > CIDP > MND (Gold Coast) > MMN possible.",
        verdict=label,
        maps_to=label if label in DIAGNOSES else None,
        categories=statuses,
        missing_fields=sorted(missing),
        elements=[
            ElementResult(
                id=step.id,
                reference=f"step {k}",
                description=f"{step.description} -> {step.label}",
                role="cascade",
                used_in_verdict=True,
                status=statuses[step.id],
                fields_used=[],
                missing_fields=[],
            )
            for k, step in enumerate(STEPS, start=1)
        ],
        notes=[],
        facts=facts,
        reading=ev.cols.reading,
    )


def _explain(frame: pd.DataFrame, reading: Reading) -> Iterator[list[CriteriaVerdict]]:
    readings = evaluate_readings(frame, ("strict",) if reading == "strict" else ("strict", reading))
    ev, strict = readings[reading], readings["strict"]
    keys = {criteria.id: first_met(ev.categories[criteria.id]) for criteria in CRITERIA_SETS}
    # what could change a verdict is read strictly, whatever the reading (:func:`undecided_before_met`)
    categories = {c.id: truth_codes(list(strict.categories[c.id].values())).T.tolist() for c in CRITERIA_SETS}
    steps = truth_codes([strict.steps[step.id] for step in STEPS]).T.tolist()
    for i in range(len(ev.labels)):
        verdicts = {c.id: _set_verdict(c, ev, strict, keys[c.id], bool(undecided_before_met(categories[c.id][i])), i)
                    for c in CRITERIA_SETS}
        yield [*verdicts.values(), _cascade_verdict(ev, verdicts, undecided_before_met(steps[i]), i)]


def explain_criteria(frame: pd.DataFrame, reading: Reading = "strict") -> list[CriteriaVerdict]:
    """Verdicts of EFNS/PNS 2010 MMN, EAN/PNS 2021 CIDP, Gold Coast 2020 ALS and the rule-based cascade for
    a one-row canonical frame, each with all its elements (status, fields used, missing fields)."""
    if not isinstance(frame, pd.DataFrame) or len(frame) != 1:
        rows = len(frame) if isinstance(frame, pd.DataFrame) else type(frame).__name__
        raise ValueError(f"explain_criteria takes a one-row DataFrame (one patient), got {rows}")
    return next(_explain(frame, reading))


def explain_criteria_batch(frame: pd.DataFrame, reading: Reading = "strict") -> list[list[CriteriaVerdict]]:
    """:func:`explain_criteria` for every row of a frame, evaluating the criteria once for all rows (what
    serving needs for a batch: one vectorised evaluation, then one explanation object per patient)."""
    return list(_explain(frame, reading))
