"""Benchmark metrics: hand-computed examples, agreement with scikit-learn, calibration and the bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from mmn_ddx.training.evaluation.metrics import (
    ABSTAIN,
    METRIC_KEYS,
    NEGATIVE,
    K,
    Predictions,
    bootstrap_metrics,
    bootstrap_weights,
    importance_weights,
    percentile_ci,
    point_estimates,
    shift_priors,
)


def calibrated(n: int, seed: int, concentration: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and labels drawn from them: a perfectly calibrated predictor by construction."""
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.full(K, concentration), size=n)
    y = (proba.cumsum(axis=1) > rng.random(n)[:, None]).argmax(axis=1)
    return proba, y


def test_label_metrics_match_a_hand_computed_example_with_abstentions() -> None:
    y = np.array([0, 0, 0, 1, 1, 2, 3, 3])
    labels = np.array([0, 0, 1, 1, ABSTAIN, 2, 2, ABSTAIN])
    m = point_estimates(y, Predictions(labels=labels))
    # covered: 6 of 8 patients; correct among them: 0, 0, 1, 2 -> 4 of 6
    assert m["coverage"] == pytest.approx(6 / 8)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["accuracy_all"] == pytest.approx(4 / 8)
    # per class on covered patients: MMN 2/3, MND 1/1, CIDP 1/1, MADSAM 0/1
    assert m["sensitivity_MMN"] == pytest.approx(2 / 3)
    assert m["sensitivity_MND"] == pytest.approx(1.0)
    assert m["sensitivity_MADSAM"] == pytest.approx(0.0)
    # coverage per class: MND and MADSAM each have one of two patients abstained on
    assert [m[f"coverage_{d}"] for d in ("MMN", "MND", "CIDP", "MADSAM")] == pytest.approx([1.0, 0.5, 1.0, 0.5])
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1 + 1 + 0) / 4)
    # abstention counted as an error: MND 1/2, MADSAM 0/2
    assert m["balanced_accuracy_all"] == pytest.approx((2 / 3 + 1 / 2 + 1 + 0) / 4)
    # MND predicted twice (one true MND, one MMN) -> PPV 1/2; specificity: 1 false positive among 5 non-MND covered
    assert m["ppv_MND"] == pytest.approx(1 / 2)
    assert m["specificity_MND"] == pytest.approx(4 / 5)
    assert m["ppv_CIDP"] == pytest.approx(1 / 2)
    assert math.isnan(m["ppv_MADSAM"])  # never predicted: undefined, not 0
    assert all(math.isnan(m[name]) for name in ("macro_auroc", "log_loss", "brier", "ece"))


def test_detector_gets_only_its_own_per_class_metrics() -> None:
    """A single criteria set (here an MND detector) says MND, "not MND" or nothing."""
    y = np.array([1, 1, 1, 0, 2, 3])
    labels = np.array([1, 1, NEGATIVE, 1, NEGATIVE, ABSTAIN])
    m = point_estimates(y, Predictions(labels=labels, targets=(1,)))
    assert m["coverage"] == pytest.approx(5 / 6)
    assert m["sensitivity_MND"] == pytest.approx(2 / 3)
    assert m["specificity_MND"] == pytest.approx(1 / 2)
    assert m["ppv_MND"] == pytest.approx(2 / 3)
    for name in ("accuracy", "balanced_accuracy", "macro_f1", "sensitivity_MMN", "ppv_CIDP", "specificity_MADSAM"):
        assert math.isnan(m[name]), name


@pytest.mark.parametrize("weighted", [False, True])
def test_metrics_agree_with_scikit_learn(weighted: bool) -> None:
    proba, y = calibrated(3000, seed=1)
    proba = np.round(proba, 2)  # ties in the scores exercise the half-credit rule of the AUROC
    proba = proba / proba.sum(axis=1, keepdims=True)
    w = np.random.default_rng(2).uniform(0.2, 3.0, size=len(y)) if weighted else None
    pred = Predictions.from_proba(proba)
    m = point_estimates(y, pred, weights=w)
    labels = proba.argmax(axis=1)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, labels, sample_weight=w))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, labels, sample_weight=w))
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, labels, average="macro", sample_weight=w))
    recall = skm.recall_score(y, labels, average=None, sample_weight=w)
    precision = skm.precision_score(y, labels, average=None, sample_weight=w)
    for k, name in enumerate(("MMN", "MND", "CIDP", "MADSAM")):
        assert m[f"sensitivity_{name}"] == pytest.approx(recall[k])
        assert m[f"ppv_{name}"] == pytest.approx(precision[k])
        negative = y != k
        specificity = np.average(labels[negative] != k, weights=None if w is None else w[negative])
        assert m[f"specificity_{name}"] == pytest.approx(specificity)
    assert m["macro_auroc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr", sample_weight=w))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba, sample_weight=w))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, proba, sample_weight=w, labels=list(range(K))))


