"""Fitting: candidate families, nested CV, refit, packaging into a bundle, MLflow tracking and registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmn_ddx._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "ProgressFactory": "mmn_ddx.training.fitting.fitting",
    "FAMILY_NAMES": "mmn_ddx.training.fitting.models",
    "train": "mmn_ddx.training.fitting.trainer",
    "TrainingDataError": "mmn_ddx.training.fitting.trainer",
    "TrainingResult": "mmn_ddx.training.fitting.trainer",
    "TrainSettings": "mmn_ddx.training.fitting.trainer",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers and IDEs
    from mmn_ddx.training.fitting.fitting import ProgressFactory
    from mmn_ddx.training.fitting.models import FAMILY_NAMES
    from mmn_ddx.training.fitting.trainer import TrainingDataError, TrainingResult, TrainSettings, train
