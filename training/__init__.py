"""Training: candidate families, nested CV, calibration, the exported bundle, MLflow tracking and registry.

Public names are imported lazily (PEP 562), so ``import training`` stays cheap and never imports MLflow;
only :mod:`training.tracking` (and the modules that log runs) talk to MLflow.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "BundleError": "mmn_ddx.training.artifact.bundle",
    "BundleMetadata": "mmn_ddx.training.artifact.metadata",
    "FeatureAttribution": "mmn_ddx.training.artifact.explain",
    "MODEL_NAMES": "mmn_ddx.training.fitting.candidates",
    "ModelBundle": "mmn_ddx.training.artifact.bundle",
    "TrainSettings": "mmn_ddx.training.fitting.candidates",
    "TrainingDataError": "mmn_ddx.training.fitting.candidates",
    "TrainingResult": "mmn_ddx.training.fitting.trainer",
    "load_bundle": "mmn_ddx.training.artifact.bundle",
    "train": "mmn_ddx.training.fitting.trainer",
    "train_bundle": "mmn_ddx.training.fitting.trainer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'training' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
