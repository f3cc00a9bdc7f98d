"""A finding's effect on each class's odds: exact, for one patient or a batch, and stable at extreme scores."""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

from mmn_ddx.training.artifact import finding_effects


def _log_odds(scores: np.ndarray) -> np.ndarray:
    p = softmax(scores, axis=-1)
    return np.log(p) - np.log1p(-p)


def test_the_effect_is_the_change_of_each_class_log_odds_without_the_finding() -> None:
    rng = np.random.default_rng(0)
    outputs = rng.normal(scale=2.0, size=(50, 4))
    sums = rng.normal(size=(50, 7, 4))
    effects = finding_effects(sums, outputs[:, None, :], "log-odds")  # a batch: (patients, findings, classes)
    assert effects.shape == sums.shape
    expected = _log_odds(outputs)[:, None, :] - _log_odds(outputs[:, None, :] - sums)
    np.testing.assert_allclose(effects, expected, atol=1e-9)
    np.testing.assert_array_equal(finding_effects(sums[3], outputs[3], "log-odds"), effects[3])  # one patient


def test_a_finding_raising_the_class_score_can_lower_its_odds() -> None:
    """The audit's case: +0.18 on MMN's score, more on MND's: MMN's odds fall."""
    effects = finding_effects(np.array([[0.18, 0.60, 0.0, 0.0]]), np.array([2.4, 0.3, -7.0, -1.0]), "log-odds")[0]
    assert effects[0] < 0 < effects[1]


def test_extreme_scores_give_finite_exact_effects() -> None:
    """Scores far beyond exp's range (a near-certain class) do not overflow: the largest is taken out first."""
    outputs = np.array([900.0, 0.0, -5.0, -900.0])
    sums = np.array([[4.0, -1.0, 0.5, 0.0]])
    effects = finding_effects(sums, outputs, "log-odds")[0]
    assert np.isfinite(effects).all()
    # MMN against the others (MND, CIDP; MADSAM's exp(-900) is nothing), with and without the finding
    expected = 4.0 - np.logaddexp(0.0, -5.0) + np.logaddexp(0.0 + 1.0, -5.0 - 0.5)
    np.testing.assert_allclose(effects[0], expected, atol=1e-12)
    np.testing.assert_allclose(effects[3], 0.0 - np.logaddexp(900.0, 0.0) + np.logaddexp(896.0, 1.0), atol=1e-9)


def test_on_the_probability_scale_the_contributions_are_the_effects() -> None:
    sums = np.array([[0.1, -0.1, 0.0, 0.0]])
    assert finding_effects(sums, np.array([0.5, 0.3, 0.1, 0.1]), "probability") is sums
