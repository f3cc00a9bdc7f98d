"""What the artifact needs to know about the fitted estimator: how to read it, trust it and bound its threads.

The bundle serves whichever family won (logistic regression, random forest, XGBoost) without knowing how it
was fitted (:mod:`mmn_ddx.training.fitting.models` builds them); serving never imports the model library.
Everything that depends on the estimator's library is here, decided from the fitted object itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np

from mmn_ddx.features import TRUSTED_TYPES

Output = Literal["logits", "probability"]

ESTIMATOR_TRUSTED_TYPES: list[str] = [
    "numpy.dtype",  # SimpleImputer keeps the dtype it was fitted on
    "sklearn.pipeline.Pipeline",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.impute._base.MissingIndicator",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._tree.Tree",
    "xgboost.sklearn.XGBClassifier",
    "xgboost.core.Booster",
]
"""Types of the candidate families' estimators that skops may load."""

SKOPS_TRUSTED_TYPES: list[str] = [*TRUSTED_TYPES, *ESTIMATOR_TRUSTED_TYPES]
"""Everything a bundle's skops files may contain: the project's transformers plus the estimators."""


def _is_xgboost(estimator: Any) -> bool:
    return hasattr(estimator, "get_booster")


def output_of(estimator: Any) -> Output:
    """``"logits"`` for estimators with a margin (XGBoost, linear models), else ``"probability"`` (the forest)."""
    return "logits" if _is_xgboost(estimator) or hasattr(estimator, "decision_function") else "probability"


def raw_output(estimator: Any, X: np.ndarray) -> np.ndarray:
    """Logits (n, K) for logit estimators, probabilities (n, K) for the forest."""
    if _is_xgboost(estimator):
        booster = estimator.get_booster()
        return np.asarray(booster.inplace_predict(X, predict_type="margin"), dtype=np.float64)
    if output_of(estimator) == "logits":
        return np.asarray(estimator.decision_function(X), dtype=np.float64)
    return np.asarray(estimator.predict_proba(X), dtype=np.float64)


def limit_threads(estimator: Any, threads: int) -> None:
    """Threads the model may use per call: 1 (default) for serving, more for a batch job.

    One patient is a few microseconds of tree traversal; with two OpenMP threads XGBoost's SHAP call for
    one row took 10-40 ms instead of ~1 ms on a busy 2-core machine (thread start-up and spinning), and a
    server gets its parallelism from concurrent requests anyway. A batch job (the CLI) asks for more.
    """
    if _is_xgboost(estimator):
        estimator.get_booster().set_param({"nthread": threads})
    elif hasattr(estimator, "n_jobs"):
        estimator.n_jobs = threads


@contextlib.contextmanager
def thread_context(estimator: Any, threads: int) -> Iterator[None]:
    """XGBoost's thread-local configuration (it also caps DMatrix building); nothing for other libraries."""
    if not _is_xgboost(estimator):
        yield
        return
    import xgboost  # the estimator is an XGBoost model, so the library is already loaded

    with xgboost.config_context(nthread=threads):
        yield
