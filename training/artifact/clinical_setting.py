"""The clinical setting: probabilities for the population the tool is used in, not the one it learnt from.

A model's calibrated probability ``p(d | x)`` carries the class mix it was trained on (its *training
prior*, recorded in the bundle's metadata). In a clinic whose pre-test probabilities are ``pi_s``, Bayes'
rule with the same class-conditional likelihoods (label shift: the findings of an MMN patient do not
depend on how many MMN patients the clinic sees) gives

    p_s(d | x) = p(d | x) * pi_s(d) / pi_train(d) / sum_c p(c | x) * pi_s(c) / pi_train(c)

(Saerens, Latinne & Decaestecker, Neural Computation 2002). On the log-odds scale this adds the constant
``log(pi_s(d) / pi_train(d))`` to every class's logit: the SHAP contributions of the findings are
unchanged, only the base (prior) term moves.

The settings are the generator's class-prior presets (``data/priors.yaml``, via
:data:`mmn_ddx.data.CLASS_PRIOR_PRESETS`): one source for the training world, the benchmark's
re-weighting and the served probabilities.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import numpy as np

from mmn_ddx.data import CLASS_PRIOR_PRESETS, DIAGNOSES

SETTINGS: tuple[str, ...] = tuple(CLASS_PRIOR_PRESETS)
"""The settings a prediction may be asked for: ``balanced``, ``new-patients``, ``follow-up``, ``referral``."""
DEFAULT_SETTING = "referral"
"""The intended-use population the README names: a neuromuscular referral clinic seeing asymmetric,
motor-predominant or LMN-predominant weakness (literature-priors.md section 10, an estimate)."""

Setting = enum.StrEnum("Setting", {name: name for name in SETTINGS})  # type: ignore[misc]
"""The settings as an enum, for the choices of the CLI option and of the HTTP parameter (and their docs)."""


class SettingError(ValueError):
    """An unknown setting name; the message lists the allowed ones."""


def check_setting(name: str) -> str:
    """``name`` if it is a preset, else :class:`SettingError` listing the allowed settings."""
    if name not in CLASS_PRIOR_PRESETS:
        raise SettingError(f"setting: unknown clinical setting {name!r}; allowed: {', '.join(SETTINGS)}")
    return name


def pre_test_probabilities(name: str) -> dict[str, float]:
    """The setting's pre-test probability of each diagnosis, in ``DIAGNOSES`` order, summing to 1."""
    preset = CLASS_PRIOR_PRESETS[check_setting(name)]
    total = sum(float(preset.get(d, 0.0)) for d in DIAGNOSES)
    return {d: float(preset.get(d, 0.0)) / total for d in DIAGNOSES}


def as_vector(prior: Mapping[str, float]) -> np.ndarray:
    """A prior by diagnosis as a vector in ``DIAGNOSES`` order."""
    return np.array([float(prior[d]) for d in DIAGNOSES], dtype=np.float64)


def log_shift(name: str, training_prior: Mapping[str, float]) -> np.ndarray:
    """``log(pi_s / pi_train)`` per class: what the setting adds to every logit (and to the base)."""
    pre_test = as_vector(pre_test_probabilities(name))
    train = as_vector(training_prior)
    if (train <= 0).any():
        raise ValueError("the training prior gives a diagnosis zero weight: no setting can be applied")
    with np.errstate(divide="ignore"):
        return np.log(pre_test) - np.log(train)


def adjust(probs: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Probabilities (n, K) moved to a setting by Bayes' rule (``shift`` from :func:`log_shift`).

    A zero shift returns ``probs`` itself: the training population is served bit for bit.
    """
    if not shift.any():
        return probs
    weighted = probs * np.exp(shift)
    return weighted / weighted.sum(axis=1, keepdims=True)
