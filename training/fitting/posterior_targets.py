"""Synthetic patients with their world's exact posterior as the training target (soft labels).

Why: a synthetic patient's diagnosis is one draw from p(d | record); the generator knows that
distribution exactly (:func:`data.posterior`). Fitting to it instead of the draw removes the label noise
(Rao-Blackwellisation), so the same number of patients estimates the Bayes answer much better. Measured
(issue #14, the reality world at N = 200, one cohort, 100 000 patients of the fitted world, XGBoost depth 3,
log-loss / the reality ceiling, at 300 rounds and rate 0.35 / 300 and 0.5 / 600 and 0.5): drawn labels
1.29 / 1.31 / 1.34 (more rounds fit the label noise), posterior targets 1.27 / 1.25 / 1.23 (the fitted
world's own posterior: 1.17). The price is the posterior itself, a few ms per patient.

For a mixture of worlds each patient's target is the posterior of the world it was drawn from:
E[p(d | x, world) | x] is the mixture's posterior, so the expected loss is the same as with the mixture's
posterior, at 1/K of its cost.

Hand-written because neither XGBoost's ``multi:softprob`` nor scikit-learn's classifiers accept a
probability vector as the label; one row per (patient, diagnosis) weighted by its target probability is
the same cross-entropy (:func:`weighted_rows`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from mmn_ddx.data import DIAGNOSES, World, WorldMixture, generate_cohort, load_world, posterior
from mmn_ddx.features import fields_unseen_in

MIN_TARGET = 1e-6
"""Target probabilities below this are left out of the weighted rows: they carry nothing a fit can see
(~40 % of the rows at this problem's sharp posteriors) and cost training time."""
CHUNK = 5_000
"""Patients per posterior call (memory; and the unit of work spread over the worker processes)."""


@dataclass(frozen=True)
class TargetedCohort:
    frame: pd.DataFrame
    """Canonical cohort frame (no latent columns)."""
    targets: np.ndarray
    """(n, K) p(diagnosis | record) in ``DIAGNOSES`` order under the patient's own world."""


def generate_with_targets(n: int, seed: int, world: World | WorldMixture | None, mode: str, n_jobs: int = 1,
                          progress: Callable[[str, int], Callable[[int], object]] | None = None) -> TargetedCohort:
    """``generate_cohort(n, seed, world=world)`` and each patient's exact posterior over what ``mode`` reads,
    in pieces of :data:`CHUNK` patients of one world over ``n_jobs`` processes (``progress``: a bar over them)."""
    frame = generate_cohort(n, seed=seed, world=world, return_latents=True)
    which = frame["latent_world"].to_numpy() if isinstance(world, WorldMixture) else np.zeros(n, dtype=int)
    worlds = world.worlds if isinstance(world, WorldMixture) else (world or load_world(),)
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("latent_")])
    exclude = tuple(fields_unseen_in(mode))
    pieces = [(k, rows[i : i + CHUNK]) for k in np.unique(which)
              for rows in [np.flatnonzero(which == k)] for i in range(0, len(rows), CHUNK)]
    advance = progress(f"exact posterior of {n} synthetic patients", len(pieces)) if progress else None
    jobs = (delayed(posterior)(frame.iloc[rows], exclude=exclude, world=worlds[k]) for k, rows in pieces)
    targets = np.empty((n, len(DIAGNOSES)))
    for (_, rows), part in zip(pieces, Parallel(n_jobs=n_jobs, return_as="generator")(jobs), strict=True):
        targets[rows] = part
        if advance:
            advance(1)
    return TargetedCohort(frame, targets)


def weighted_rows(X: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row per (patient, diagnosis with target >= MIN_TARGET): features, class code, weight.

    The weights are the target probabilities times balanced class weights (each diagnosis's total weight
    equal, as ``compute_sample_weight("balanced")`` makes them for drawn labels)."""
    n, k = targets.shape
    totals = targets.sum(axis=0)
    if (totals <= 0).any():
        missing = [d for d, t in zip(DIAGNOSES, totals, strict=True) if t <= 0]
        raise ValueError(f"posterior targets give no weight to {missing}: generate more patients")
    balanced = targets * (n / (k * totals))[None, :]
    patient, code = np.nonzero(targets >= MIN_TARGET)
    return X[patient], code.astype(np.int64), balanced[patient, code]
