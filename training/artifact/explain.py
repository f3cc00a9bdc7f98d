"""Exact additive SHAP values per engineered feature and class, with no sampling and no fallback.

* XGBoost: the booster's native TreeSHAP (``pred_contribs=True``, Lundberg et al., Nat. Mach. Intell.
  2020) on the **log-odds** (softmax logit) scale. For shallow trees (the served champion) XGBoost's
  answers are tabulated once per split-direction pattern at load time and looked up per patient
  (:mod:`training.shap_tables`: the same values, ~10x faster); deeper trees call ``pred_contribs`` per batch.
* Logistic regression: linear SHAP, ``phi_j = w_j (z_j - E[z_j])`` on the standardised design, where
  ``E[z] = 0`` over the training data; the imputed value and the missing indicator of one engineered
  feature are summed back into that feature. **Log-odds** scale.
* Random forest: ``shap.TreeExplainer`` (exact path-dependent TreeSHAP) on the **probability** scale,
  the scale its averaging of leaf frequencies is additive on.

Calibration is folded in exactly (see :mod:`training.calibration`): a temperature divides base and
contributions; the forest's shrinkage towards uniform scales them and shifts the base. Hence, always,
``base_values + values.sum(axis=1) == outputs`` and ``softmax(outputs)`` (log-odds) or ``outputs``
(probability) equals the served probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import xgboost as xgb
from sklearn.pipeline import Pipeline

from mmn_ddx.training.artifact.calibration import Calibration, softmax
from mmn_ddx.training.artifact.shap_tables import TreeShapTable

Scale = Literal["log-odds", "probability"]
BATCH_ROWS = 512
BATCH_THREADS = 2
"""XGBoost threads for batches of at least ``BATCH_ROWS`` patients (the target machine has 2 cores)."""


@dataclass(frozen=True)
class FeatureAttribution:
    """SHAP values with explicit axes: ``values[patient, feature, class]``.

    ``base_values[patient, class] + values.sum(axis=1) == outputs`` on ``scale``; for ``"log-odds"``
    the probabilities are ``softmax(outputs, axis=1)``, for ``"probability"`` they are ``outputs``.
    """

    values: np.ndarray
    base_values: np.ndarray
    feature_names: tuple[str, ...]
    feature_values: np.ndarray
    """Engineered feature values (patient, feature); NaN = unknown."""
    classes: tuple[str, ...]
    scale: Scale
    method: str

    @property
    def outputs(self) -> np.ndarray:
        """Model output per patient and class on ``scale`` (base + sum of contributions)."""
        return self.base_values + self.values.sum(axis=1)

    def probabilities(self) -> np.ndarray:
        """Probabilities implied by the attribution (equal to the served ones)."""
        return softmax(self.outputs, axis=1) if self.scale == "log-odds" else self.outputs

    def __len__(self) -> int:
        return self.values.shape[0]


@dataclass(frozen=True)
class RawAttribution:
    """Uncalibrated contributions (patient, feature, class) and base values (patient, class)."""

    values: np.ndarray
    base_values: np.ndarray
    scale: Scale
    method: str

    def calibrated(self, calibration: Calibration) -> RawAttribution:
        """Fold the calibrator in; both calibrators are affine on this scale, so additivity survives."""
        if calibration.kind == "temperature":
            t = calibration.value
            return RawAttribution(self.values / t, self.base_values / t, self.scale, self.method)
        eps, k = calibration.value, self.base_values.shape[1]
        return RawAttribution((1 - eps) * self.values, (1 - eps) * self.base_values + eps / k, self.scale,
                              self.method)


class Explainer:
    """Computes raw attributions for one fitted estimator (built once per bundle, reused per call)."""

    def __init__(self, estimator: Any, n_features: int) -> None:
        self.estimator = estimator
        self.n_features = n_features
        self._tree_explainer: Any = None
        self._batch: xgb.Booster | None = None
        self.table: TreeShapTable | None = None
        """The tabulated TreeSHAP of a shallow XGBoost model (None otherwise); it also gives the margin."""
        if isinstance(estimator, xgb.XGBClassifier):
            self.table = TreeShapTable.build(estimator.get_booster())
            self._compute = self._xgboost if self.table is None else self._tabulated
        elif isinstance(estimator, Pipeline) and estimator.steps[-1][0] == "classify":
            self._compute = self._linear
            self._prepare_linear(estimator)
        elif hasattr(estimator, "estimators_") and hasattr(estimator, "predict_proba"):
            import shap  # slow to import: only the forest needs it

            self._tree_explainer = shap.TreeExplainer(estimator)
            self._compute = self._forest
        else:  # never silently fall back to a sampling explainer
            raise TypeError(f"no exact explainer for {type(estimator).__name__}")

    def __call__(self, X: np.ndarray) -> RawAttribution:
        return self._compute(X)

    def _xgboost(self, X: np.ndarray) -> RawAttribution:
        # One thread for a few patients (OpenMP start-up costs more than it saves, and a single request
        # must not compete with the server's other requests for cores); BATCH_THREADS for big batches,
        # on a private copy of the booster so that concurrent single requests are never affected.
        booster = self._batch_booster() if len(X) >= BATCH_ROWS else self.estimator.get_booster()
        contribs = booster.predict(xgb.DMatrix(X, missing=np.nan, nthread=1), pred_contribs=True)
        contribs = np.asarray(contribs, dtype=np.float64)  # (n, K, F + 1), bias last
        values = np.transpose(contribs[:, :, :-1], (0, 2, 1))
        return RawAttribution(values, contribs[:, :, -1], "log-odds", "XGBoost native TreeSHAP (pred_contribs)")

    def _tabulated(self, X: np.ndarray) -> RawAttribution:
        values, bias = cast(TreeShapTable, self.table)(X)  # this method is chosen only with a table
        return RawAttribution(values, np.tile(bias, (len(X), 1)),  # a copy per row; broadcast_to + copy cost 3x
                              "log-odds", "XGBoost native TreeSHAP (pred_contribs), tabulated per tree")

    def _batch_booster(self) -> xgb.Booster:
        if self._batch is None:
            self._batch = self.estimator.get_booster().copy()
            self._batch.set_param({"nthread": BATCH_THREADS})
        return self._batch

    def _prepare_linear(self, pipeline: Pipeline) -> None:
        impute, _scale, model = (step for _, step in pipeline.steps)
        design_to_feature = np.arange(self.n_features)
        if impute.indicator_ is not None:
            design_to_feature = np.concatenate([design_to_feature, impute.indicator_.features_])
        mapping = np.zeros((len(design_to_feature), self.n_features))
        mapping[np.arange(len(design_to_feature)), design_to_feature] = 1.0
        self._pre = Pipeline(pipeline.steps[:-1])
        self._coef = model.coef_.T  # (design, K)
        self._intercept = model.intercept_
        self._mapping = mapping  # (design, F): sums a feature's value and missing-indicator terms

    def _linear(self, X: np.ndarray) -> RawAttribution:
        z = self._pre.transform(X)  # standardised: mean 0 over the training data
        per_design = z[:, :, None] * self._coef[None, :, :]  # (n, design, K)
        values = np.einsum("ndk,df->nfk", per_design, self._mapping)
        base = np.broadcast_to(self._intercept, (len(X), len(self._intercept))).astype(np.float64)
        return RawAttribution(values, base.copy(), "log-odds", "linear SHAP (exact, standardised design)")

    def _forest(self, X: np.ndarray) -> RawAttribution:
        values = np.asarray(self._tree_explainer.shap_values(X, check_additivity=False), dtype=np.float64)
        base = np.broadcast_to(np.asarray(self._tree_explainer.expected_value, dtype=np.float64),
                               (len(X), values.shape[2])).copy()
        return RawAttribution(values, base, "probability", "TreeSHAP (shap.TreeExplainer, exact)")
