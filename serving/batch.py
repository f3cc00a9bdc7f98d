"""Batch scoring to a table: one row per patient, for ``mmn-ddx predict cohort.csv -o out.csv``.

A file of thousands of patients needs a flat table, not thousands of nested result objects: the rows are
cut straight from the predictor's vectorised :class:`~serving.predictor.Scored` arrays, with the same
words as the full results (the top findings' sentences, the rule-based label, the warning codes), so a
row never disagrees with ``Predictor.predict`` for the same patient (a test holds it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data import DIAGNOSES, ID_FIELD
from mmn_ddx.serving import alerts, explanation
from mmn_ddx.serving.predictor import Predictor, Scored
from mmn_ddx.serving.wording import directions, joined
from mmn_ddx.serving.wording.findings import READS_FEATURES
from mmn_ddx.training.artifact import largest_effects

TOP_FINDINGS = 3
PROBABILITY_COLUMNS: tuple[str, ...] = tuple(f"p_{d}" for d in DIAGNOSES)
COLUMNS: tuple[str, ...] = (
    ID_FIELD, "predicted_diagnosis", *PROBABILITY_COLUMNS, "prediction_set", "coverage", "top_findings",
    "criteria_label", "criteria_label_chart_review", "criteria_agree", "warnings", "setting",
)
"""Output columns; ``next_test`` is added when requested. ``setting``: the clinical setting the
probabilities are for (the prediction set's membership stays on the training population's scale, its order is
the setting's, as in the full result)."""
SEPARATOR = " | "


def score_table(predictor: Predictor, frame: pd.DataFrame, *, top_k: int = TOP_FINDINGS,
                with_next_test: bool = False, setting: str | None = None) -> pd.DataFrame:
    """Score a *validated canonical* frame (``serving.records.validate_frame``) to one row per patient,
    with the probabilities for the clinical ``setting`` (default: the intended-use population)."""
    scored = predictor.score(frame, with_next_test=with_next_test, setting=setting)
    predicted = scored.predicted
    labels = scored.criteria.labels
    rows: dict[str, Any] = {ID_FIELD: scored.patient_ids, "predicted_diagnosis": [DIAGNOSES[k] for k in predicted]}
    for j, column in enumerate(PROBABILITY_COLUMNS):
        rows[column] = scored.probs[:, j]
    rows["prediction_set"] = [SEPARATOR.join(s) for s in scored.sets]
    rows["coverage"] = np.full(len(frame), predictor.bundle.coverage)
    effects = explanation.finding_effects(scored.group_sums, scored.attribution.outputs[:, None, :],
                                          scored.attribution.scale)  # (patients, findings, classes)
    order = largest_effects(effects, scored.predicted, top_k)  # explanation.finding_order's (a test holds it)
    rows["top_findings"] = _top_findings(predictor, scored, effects, order)
    rows["criteria_label"] = labels
    rows["criteria_label_chart_review"] = scored.criteria.labels_by_reading["chart-review"]
    agrees = [None if label not in DIAGNOSES else label == DIAGNOSES[k]
              for label, k in zip(labels, predicted, strict=True)]
    rows["criteria_agree"] = pd.array(agrees, dtype="boolean")
    rows["warnings"] = alerts.warning_codes(
        synthetic=predictor.synthetic, ood=scored.ood, recorded=scored.recorded, total=scored.n_optional,
        motor_ncs_done=scored.motor_ncs_done, unread=np.asarray(scored.unread_responses.any(axis=1)),
        disagrees=np.array([a is False for a in agrees], dtype=bool))
    rows["setting"] = np.full(len(frame), scored.setting, dtype=object)
    if with_next_test and scored.next_tests is not None:
        rows["next_test"] = [None if t is None else t.test for t in scored.next_tests]
    return pd.DataFrame(rows, index=frame.index)


def _top_findings(predictor: Predictor, scored: Scored, effects: np.ndarray, order: np.ndarray) -> list[str]:
    """Per patient, the sentences of the findings at ``order`` (patients, k), joined. The directions are
    worded for the whole batch at once, from ``effects`` (patients, findings, classes); each statement reads the
    patient's record and model input."""
    fmap = predictor.findings
    n, k = order.shape
    patients = np.repeat(np.arange(n), k)
    moves = directions(effects[patients, order.ravel()], scored.predicted[patients],
                       explanation.NEUTRAL[scored.attribution.scale])
    features = scored.attribution.feature_values
    out = []
    reads_features = [group in READS_FEATURES for group in fmap.groups]
    describers, mode = fmap.describers, fmap.mode
    for i, top in enumerate(order.tolist()):
        # the model input by name as a plain dict (derived findings read ~25 of its ~110 values twice), made
        # only for a patient with such a finding among the top ones: the others' describers ignore it
        record = scored.columns.row(i)
        known = fmap.known(features[i]) if any(reads_features[g] for g in top) else None
        out.append(SEPARATOR.join(
            joined(describers[g](record, mode, known), moves[i * k + j])
            for j, g in enumerate(top)))
    return out

