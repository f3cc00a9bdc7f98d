"""The candidates of one training: settings, the held-out split, every family fitted, the champion.

The stratified evaluation split (20 %) is held out before anything is fitted: the champion is compared
with the registered one on it, and the conformal threshold and the OOD flag rate are calibrated on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from mmn_ddx.data import DIAGNOSES, LABEL, LITERATURE_WORLD, World, WorldMixture, draw_worlds, load_world, world_name
from mmn_ddx.features import MODES, ClinicalFeatures, check_mode
from mmn_ddx.settings import MODEL_NAMES
from mmn_ddx.training.artifact import conformal
from mmn_ddx.training.artifact.calibration import Calibration
from mmn_ddx.training.fitting.fitting import FamilyResult, ProgressFactory, choose_champion, fit_family, grid_for
from mmn_ddx.training.fitting.models import FAMILY_NAMES, Params, get_family
from mmn_ddx.training.fitting.search import n_steps

HOLDOUT_FRACTION = 0.20
MIN_PER_CLASS = 10


class TrainingDataError(ValueError):
    """The cohort cannot train a model (e.g. a diagnosis missing); the message says what to fix."""


@dataclass(frozen=True)
class TrainSettings:
    mode: str = MODES[0]
    seed: int = 0
    families: tuple[str, ...] = FAMILY_NAMES
    quick: bool = False
    outer_k: int = 5
    inner_k: int = 3
    holdout_fraction: float = HOLDOUT_FRACTION
    coverage: float = conformal.DEFAULT_COVERAGE
    n_boot: int = 300
    n_jobs: int = 2
    """Worker processes for the outer folds (the target machine has 2 cores)."""
    refit_synthetic: int | None = None
    """Refit the chosen champion on this many fresh synthetic patients (see :mod:`training.refit`)."""
    posterior_targets: bool = False
    """The refit fits each synthetic patient's exact posterior instead of its drawn diagnosis
    (:mod:`training.fitting.posterior_targets`): a closer model for a few ms per patient."""
    worlds: int | None = None
    """Synthetic patients (the training cohort and the refit) come from this many worlds drawn within the
    stated uncertainty around ``world``, seeded by ``seed`` (``mmn-ddx train``'s default, issue #13); None:
    ``world`` itself."""
    shift_worlds: int = 0
    """Measure the exported model on this many worlds drawn around the base world for its card (issue #13)."""
    shift_patients: int = 400
    """Synthetic patients per world of that check (the exact posterior costs ~2 ms per patient)."""
    world: World | None = None
    """The world synthetic patients come from, e.g. a world file fitted to a real cohort (``mmn-ddx world
    fit``, issue #14); None: the literature world."""

    def synthetic_world(self) -> World | WorldMixture | None:
        """The world(s) synthetic training patients are drawn from (None: the literature world)."""
        return draw_worlds(self.worlds, seed=self.seed, base=self.world) if self.worlds else self.world

    @property
    def base_world(self) -> World:
        """The world named in the bundle: ``world``, or the literature world."""
        return self.world or load_world()

    @property
    def worlds_description(self) -> str:
        if self.world is None:
            mixture = self.synthetic_world()
            return LITERATURE_WORLD if mixture is None else mixture.source
        named = world_name(self.world)
        if not self.worlds:
            return named
        return f"{self.worlds} worlds drawn within the stated uncertainty around {named} (seed {self.seed})"

    @property
    def model_name(self) -> str:
        return MODEL_NAMES[check_mode(self.mode)]


@dataclass
class Candidates:
    """The fitted families on one split of one cohort."""

    settings: TrainSettings
    frame: pd.DataFrame
    X: np.ndarray
    y: np.ndarray
    development: np.ndarray
    holdout: np.ndarray
    results: dict[str, FamilyResult]
    champion: FamilyResult
    feature_names: list[str] = field(default_factory=list)
    refit: FinalFit | None = None
    """Set when the exported model is a refit of the champion on more patients."""

    @property
    def holdout_frame(self) -> pd.DataFrame:
        return self.frame.iloc[self.holdout]

    @property
    def development_frame(self) -> pd.DataFrame:
        return self.frame.iloc[self.development]

    @property
    def final(self) -> FinalFit:
        """The model that is exported: the refit if any, else the champion fitted on the development split."""
        if self.refit is not None:
            return self.refit
        c = self.champion
        assert c.holdout_probs is not None
        return FinalFit(frame=self.development_frame, X=self.X[self.development], estimator=c.estimator,
                        calibration=c.calibration, params=c.params, holdout_probs=c.holdout_probs,
                        holdout_metrics=c.holdout_metrics)


@dataclass(frozen=True)
class ConformalCalibration:
    """Patients the exported model never saw, with its probabilities for them: what its prediction sets are
    calibrated on when they are not the held-out split (a synthetic refit's own fresh cohort)."""

    frame: pd.DataFrame
    probs: np.ndarray


@dataclass(frozen=True)
class FinalFit:
    """The exported model and the patients it was fitted on."""

    frame: pd.DataFrame
    X: np.ndarray
    estimator: Any
    calibration: Calibration
    params: Params
    holdout_probs: np.ndarray
    holdout_metrics: dict[str, float]
    note: str = ""
    """Said in the model card when the exported model is not the development fit."""
    conformal: ConformalCalibration | None = None
    """The set calibration patients; None: the held-out split."""


def labels(frame: pd.DataFrame) -> np.ndarray:
    """Class codes in ``DIAGNOSES`` order; every diagnosis must be present often enough to stratify."""
    if LABEL not in frame.columns or frame[LABEL].isna().any():
        raise TrainingDataError(f"every training patient needs a '{LABEL}'")
    y = pd.Categorical(frame[LABEL].astype(object), categories=list(DIAGNOSES)).codes.astype(np.int64)
    counts = np.bincount(y, minlength=len(DIAGNOSES))
    scarce = [f"{d} ({c})" for d, c in zip(DIAGNOSES, counts, strict=True) if c < MIN_PER_CLASS]
    if scarce:
        raise TrainingDataError(f"too few patients to train and validate for: {', '.join(scarce)}; "
                                f"need at least {MIN_PER_CLASS} per diagnosis")
    return y


def fit_candidates(frame: pd.DataFrame, settings: TrainSettings, progress: ProgressFactory | None = None
                   ) -> Candidates:
    """Split, engineer the features once, fit every family, choose the champion."""
    frame = frame.reset_index(drop=True)
    y = labels(frame)
    index = np.arange(len(frame))
    development, holdout = train_test_split(index, test_size=settings.holdout_fraction, stratify=y,
                                            random_state=settings.seed)
    development, holdout = np.sort(development), np.sort(holdout)
    transformer = ClinicalFeatures(mode=settings.mode).fit(frame)
    X = np.asarray(transformer.transform(frame), dtype=np.float64)
    results: dict[str, FamilyResult] = {}
    for name in settings.families:
        family = get_family(name)
        grid = grid_for(family, settings.quick)
        advance = progress(f"{name}: nested CV", n_steps(settings.outer_k)) if progress else None
        results[name] = fit_family(
            family, X[development], y[development], grid, outer_k=settings.outer_k, inner_k=settings.inner_k,
            seed=settings.seed, X_holdout=X[holdout], y_holdout=y[holdout], n_jobs=settings.n_jobs, progress=advance,
            n_boot=settings.n_boot,
        )
    return Candidates(settings, frame, X, y, development, holdout, results, choose_champion(results),
                      list(transformer.get_feature_names_out()))


