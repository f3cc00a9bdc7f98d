"""The training use case: cohort in, champion bundle out (exported, and tracked/registered in MLflow).

1. Hold out a stratified evaluation split (20 %) before anything is fitted (:mod:`training.candidates`).
2. Nested CV of every family on the development split; calibration where it helps; final fits.
3. Champion by outer-CV log-loss (ties -> simplest); optionally refit on more synthetic patients
   (:mod:`training.refit`); conformal threshold on its held-out probabilities; out-of-distribution
   reference; model card (:mod:`training.packaging`).
4. Export to ``<export_dir>/<name>/`` in MLflow model format, and (unless ``track=False``) log everything
   to MLflow, register the champion and move the ``champion`` alias only if it is better.

:func:`train_bundle` is the fast path (one family, no search, no tracking) that tests and colleagues use
to get a working bundle in seconds.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mmn_ddx.data import GENERATOR_VERSION, SkippedRows
from mmn_ddx.features import MODES, check_mode
from mmn_ddx.settings import CHAMPION_ALIAS
from mmn_ddx.training.artifact.bundle import ModelBundle
from mmn_ddx.training.artifact.metadata import data_digest
from mmn_ddx.training.artifact.store import download_model
from mmn_ddx.training.fitting.candidates import (
    MODEL_NAMES,
    Candidates,
    TrainingDataError,
    TrainSettings,
    fit_candidates,
)
from mmn_ddx.training.fitting.fitting import ProgressFactory
from mmn_ddx.training.fitting.models import assemble
from mmn_ddx.training.fitting.packaging import build_bundle, example_patients, export
from mmn_ddx.training.fitting.refit import refit_on_synthetic

if TYPE_CHECKING:  # the MLflow side is imported only when a training is tracked
    from mmn_ddx.training.fitting.run_log import TrackedRun

__all__ = ["MODEL_NAMES", "Candidates", "TrainSettings", "TrainingDataError", "TrainingResult", "build_bundle",
           "export", "fit_candidates", "train", "train_bundle"]


def train_bundle(frame: pd.DataFrame, *, mode: str = MODES[0], seed: int = 0,
                 families: Sequence[str] = ("xgboost",), quick: bool = True, export_dir: str | Path,
                 source: str = "synthetic", generator_version: str | None = GENERATOR_VERSION) -> Path:
    """Fast path: fit, calibrate and export a small bundle in seconds (no tracking, no registry).

    ``quick=True`` uses one parameter set per family and 3 outer folds; the result is a complete,
    loadable bundle (``training.bundle.load_bundle(path)``) for tests and development.
    """
    settings = TrainSettings(mode=check_mode(mode), seed=seed, families=tuple(families), quick=quick,
                             outer_k=3 if quick else 5, inner_k=2 if quick else 3, n_boot=100 if quick else 300,
                             n_jobs=1 if quick else 2)
    candidates = fit_candidates(frame, settings)
    bundle = build_bundle(candidates, source=source, generator_version=generator_version)
    from mmn_ddx.training.fitting import tracking

    return export(bundle, export_dir, example=tracking.input_example(example_patients(), settings.mode))


@dataclass
class TrainingResult:
    """What a training produced: the candidates, the champion bundle, where it went."""

    settings: TrainSettings
    candidates: Candidates
    bundle: ModelBundle
    export_path: Path | None
    tracked: TrackedRun | None = None
    exported_new_model: bool = True

    @property
    def champion(self) -> str:
        return self.candidates.champion.name

    def predictor(self, family: str) -> Callable[[pd.DataFrame], np.ndarray]:
        """``predict_proba`` of one family's final calibrated model on canonical frames (for the benchmark)."""
        result = self.candidates.results[family]
        pipeline = assemble(self.settings.mode, result.estimator, self.candidates.development_frame)

        def predict_proba(frame: pd.DataFrame) -> np.ndarray:
            X = np.asarray(pipeline.steps[0][1].transform(frame), dtype=np.float64)
            return result.calibration.probabilities(result.family.raw_output(result.estimator, X))

        return predict_proba

    def predictors(self) -> dict[str, Callable[[pd.DataFrame], np.ndarray]]:
        return {name: self.predictor(name) for name in self.candidates.results}

    @property
    def champion_predictor(self) -> Callable[[pd.DataFrame], np.ndarray]:
        """``predict_proba`` of the exported model (the champion's refit when ``refit_synthetic`` was set)."""
        return self.bundle.predict_proba


