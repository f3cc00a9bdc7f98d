"""Training: the exported model (``artifact``), how it is fitted (``fitting``) and evaluated (``evaluation``).

Public names are imported lazily (PEP 562), so ``import mmn_ddx.training`` stays cheap and never imports
MLflow; only :mod:`mmn_ddx.training.fitting.tracking` (and the modules that log runs) talk to MLflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmn_ddx._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)

if TYPE_CHECKING:  # the public names, listed once: type checkers read them, lazy_exports too
    from mmn_ddx.settings import MODEL_NAMES
    from mmn_ddx.training.artifact.bundle import BundleError, ModelBundle, load_bundle
    from mmn_ddx.training.artifact.explain import FeatureAttribution
    from mmn_ddx.training.artifact.metadata import BundleMetadata
    from mmn_ddx.training.fitting.candidates import TrainingDataError, TrainSettings
    from mmn_ddx.training.fitting.trainer import TrainingResult, train, train_bundle
