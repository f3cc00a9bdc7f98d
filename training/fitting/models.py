"""The candidate model families: each an estimator on the engineered features, with a small grid.

Every family is wrapped as ``Pipeline(ClinicalFeatures(mode) -> estimator)`` for export, but the search
and cross-validation run on the engineered matrix computed once: :class:`features.ClinicalFeatures` is
stateless (guideline definitions, nothing learned from the cohort), so precomputing it cannot leak
information between folds and saves one feature pass per fit.

Class imbalance: every family is fitted with balanced class weights, so the model estimates the
posterior under equal prevalences, the same population as the generator's default and
``data.exact_posterior.posterior``'s default ceiling (user cohorts are rarely balanced).

Simplicity order (logistic < forest < xgboost) breaks log-loss ties when choosing the champion.
Grids are deliberately small: the whole ``train --synthetic 5000`` must finish in 3 minutes on 2 cores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xgboost as xgb
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight
from threadpoolctl import threadpool_limits

from mmn_ddx.features import ClinicalFeatures
from mmn_ddx.training.artifact.estimators import raw_output
from mmn_ddx.training.fitting.posterior_targets import weighted_rows

Params = dict[str, Any]
N_JOBS = 1
"""Threads per fit. One: parallelism comes from running outer folds in separate processes
(:mod:`training.search`). Threads degrade catastrophically when the cores are oversubscribed, e.g. by
pytest-xdist (measured: a 2-thread XGBoost fit 20x slower than a 1-thread fit; the logistic regression's
2-thread OpenBLAS 20x slower than 1 thread), while processes over folds degrade gracefully."""


@dataclass(frozen=True)
class Family:
    """One candidate model family: how to build it, its grid, and how to read its raw output."""

    name: str
    simplicity: int
    """Rank used to break log-loss ties: lower is simpler."""
    build: Callable[[Params, int], Any]
    grid: tuple[Params, ...]
    quick_grid: tuple[Params, ...]
    output: str
    """``"logits"`` (temperature-scaled) or ``"probability"`` (shrunk towards uniform)."""

    def fit(self, params: Params, X: np.ndarray, y: np.ndarray, seed: int,
            targets: np.ndarray | None = None) -> Any:
        """Fit a fresh estimator with balanced sample weights, BLAS/OpenMP limited to :data:`N_JOBS` threads.

        ``targets``: (n, K) probabilities to fit instead of the labels ``y`` (the exact posterior of
        synthetic patients, :mod:`training.fitting.posterior_targets`)."""
        estimator = self.build(params, seed)
        if targets is None:
            weights = compute_sample_weight("balanced", y)
        else:
            X, y, weights = weighted_rows(X, targets)
        last = estimator.steps[-1][0] if isinstance(estimator, Pipeline) else None
        key = f"{last}__sample_weight" if last else "sample_weight"
        with threadpool_limits(limits=N_JOBS):
            return estimator.fit(X, y, **{key: weights})

    @staticmethod
    def class_prior(y: np.ndarray, n_classes: int) -> np.ndarray:
        """The class mix the fit sees: each class's share of the sample weights :meth:`fit` passes (balanced
        weights make it uniform over the classes present, whatever the cohort's own mix). Recorded in the
        bundle, so a clinical setting is applied relative to it, never to an assumed prior."""
        totals = np.bincount(y, weights=compute_sample_weight("balanced", y), minlength=n_classes)
        return np.round(totals / totals.sum(), 12)  # 0.25, not 0.25 + 1e-16: the balanced setting is then exact

    def raw_output(self, estimator: Any, X: np.ndarray) -> np.ndarray:
        """Logits (n, K) for logit families, probabilities (n, K) for the forest (read as the bundle reads them)."""
        return raw_output(estimator, X)


def _logistic(params: Params, seed: int) -> Pipeline:
    """Median imputation + missing indicators (a null is information, not 'normal') + scaling."""
    return Pipeline([
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
        ("scale", StandardScaler()),
        ("classify", LogisticRegression(C=params["C"], max_iter=1000, random_state=seed)),
    ])


def _forest(params: Params, seed: int) -> RandomForestClassifier:
    """Native missing-value support (scikit-learn >= 1.4): nulls are routed, not imputed."""
    return RandomForestClassifier(
        n_estimators=params.get("n_estimators", 150),
        max_depth=params["max_depth"],
        min_samples_leaf=params["min_samples_leaf"],
        max_features="sqrt",
        n_jobs=N_JOBS,
        random_state=seed,
    )


def _xgboost(params: Params, seed: int) -> xgb.XGBClassifier:
    """Native missing values (NaN = unknown).

    Depth is capped at 3 for serving: trees of at most 7 splits have their exact TreeSHAP values
    tabulated (:mod:`training.shap_tables`, ~0.1 ms per patient for 300 rounds x 4 classes); deeper trees
    need XGBoost's ``pred_contribs`` per call (~0.9 ms at depth 3, ~2.5 ms at depth 4; the single-patient
    budget is 5 ms for everything). On 5 000 patients depth 3 also fits better than depth 4 or 5
    (learning-curve runs: log-loss 0.167 vs 0.170 vs 0.174 on 20 000 test patients).
    """
    return xgb.XGBClassifier(
        objective="multi:softprob",
        n_estimators=params["n_estimators"],
        learning_rate=params["learning_rate"],
        max_depth=params["max_depth"],
        min_child_weight=params.get("min_child_weight", 2.0),
        subsample=0.8,
        colsample_bytree=params.get("colsample_bytree", 0.5),
        reg_lambda=params.get("reg_lambda", 1.0),
        tree_method="hist",
        n_jobs=N_JOBS,
        random_state=seed,
    )


FAMILIES: dict[str, Family] = {
    "logistic": Family(
        name="logistic",
        simplicity=0,
        build=_logistic,
        grid=({"C": 0.03}, {"C": 0.1}, {"C": 0.3}),
        quick_grid=({"C": 0.1},),
        output="logits",
    ),
    "forest": Family(
        name="forest",
        simplicity=1,
        build=_forest,
        grid=({"max_depth": 12, "min_samples_leaf": 3}, {"max_depth": None, "min_samples_leaf": 5}),
        quick_grid=({"max_depth": 10, "min_samples_leaf": 3, "n_estimators": 100},),
        output="probability",
    ),
    "xgboost": Family(
        name="xgboost",
        simplicity=2,
        build=_xgboost,
        grid=(
            {"n_estimators": 300, "learning_rate": 0.05, "max_depth": 3},
            {"n_estimators": 300, "learning_rate": 0.1, "max_depth": 2},
            {"n_estimators": 200, "learning_rate": 0.1, "max_depth": 3},
        ),
        quick_grid=({"n_estimators": 150, "learning_rate": 0.1, "max_depth": 3},),
        output="logits",
    ),
}
FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)


def get_family(name: str) -> Family:
    """The family called ``name``, or a ``ValueError`` naming the choices."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; choose from {', '.join(FAMILY_NAMES)}")
    return FAMILIES[name]


def assemble(mode: str, estimator: Any, frame_fitted_on: Any) -> Pipeline:
    """The exported pipeline: the stateless clinical features (fitted on the frame) -> the fitted estimator."""
    features = ClinicalFeatures(mode=mode).fit(frame_fitted_on)
    return Pipeline([("features", features), ("model", estimator)])




def describe_params(params: Mapping[str, Any]) -> str:
    """Short, stable text of a parameter set (for tables and MLflow tags)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
