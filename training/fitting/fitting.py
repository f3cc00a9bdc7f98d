"""Fit one candidate family end to end, and choose the champion among them.

Per family: nested CV on the development split -> calibration decided on the out-of-fold outputs ->
final fit on the whole development split with the chosen hyperparameters -> calibrated probabilities on
the held-out evaluation split. Everything a model card or a tracking run needs is kept on the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmn_ddx.training.artifact import calibration
from mmn_ddx.training.artifact.calibration import Calibration, CalibrationChoice
from mmn_ddx.training.evaluation.metrics import Predictions, bootstrap_metrics, percentile_ci, point_estimates
from mmn_ddx.training.fitting.models import Family, Params
from mmn_ddx.training.fitting.search import NestedResult, Progress, nested_cv

TIE_TOLERANCE = 0.005
"""Outer-CV log-losses closer than this (nats) are a tie, won by the simpler family. About a quarter of
the standard error of a log-loss estimated on 4 000 patients, so a 'win' inside it is noise."""
SUMMARY_METRICS: tuple[str, ...] = ("log_loss", "macro_auroc", "accuracy", "balanced_accuracy", "brier", "ece")
N_BOOT = 300


@dataclass
class FamilyResult:
    """One family's nested-CV evidence, calibrator and final fitted estimator."""

    family: Family
    nested: NestedResult
    choice: CalibrationChoice
    oof_probs: np.ndarray
    """Out-of-fold probabilities as served (cross-fitted calibration when it is kept)."""
    estimator: Any
    holdout_probs: np.ndarray | None
    fold_metrics: list[dict[str, float]]
    outer_metrics: dict[str, float]
    outer_ci: dict[str, tuple[float, float]]
    holdout_metrics: dict[str, float]

    @property
    def name(self) -> str:
        return self.family.name

    @property
    def calibration(self) -> Calibration:
        return self.choice.calibration

    @property
    def params(self) -> Params:
        return self.nested.final_params

    @property
    def outer_log_loss(self) -> float:
        return self.outer_metrics["log_loss"]


def summary(y: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """The headline metrics of probabilities against the truth."""
    estimates = point_estimates(y, Predictions.from_proba(probs))
    return {k: estimates[k] for k in SUMMARY_METRICS}


def confidence_intervals(y: np.ndarray, probs: np.ndarray, seed: int, n_boot: int = N_BOOT
                         ) -> dict[str, tuple[float, float]]:
    """Bootstrap 95 % percentile intervals of the headline metrics."""
    reps = bootstrap_metrics(y, {"m": Predictions.from_proba(probs)}, n_boot=n_boot, seed=seed)["m"]
    return {k: percentile_ci(reps[k]) for k in SUMMARY_METRICS}


def fit_family(family: Family, X: np.ndarray, y: np.ndarray, grid: Sequence[Params], *, outer_k: int, inner_k: int,
               seed: int, X_holdout: np.ndarray | None = None, y_holdout: np.ndarray | None = None,
               n_jobs: int = 1, progress: Progress | None = None, n_boot: int = N_BOOT) -> FamilyResult:
    """Nested CV, calibration decision, final fit and held-out scoring of one family."""
    nested = nested_cv(family, X, y, grid, outer_k=outer_k, inner_k=inner_k, seed=seed, n_jobs=n_jobs,
                       progress=progress)
    choice = calibration.choose(nested.oof_raw, y, nested.fold, family.output)
    oof_probs = _served_oof(nested, y, choice, family.output)
    fold_metrics = [summary(y[nested.fold == f], oof_probs[nested.fold == f]) for f in range(outer_k)]
    estimator = family.fit(nested.final_params, X, y, seed)
    if progress:
        progress(1)
    holdout_probs = None
    holdout_metrics: dict[str, float] = {}
    if X_holdout is not None and y_holdout is not None and len(y_holdout):
        holdout_probs = choice.calibration.probabilities(family.raw_output(estimator, X_holdout))
        holdout_metrics = summary(y_holdout, holdout_probs)
    return FamilyResult(
        family=family, nested=nested, choice=choice, oof_probs=oof_probs, estimator=estimator,
        holdout_probs=holdout_probs, fold_metrics=fold_metrics, outer_metrics=summary(y, oof_probs),
        outer_ci=confidence_intervals(y, oof_probs, seed, n_boot) if n_boot else {},
        holdout_metrics=holdout_metrics,
    )


def _served_oof(nested: NestedResult, y: np.ndarray, choice: CalibrationChoice, output: str) -> np.ndarray:
    """Out-of-fold probabilities of the procedure as it will serve: cross-fitted calibration if kept."""
    if not choice.improves:
        return calibration.identity(output).probabilities(nested.oof_raw)
    out = np.empty_like(nested.oof_raw)
    for f in np.unique(nested.fold):
        test = nested.fold == f
        out[test] = calibration.fit(nested.oof_raw[~test], y[~test], output).probabilities(nested.oof_raw[test])
    return out


def choose_champion(results: Mapping[str, FamilyResult], tolerance: float = TIE_TOLERANCE) -> FamilyResult:
    """Lowest outer-CV log-loss; families within ``tolerance`` of it tie and the simplest wins."""
    best = min(r.outer_log_loss for r in results.values())
    tied = [r for r in results.values() if r.outer_log_loss <= best + tolerance]
    return min(tied, key=lambda r: (r.family.simplicity, r.outer_log_loss))


def grid_for(family: Family, quick: bool) -> tuple[Params, ...]:
    return family.quick_grid if quick else family.grid


ProgressFactory = Callable[[str, int], Progress]
"""(description, total) -> advance callback; the CLI builds Rich progress bars with it."""