def train(frame: pd.DataFrame, settings: TrainSettings, *, export_dir: str | Path | None, source: str = "synthetic",
          generator_version: str | None = GENERATOR_VERSION, track: bool = True, tracking_uri: str | None = None,
          progress: ProgressFactory | None = None, skipped: SkippedRows | None = None) -> TrainingResult:
    """The whole use case (see the module docstring); ``track=False`` skips MLflow and always exports.

    ``skipped``: the rows of the user cohort that ``--skip-invalid`` left out of ``frame``, recorded in the bundle,
    its card and the run's params (``skipped_rows.*``)."""
    candidates = fit_candidates(frame, settings, progress)
    if settings.refit_synthetic:
        candidates.refit = refit_on_synthetic(candidates, settings.refit_synthetic, progress=progress)
    from mmn_ddx.training.fitting import tracking

    example = tracking.input_example(example_patients(), settings.mode)
    if not track:
        bundle = build_bundle(candidates, source=source, generator_version=generator_version, skipped=skipped)
        path = export(bundle, export_dir, example=example) if export_dir is not None else None
        return TrainingResult(settings, candidates, bundle, path)
    from mmn_ddx.training.fitting.run_log import TrackedRun, log_champion, log_family, log_world

    tracking.configure(tracking_uri)
    tags = {"mode": settings.mode, "source": source, "champion_family": candidates.champion.name}
    with tracking.run(f"train-{settings.model_name}", tags=tags) as run_id:
        tracking.log_params({"mode": settings.mode, "seed": settings.seed, "families": ",".join(settings.families),
                             "quick": settings.quick, "outer_k": settings.outer_k, "inner_k": settings.inner_k,
                             "holdout_fraction": settings.holdout_fraction, "coverage": settings.coverage,
                             "n_patients": len(candidates.frame), "champion": candidates.champion.name,
                             "refit_synthetic": settings.refit_synthetic or 0,
                             "posterior_targets": settings.posterior_targets,
                             "training_worlds": (settings.worlds or _nominal(settings)) if generator_version
                             else "none (no synthetic patients)",
                             **({f"skipped_rows.{k}": v for k, v in asdict(skipped).items()} if skipped else {})})
        bundle = build_bundle(candidates, source=source, generator_version=generator_version, skipped=skipped)
        if bundle.metadata.training_world is not None:
            log_world(settings.base_world, bundle.metadata.training_world)
        bundle.metadata = bundle.metadata.model_copy(update={"run_id": run_id})
        origin = {"source": source, "generator_version": generator_version or "none", "seed": settings.seed,
                  "training_data_digest": bundle.metadata.training_data_digest}
        for part, context in ((candidates.development_frame, "training"), (candidates.holdout_frame, "evaluation")):
            tracking.log_dataset(part, name=f"{source}-{context}", source=origin, digest=data_digest(part),
                                 context=context)
        for name, result in candidates.results.items():
            with tracking.run(name, nested=True, tags={"family": name}):
                log_family(result)
        with tempfile.TemporaryDirectory(prefix="mmn-ddx-bundle-") as tmp:
            bundle_dir = bundle.save(Path(tmp) / "bundle")
            tracked = log_champion(bundle, bundle_dir, y_eval=candidates.y[candidates.holdout],
                                   evaluation_frame=candidates.holdout_frame, example=example)
    tracked = TrackedRun(run_id, tracked.model_uri, tracked.version, tracked.promotion)
    bundle.metadata = bundle.metadata.model_copy(update={"version": tracked.version})
    path, fresh = None, False
    if export_dir is not None:
        path, fresh = _export_champion(bundle, tracked, Path(export_dir), example)
    return TrainingResult(settings, candidates, bundle, path, tracked, fresh)


def _nominal(settings: TrainSettings) -> str:
    """The ``training_worlds`` param of a training on one world (no randomised worlds)."""
    return "literature (nominal)" if settings.world is None else f"world {settings.world.digest[:12]} (nominal)"


def _export_champion(bundle: ModelBundle, tracked: TrackedRun, export_dir: Path, example: pd.DataFrame
                     ) -> tuple[Path, bool]:
    """The export directory always holds the registered champion: the new model only if it still is.

    Under the store's lock, like the promotion, so a run that was promoted and then beaten by a
    concurrent run never overwrites the newer champion's export (that run exports its own).
    """
    from mmn_ddx.training.fitting import tracking

    name = bundle.metadata.name
    target = export_dir / name
    with tracking.store_lock():
        champion = tracking.champion_version(name)
        if tracked.promotion.promoted and champion == tracked.version:
            bundle.metadata = bundle.metadata.model_copy(update={"alias": CHAMPION_ALIAS})
            return export(bundle, export_dir, example=example), True
        if not target.exists() and champion is not None:  # nothing exported yet: export the champion
            export_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".export-", dir=export_dir) as tmp:
                shutil.copytree(download_model(f"models:/{name}/{champion}", Path(tmp)).path, target)
    return target, False
