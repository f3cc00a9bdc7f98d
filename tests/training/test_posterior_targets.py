"""Posterior targets: the weighted rows are the soft cross-entropy, each patient gets its own world's posterior,
and fitting them gets closer to the Bayes answer than fitting the drawn diagnoses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data import DIAGNOSES, draw_worlds, generate_cohort, posterior
from mmn_ddx.features import ClinicalFeatures, fields_unseen_in
from mmn_ddx.training.fitting.candidates import labels
from mmn_ddx.training.fitting.models import get_family
from mmn_ddx.training.fitting.posterior_targets import MIN_TARGET, generate_with_targets, weighted_rows
from mmn_ddx.training.fitting.refit import LARGE_DATA_GRIDS, POSTERIOR_TARGET_GRIDS

MODE = "at-presentation"
K = len(DIAGNOSES)


def test_weighted_rows_are_the_balanced_soft_cross_entropy() -> None:
    rng = np.random.default_rng(0)
    targets = rng.dirichlet(np.full(K, 0.5), size=200)
    targets[:20, 0] = MIN_TARGET / 10  # left out
    targets /= targets.sum(axis=1, keepdims=True)
    X = rng.normal(size=(200, 3))
    rows, codes, weights = weighted_rows(X, targets)
    kept = targets >= MIN_TARGET
    patient = np.repeat(np.arange(200), kept.sum(axis=1))
    assert len(rows) == kept.sum() and not ((patient < 20) & (codes == 0)).any()
    np.testing.assert_array_equal(rows, X[patient])
    balanced = targets * (len(targets) / (K * targets.sum(axis=0)))
    np.testing.assert_allclose(np.bincount(codes, weights=weights, minlength=K), (balanced * kept).sum(axis=0))
    predicted = rng.dirichlet(np.ones(K), size=200)
    soft = -(balanced * np.log(predicted) * kept).sum()
    np.testing.assert_allclose(-(weights * np.log(predicted[patient, codes])).sum(), soft)


def test_weighted_rows_refuse_a_diagnosis_without_weight() -> None:
    with pytest.raises(ValueError, match="no weight"):
        weighted_rows(np.zeros((2, 1)), np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))


def test_one_hot_targets_fit_exactly_like_their_labels() -> None:
    frame = generate_cohort(400, seed=4)
    X = ClinicalFeatures(mode=MODE).fit(frame).transform(frame)
    y = labels(frame)
    family = get_family("logistic")
    params = family.quick_grid[0]
    by_labels = family.fit(params, X, y, seed=0)
    by_targets = family.fit(params, X, y, seed=0, targets=np.eye(K)[y])
    np.testing.assert_allclose(by_targets.predict_proba(X), by_labels.predict_proba(X), atol=1e-8)


def test_each_patient_gets_the_posterior_of_its_own_world() -> None:
    worlds = draw_worlds(2, seed=1)
    targeted = generate_with_targets(120, seed=6, world=worlds, mode=MODE)
    pd.testing.assert_frame_equal(targeted.frame, generate_cohort(120, seed=6, world=worlds))
    which = generate_cohort(120, seed=6, world=worlds, return_latents=True)["latent_world"].to_numpy()
    for k, world in enumerate(worlds.worlds):
        rows = which == k
        expected = posterior(targeted.frame[rows], exclude=fields_unseen_in(MODE), world=world)
        np.testing.assert_allclose(targeted.targets[rows], expected)


def test_fitting_the_posterior_gets_closer_to_it_than_fitting_the_drawn_diagnoses() -> None:
    train = generate_with_targets(1500, seed=8, world=None, mode=MODE)
    test = generate_with_targets(500, seed=9, world=None, mode=MODE)
    features = ClinicalFeatures(mode=MODE).fit(train.frame)
    X, X_test = features.transform(train.frame), features.transform(test.frame)
    y = labels(train.frame)
    family = get_family("xgboost")
    params = {"n_estimators": 100, "learning_rate": 0.3, "max_depth": 3}

    def divergence(targets: np.ndarray | None) -> float:
        predicted = family.fit(params, X, y, seed=0, targets=targets).predict_proba(X_test)
        return float((test.targets * np.log(np.maximum(test.targets, 1e-300) / predicted)).sum(axis=1).mean())

    assert divergence(train.targets) < 0.8 * divergence(None)


def test_the_large_data_grids_sample_no_columns_and_the_small_data_grid_still_does() -> None:
    """Column sampling regularises a fit on a few thousand patients; on hundreds of thousands of patients it only
    costs accuracy (refit.py's measurements): the option reaches the estimator, per grid."""
    family = get_family("xgboost")
    large = [*LARGE_DATA_GRIDS["xgboost"], *POSTERIOR_TARGET_GRIDS["xgboost"][1:]]
    assert all(family.build(p, 0).get_params()["colsample_bytree"] == 1.0 for p in large)
    assert all(family.build(p, 0).get_params()["colsample_bytree"] == 0.5 for p in family.grid)
