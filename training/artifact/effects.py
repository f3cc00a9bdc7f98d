"""What a group of SHAP contributions does to each class's odds: the quantity a direction in words states.

On the log-odds scale the contributions are additive on the per-class scores (softmax logits), but a class's
probability depends on its score *relative to the others'*: a finding adding +0.18 to MMN's score and +0.40 to
MND's lowers MMN's probability. The effect of a finding on a class is the exact change of that class's
log-odds against all the other classes when the finding is taken out,
``phi_c - lse_(k != c)(o_k) + lse_(k != c)(o_k - phi_k)``; its sign is the direction of the class's
probability. Log-odds, not log-probability: near certainty every finding changes log p by almost nothing,
while the odds still move by what the finding contributes. Effects do not add up (the contributions do).

Numpy only, no scipy: it runs for every finding of every patient (a batch of 10 000 patients has ~240 000).
"""

from __future__ import annotations

from functools import cache

import numpy as np


def finding_effects(group_sums: np.ndarray, outputs: np.ndarray, scale: str) -> np.ndarray:
    """Each finding's effect on each class: ``group_sums`` (..., findings, classes) with the model ``outputs``
    broadcastable to them, e.g. (classes,) for one patient or (patients, 1, classes) for a batch.

    On the probability scale the contributions are the effects (``group_sums`` itself is returned); on the
    log-odds scale, the change of each class's log-odds against the others (module docstring, exact).
    """
    if scale != "log-odds":
        return group_sums
    return group_sums - _others_logsumexp(outputs) + _others_logsumexp(outputs - group_sums)


def largest_effects(effects: np.ndarray, predicted: np.ndarray, k: int | None = None) -> np.ndarray:
    """(patients, k) the findings with the largest absolute effect on each patient's ``predicted`` class (index),
    largest first, ties in finding order: the one order every entry point shows findings in. ``effects``:
    (patients, findings, classes) from :func:`finding_effects`; ``k`` None keeps every finding."""
    own = effects[np.arange(len(predicted)), :, predicted]  # (patients, findings)
    return np.argsort(-np.abs(own), axis=1, kind="stable")[:, :k]


def _others_logsumexp(outputs: np.ndarray) -> np.ndarray:
    """(..., classes): for each class ``c``, ``logsumexp`` of the outputs of the other classes (stable: the
    largest of them is taken out before ``exp``)."""
    others = outputs[..., _others(outputs.shape[-1])]  # (..., classes, classes - 1)
    top = others.max(axis=-1)
    return top + np.log(np.exp(others - top[..., None]).sum(axis=-1))


@cache
def _others(k: int) -> np.ndarray:
    """(k, k - 1): row ``c`` lists the classes other than ``c``."""
    return np.array([[j for j in range(k) if j != c] for c in range(k)])
