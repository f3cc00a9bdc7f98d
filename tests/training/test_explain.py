"""Exact additive SHAP for every family: base + sum of contributions == the served output, to 1e-6,
with calibration folded in; no silent fallback to an approximate explainer."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.neighbors import KNeighborsClassifier

from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.features import ClinicalFeatures
from mmn_ddx.training.artifact.calibration import Calibration
from mmn_ddx.training.artifact.explain import Explainer
from mmn_ddx.training.fitting.models import get_family

SMALL = {
    "logistic": {"C": 0.1},
    "forest": {"max_depth": 6, "min_samples_leaf": 5, "n_estimators": 30},
    "xgboost": {"n_estimators": 40, "learning_rate": 0.2, "max_depth": 3},
}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cohort = generate_cohort(900, seed=11)
    X = ClinicalFeatures().fit(cohort).transform(cohort)
    y = cohort["diagnosis"].cat.codes.to_numpy()
    return X[:700], y[:700], X[700:]


@pytest.mark.parametrize("name", list(SMALL))
def test_contributions_add_up_to_the_calibrated_output(
    name: str, data: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    X, y, X_new = data
    family = get_family(name)
    estimator = family.fit(SMALL[name], X, y, seed=0)
    calibration = Calibration("temperature", 1.7) if family.output == "logits" else Calibration("uniform_mix", 0.03)
    served = calibration.probabilities(family.raw_output(estimator, X_new))
    attribution = Explainer(estimator, X.shape[1])(X_new).calibrated(calibration)
    assert attribution.values.shape == (len(X_new), X.shape[1], 4)
    output = attribution.base_values + attribution.values.sum(axis=1)
    implied = softmax(output, axis=1) if attribution.scale == "log-odds" else output
    np.testing.assert_allclose(implied, served, atol=1e-6)
    assert attribution.scale == ("probability" if name == "forest" else "log-odds")


def test_linear_shap_credits_a_missing_value_to_its_own_feature(
    data: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    """The missing indicator's term belongs to the feature that is missing, not to another one."""
    X, y, X_new = data
    family = get_family("logistic")
    estimator = family.fit(SMALL["logistic"], X, y, seed=0)
    column = int(np.flatnonzero(np.isnan(X).any(axis=0))[0])
    row = X_new[:1].copy()
    known, unknown = row.copy(), row.copy()
    known[0, column] = np.nanmedian(X[:, column])
    unknown[0, column] = np.nan
    explain = Explainer(estimator, X.shape[1])
    diff = explain(unknown).values[0] - explain(known).values[0]
    others = np.delete(diff, column, axis=0)
    np.testing.assert_allclose(others, 0.0, atol=1e-12)
    assert np.abs(diff[column]).max() > 0


def test_no_explainer_for_an_unknown_model_rather_than_an_approximation() -> None:
    model = KNeighborsClassifier(3).fit(np.eye(4), np.arange(4))
    with pytest.raises(TypeError, match="no exact explainer"):
        Explainer(model, 4)


def test_explanations_are_per_patient(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """A batch explanation equals the explanations of its rows one at a time (vectorised, not mixed)."""
    X, y, X_new = data
    estimator = get_family("xgboost").fit(SMALL["xgboost"], X, y, seed=0)
    explain = Explainer(estimator, X.shape[1])
    batch = explain(X_new[:5]).values
    single = np.concatenate([explain(X_new[i : i + 1]).values for i in range(5)])
    np.testing.assert_allclose(batch, single, atol=1e-6)
    assert not np.allclose(batch[0], batch[1])


