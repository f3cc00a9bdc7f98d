"""Training: the exported model (``artifact``), how it is fitted (``fitting``) and evaluated (``evaluation``).

Public names are imported lazily (PEP 562), so ``import mmn_ddx.training`` stays cheap and never imports
MLflow; only :mod:`mmn_ddx.training.fitting.tracking` (and the modules that log runs) talk to MLflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmn_ddx._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "BundleError": "mmn_ddx.training.artifact.bundle",
    "load_bundle": "mmn_ddx.training.artifact.bundle",
    "ModelBundle": "mmn_ddx.training.artifact.bundle",
    "FeatureAttribution": "mmn_ddx.training.artifact.explain",
    "BundleMetadata": "mmn_ddx.training.artifact.metadata",
    "MODEL_NAMES": "mmn_ddx.settings",
    "TrainingDataError": "mmn_ddx.training.fitting.candidates",
    "TrainSettings": "mmn_ddx.training.fitting.candidates",
    "train": "mmn_ddx.training.fitting.trainer",
    "train_bundle": "mmn_ddx.training.fitting.trainer",
    "TrainingResult": "mmn_ddx.training.fitting.trainer",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers and IDEs
    from mmn_ddx.settings import MODEL_NAMES
    from mmn_ddx.training.artifact.bundle import BundleError, ModelBundle, load_bundle
    from mmn_ddx.training.artifact.explain import FeatureAttribution
    from mmn_ddx.training.artifact.metadata import BundleMetadata
    from mmn_ddx.training.fitting.candidates import TrainingDataError, TrainSettings
    from mmn_ddx.training.fitting.trainer import TrainingResult, train, train_bundle
