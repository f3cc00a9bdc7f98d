"""SHAP contributions by clinical finding, worded for a neurologist.

The model explains itself per engineered feature (TreeSHAP: ``base + sum(features) == output`` for
every class, on the log-odds scale whose softmax is the calibrated probability). A neurologist thinks in
findings ("conduction block", "anti-GM1"), so the features are summed per finding through the one
feature -> finding map (:mod:`features.findings`). Summation keeps additivity exactly: the findings'
sums add up to the same output as the features' contributions.

A contribution moves one class's score, not its probability: with a softmax, a finding adding +0.18 to
MMN's score and more to MND's lowers MMN's probability. So each finding also carries its *effect* on each
class (:func:`training.artifact.finding_effects`: the change of the class's log-odds against the others when
the finding is taken out), and the effect is what its words say and what it is shown and sorted by: each
finding is worded by :mod:`serving.wording` (the patient's actual values and the direction for the predicted
class), "definite conduction block in 3 of 8 motor nerves: towards MMN".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from mmn_ddx.data import DIAGNOSES
from mmn_ddx.features import feature_map, finding_name
from mmn_ddx.serving.result import Explanation, FeatureContributions
from mmn_ddx.serving.wording import DESCRIBERS, NEUTRAL, directions, joined, sentence
from mmn_ddx.serving.wording.findings import Describe
from mmn_ddx.training.artifact import finding_effects, largest_effects

__all__ = ["NEUTRAL", "FindingMap", "build_explanation", "finding_effects", "finding_map", "finding_order", "sentence"]

@dataclass(frozen=True)
class FindingMap:
    """Feature columns -> finding groups as a 0/1 matrix, so one matrix product sums a whole batch."""

    mode: str
    features: tuple[str, ...]
    feature_groups: tuple[str, ...]
    groups: tuple[str, ...]
    labels: tuple[str, ...]
    membership: np.ndarray
    """(n features, n groups): 1 where the feature belongs to the group."""
    describers: tuple[Describe, ...]
    """Each group's describer (:data:`serving.wording.DESCRIBERS`), looked up once: called for every finding of
    every explanation with the map's (checked) mode."""

    def known(self, feature_values: np.ndarray) -> dict[str, float]:
        """One patient's model input row by feature name, for the describers (see ``describe_finding``)."""
        return dict(zip(self.features, feature_values.tolist(), strict=True))

    def sums(self, contributions: np.ndarray) -> np.ndarray:
        """(n, features, classes) -> (n, groups, classes): contributions summed per finding (one broadcast
        matrix product, (groups, features) @ (n, features, classes): ~20 times faster than ``einsum`` here)."""
        return self.membership.T @ contributions


@cache
def finding_map(mode: str, features: tuple[str, ...]) -> FindingMap:
    """The map for the model's own feature columns (in the model's order).

    Raises ``ValueError`` naming any model feature the finding map does not know: an explanation must
    never silently drop part of the model output.
    """
    table = feature_map(mode)
    unknown = [name for name in features if name not in table]
    if unknown:
        raise ValueError(f"model features missing from the feature->finding map ({mode}): {unknown}")
    feature_groups = tuple(table[name].group for name in features)
    groups = tuple(dict.fromkeys(finding.group for finding in table.values() if finding.group in feature_groups))
    membership = np.zeros((len(features), len(groups)))
    membership[np.arange(len(features)), [groups.index(g) for g in feature_groups]] = 1.0
    return FindingMap(mode, features, feature_groups, groups, tuple(finding_name(g) for g in groups), membership,
                      tuple(DESCRIBERS[g] for g in groups))


def finding_order(effects: np.ndarray, predicted: int) -> np.ndarray:
    """Findings sorted by the size of their effect on the predicted class (:func:`finding_effects`, largest
    first): the number shown beside their words, so the list reads from the largest down."""
    return largest_effects(effects[None], np.array([predicted]))[0]


def build_explanation(
    fmap: FindingMap,
    contributions: np.ndarray,
    base_values: np.ndarray,
    group_sums: np.ndarray,
    feature_values: np.ndarray,
    record: Mapping[str, Any],
    predicted: int,
    method: str,
    scale: str = "log-odds",
    *,
    base_shift: np.ndarray | None = None,
) -> Explanation:
    """One patient's explanation: ``contributions`` (features, classes), ``group_sums`` (groups, classes).

    ``base_shift``: the clinical setting's ``log(pre-test / training prior)``, already in ``base_values``.
    Arrays are converted with ``tolist`` once (not element by element), and the result is validated in
    one pydantic call from plain dicts (a model instance per entry costs four times as much), except the
    per-feature columns, which are built as they are (see below).
    """
    outputs = base_values + contributions.sum(axis=0)
    neutral = NEUTRAL[scale]
    sums = group_sums.tolist()
    known = fmap.known(feature_values)
    values = list(known.values())
    effects = finding_effects(group_sums, outputs, scale)
    order = finding_order(effects, predicted)
    moves = directions(effects[order], predicted, neutral)
    changes = effects.tolist()
    by_finding = []
    mode, groups, labels, describers = fmap.mode, fmap.groups, fmap.labels, fmap.describers
    for g, move in zip(order.tolist(), moves, strict=True):
        statement = describers[g](record, mode, known)
        by_finding.append({
            "finding": groups[g],
            "label": labels[g],
            "statement": statement,
            "contributions": dict(zip(DIAGNOSES, sums[g], strict=False)),  # a row per class: strict cost 1/3
            "effects": dict(zip(DIAGNOSES, changes[g], strict=False)),
            "sentence": joined(statement, move),
        })
    # not validated: ~700 plain values made right here by tolist (str, float, None), whose validation cost more than
    # the rest of the explanation; a test holds every explanation equal to its validated copy
    by_feature = FeatureContributions.model_construct(
        features=list(fmap.features),
        findings=list(fmap.feature_groups),
        values=[None if v != v else v for v in values],  # NaN -> None (unknown)
        contributions=dict(zip(DIAGNOSES, contributions.T.tolist(), strict=True)),
    )
    return Explanation.model_validate({
        "method": method,
        "scale": scale,
        "classes": list(DIAGNOSES),
        "base_values": _per_class(base_values),
        "outputs": _per_class(outputs),
        "by_finding": by_finding,
        "by_feature": by_feature,
        "base_shift": None if base_shift is None else _per_class(base_shift),
    })


def _per_class(values: np.ndarray) -> dict[str, float]:
    return dict(zip(DIAGNOSES, values.tolist(), strict=True))

