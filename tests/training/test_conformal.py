"""Split-conformal prediction sets: the finite-sample threshold, and ~90 % coverage on new patients."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import softmax

from mmn_ddx.data.contract import DIAGNOSES
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.training.artifact import conformal
from mmn_ddx.training.artifact.bundle import load_bundle


def test_threshold_is_the_finite_sample_quantile() -> None:
    probs = np.tile([0.7, 0.1, 0.1, 0.1], (9, 1))
    y = np.arange(9) % 4
    # scores: 0.3 where y == 0, else 0.9; rank ceil(10 * 0.8) = 8 of 9 sorted scores
    assert conformal.threshold(probs, y, coverage=0.8) == pytest.approx(0.9)
    assert conformal.threshold(probs[:3], y[:3], coverage=0.9) == 1.0  # too few patients: every class


def test_sets_always_hold_the_most_probable_class_and_are_ordered() -> None:
    probs = np.array([[0.1, 0.6, 0.2, 0.1], [0.4, 0.3, 0.2, 0.1]])
    assert conformal.prediction_sets(probs, qhat=0.0, classes=DIAGNOSES) == [["MND"], ["MMN"]]
    # qhat 0.85: every class with p >= 0.15
    assert conformal.prediction_sets(probs, qhat=0.85, classes=DIAGNOSES) == [["MND", "CIDP"], ["MMN", "MND", "CIDP"]]


def test_coverage_holds_on_exchangeable_synthetic_scores() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, size=(40000, 4))
    p = softmax(z, axis=1)
    y = (p.cumsum(axis=1) > rng.random((len(p), 1))).argmax(axis=1)
    qhat = conformal.threshold(p[:2000], y[:2000], 0.9)
    assert conformal.empirical_coverage(p[2000:], y[2000:], qhat) == pytest.approx(0.90, abs=0.02)


def test_bundle_sets_cover_about_90_percent_of_new_synthetic_patients(quick_bundle_dir: Path) -> None:
    bundle = load_bundle(quick_bundle_dir)
    cohort = generate_cohort(3000, seed=2024)
    y = cohort["diagnosis"].cat.codes.to_numpy()
    probs = bundle.predict_proba(cohort)
    covered = np.mean([DIAGNOSES[t] in s for t, s in zip(y, bundle.prediction_set(probs), strict=True)])
    # qhat comes from 400 held-out patients: coverage is >= 0.90 in expectation, within a few points here
    assert 0.87 <= covered <= 0.96
    sizes = np.array([len(s) for s in bundle.prediction_set(probs)])
    assert sizes.mean() < 2.0  # informative: most patients get one or two diagnoses