def test_a_diagnosis_absent_from_the_cohort_is_left_out_of_the_macro_averages_for_every_method() -> None:
    """Also where it is predicted: a model naming an absent diagnosis once and rules that never name it are
    averaged over the same diagnoses (scikit-learn's default macro F1 would count the model's as 0)."""
    proba, y = calibrated(600, seed=10)
    keep = y != 3  # no MADSAM patient, but MADSAM is still predicted sometimes
    proba, y = proba[keep], y[keep]
    labels = proba.argmax(axis=1)
    assert (labels == 3).any()
    m = point_estimates(y, Predictions.from_proba(proba))
    with pytest.warns(UserWarning, match="not in y_true"):
        assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, labels))
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, labels, average="macro", labels=[0, 1, 2]))
    assert m["macro_f1"] > skm.f1_score(y, labels, average="macro")
    assert math.isnan(m["sensitivity_MADSAM"]) and m["ppv_MADSAM"] == 0.0
    never_madsam = np.where(labels == 3, y, labels)  # the same predictions, MADSAM replaced by the truth
    rules = point_estimates(y, Predictions(labels=never_madsam))
    assert rules["macro_f1"] == pytest.approx(skm.f1_score(y, never_madsam, average="macro", labels=[0, 1, 2]))
    aurocs = [skm.roc_auc_score(y == k, proba[:, k]) for k in range(3)]
    assert m["macro_auroc"] == pytest.approx(np.mean(aurocs))


def test_expected_calibration_error_by_hand() -> None:
    """Two patients in the 0.6-bin (confidence 0.6 and 0.65, one right) and one certain, correct one."""
    proba = np.array([[0.6, 0.2, 0.1, 0.1], [0.65, 0.15, 0.1, 0.1], [1.0, 0.0, 0.0, 0.0]])
    y = np.array([0, 1, 0])
    m = point_estimates(y, Predictions.from_proba(proba))
    assert m["ece"] == pytest.approx(abs((0.6 - 1) + (0.65 - 0)) / 3)


def test_expected_calibration_error_is_near_zero_only_for_a_calibrated_predictor() -> None:
    proba, y = calibrated(100_000, seed=3)
    assert point_estimates(y, Predictions.from_proba(proba))["ece"] < 0.01
    sharpened = proba**3 / (proba**3).sum(axis=1, keepdims=True)  # over-confident
    assert point_estimates(y, Predictions.from_proba(sharpened))["ece"] > 0.05


def test_probability_metrics_use_covered_patients_only() -> None:
    proba, y = calibrated(500, seed=4)
    pred = Predictions.from_proba(proba)
    mask = np.arange(len(y)) % 3 != 0
    restricted = point_estimates(y, pred.restricted_to(mask))
    subset = point_estimates(y[mask], Predictions.from_proba(proba[mask]))
    assert restricted["coverage"] == pytest.approx(mask.mean())
    for name in ("accuracy", "macro_auroc", "log_loss", "brier", "ece", "ppv_MND"):
        assert restricted[name] == pytest.approx(subset[name]), name


def test_importance_weights_give_the_target_class_mix_and_shift_priors_is_bayes_rule() -> None:
    _, y = calibrated(2000, seed=5)
    target = np.array([0.01, 0.86, 0.10, 0.03])
    w = importance_weights(y, target)
    shares = np.bincount(y, weights=w, minlength=K) / w.sum()
    np.testing.assert_allclose(shares, target)
    proba = np.array([[0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]])
    np.testing.assert_allclose(shift_priors(proba, np.full(K, 0.25)), proba)
    np.testing.assert_allclose(shift_priors(proba[:1], target), target[None, :])
    shifted = shift_priors(proba[1:], target)[0]
    np.testing.assert_allclose(shifted, proba[1] * target / (proba[1] * target).sum())
    with pytest.raises(ValueError, match="MADSAM"):
        importance_weights(np.array([0, 1, 2]), target)


def test_bootstrap_ci_contains_the_estimate_and_shrinks_with_n() -> None:
    widths = []
    for n in (500, 4000):
        proba, y = calibrated(n, seed=6)
        pred = Predictions.from_proba(proba)
        estimate = point_estimates(y, pred)
        replicates = bootstrap_metrics(y, {"model": pred}, n_boot=300, seed=7)["model"]
        for name in ("accuracy", "macro_auroc", "log_loss", "brier", "sensitivity_MMN"):
            low, high = percentile_ci(replicates[name])
            assert low <= estimate[name] <= high, name
        low, high = percentile_ci(replicates["macro_auroc"])
        widths.append(high - low)
    # the width scales as 1/sqrt(n): 8x the patients, about 1/2.8 of the width
    assert widths[1] < 0.55 * widths[0]


def test_bootstrap_resamples_are_paired_and_reproducible() -> None:
    a, b = list(bootstrap_weights(100, 30, seed=1, chunk=7)), list(bootstrap_weights(100, 30, seed=1, chunk=7))
    assert sum(len(w) for w in a) == 30
    assert all(np.array_equal(x, z) for x, z in zip(a, b, strict=True))
    assert all((w.sum(axis=1) == 100).all() for w in a)
    proba, y = calibrated(400, seed=8)
    a_pred, b_pred = Predictions.from_proba(proba), Predictions.from_proba(proba.copy())  # scored separately
    reps = bootstrap_metrics(y, {"a": a_pred, "b": b_pred}, n_boot=50, seed=9)
    np.testing.assert_array_equal(reps["a"]["log_loss"], reps["b"]["log_loss"])
    assert np.std(reps["a"]["log_loss"]) > 0  # equal because paired, not because constant
    assert set(reps["a"]) == set(METRIC_KEYS)


def test_invalid_probabilities_are_rejected() -> None:
    with pytest.raises(ValueError, match="shape"):
        Predictions.from_proba(np.ones((3, 3)) / 3)
    with pytest.raises(ValueError, match="sum to 1"):
        Predictions.from_proba(np.full((2, K), 0.3))
    with pytest.raises(ValueError, match="finite"):
        Predictions.from_proba(np.array([[np.nan, 0.5, 0.25, 0.25]]))
