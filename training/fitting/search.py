"""Stratified nested cross-validation: inner hyperparameter search, outer performance estimate.

The outer folds estimate how well *the whole procedure* (search included) generalises: every outer
test fold is scored by a model whose hyperparameters were chosen on the other folds only (Varma &
Simon, BMC Bioinformatics 2006: a non-nested estimate is optimistic). The out-of-fold outputs are kept
for the calibration decision and the model card's confidence intervals.

The exported model's hyperparameters are the ones the inner searches chose most often across the
outer folds (ties: best mean inner log-loss); this reuses the inner searches instead of running one
more search on all the data, which keeps ``train --synthetic 5000`` within its 3-minute budget.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import StratifiedKFold

from mmn_ddx.data import DIAGNOSES
from mmn_ddx.training.artifact.calibration import identity, log_loss
from mmn_ddx.training.fitting.models import Family, Params, describe_params

Progress = Callable[[int], None]
"""Called with the number of steps just completed (for a progress bar)."""


def stratified_folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold index (0..k-1) of every row, stratified by class and reproducible by ``seed``."""
    fold = np.empty(len(y), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for f, (_, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
        fold[test] = f
    return fold


def n_steps(outer_k: int) -> int:
    """Progress steps of one family: one per outer fold, one for the final fit."""
    return outer_k + 1


@dataclass(frozen=True)
class InnerResult:
    best: Params
    scores: dict[str, float]
    """Mean inner log-loss per parameter set (``describe_params`` keys)."""


def inner_search(family: Family, X: np.ndarray, y: np.ndarray, grid: Sequence[Params], k: int, seed: int
                 ) -> InnerResult:
    """The parameter set with the lowest k-fold log-loss (uncalibrated: calibration is chosen later)."""
    if len(grid) == 1:
        return InnerResult(dict(grid[0]), {})
    fold = stratified_folds(y, k, seed)
    scores: dict[str, float] = {}
    for params in grid:
        losses = []
        for f in range(k):
            train, test = fold != f, fold == f
            estimator = family.fit(params, X[train], y[train], seed)
            probs = identity(family.output).probabilities(family.raw_output(estimator, X[test]))
            losses.append(log_loss(probs, y[test]))
        scores[describe_params(params)] = float(np.mean(losses))
    best = min(grid, key=lambda p: scores[describe_params(p)])
    return InnerResult(dict(best), scores)


@dataclass
class NestedResult:
    """One family's nested CV: out-of-fold raw outputs, per-fold choices and the final parameters."""

    family: str
    oof_raw: np.ndarray
    fold: np.ndarray
    fold_params: list[Params] = field(default_factory=list)
    inner: list[InnerResult] = field(default_factory=list)
    final_params: Params = field(default_factory=dict)


def nested_cv(family: Family, X: np.ndarray, y: np.ndarray, grid: Sequence[Params], *, outer_k: int,
              inner_k: int, seed: int, n_jobs: int = 1, progress: Progress | None = None) -> NestedResult:
    """Outer stratified k-fold; in each training part an inner search picks the parameters.

    Outer folds run in ``n_jobs`` worker processes (each fit single-threaded); results are identical
    whatever ``n_jobs`` is, because every fold's seeds are fixed by ``seed`` and the fold number.
    """
    fold = stratified_folds(y, outer_k, seed)
    oof = np.empty((len(y), len(DIAGNOSES)), dtype=np.float64)
    result = NestedResult(family=family.name, oof_raw=oof, fold=fold)
    tasks = [(family, X, y, fold, f, grid, inner_k, seed) for f in range(outer_k)]
    outputs = (Parallel(n_jobs=n_jobs, return_as="generator_unordered")(delayed(_outer_fold)(*t) for t in tasks)
               if n_jobs != 1 else (_outer_fold(*t) for t in tasks))
    done: dict[int, InnerResult] = {}
    for f, inner, raw in outputs:
        oof[fold == f] = raw
        done[f] = inner
        if progress:
            progress(1)
    result.inner = [done[f] for f in range(outer_k)]
    result.fold_params = [inner.best for inner in result.inner]
    result.final_params = _most_chosen(result)
    return result


def _outer_fold(family: Family, X: np.ndarray, y: np.ndarray, fold: np.ndarray, f: int, grid: Sequence[Params],
                inner_k: int, seed: int) -> tuple[int, InnerResult, np.ndarray]:
    train, test = fold != f, fold == f
    inner = inner_search(family, X[train], y[train], grid, inner_k, seed + 1 + f)
    estimator = family.fit(inner.best, X[train], y[train], seed)
    return f, inner, family.raw_output(estimator, X[test])


def _most_chosen(result: NestedResult) -> Params:
    """The parameter set chosen in most outer folds; ties broken by mean inner log-loss."""
    counts = Counter(describe_params(p) for p in result.fold_params)
    by_key = {describe_params(p): p for p in result.fold_params}

    def mean_score(key: str) -> float:
        values = [inner.scores[key] for inner in result.inner if key in inner.scores]
        return float(np.mean(values)) if values else 0.0

    best = min(counts, key=lambda key: (-counts[key], mean_score(key)))
    return dict(by_key[best])
