"""Fitting: candidate families, nested CV, refit, packaging into a bundle, MLflow tracking and registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmn_ddx._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)

if TYPE_CHECKING:  # the public names, listed once: type checkers read them, lazy_exports too
    from mmn_ddx.training.fitting.fitting import ProgressFactory
    from mmn_ddx.training.fitting.models import FAMILY_NAMES
    from mmn_ddx.training.fitting.trainer import TrainingDataError, TrainingResult, TrainSettings, train
