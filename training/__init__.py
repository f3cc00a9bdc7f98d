"""Training: candidate families, nested CV, calibration, the exported bundle, MLflow tracking and registry.

Public names are imported lazily (PEP 562), so ``import training`` stays cheap and never imports MLflow;
only :mod:`training.tracking` (and the modules that log runs) talk to MLflow.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "BundleError": "training.bundle",
    "BundleMetadata": "training.metadata",
    "FeatureAttribution": "training.explain",
    "MODEL_NAMES": "training.candidates",
    "ModelBundle": "training.bundle",
    "TrainSettings": "training.candidates",
    "TrainingDataError": "training.candidates",
    "TrainingResult": "training.train",
    "load_bundle": "training.bundle",
    "train": "training.train",
    "train_bundle": "training.train",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'training' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
