"""Serving: explained predictions for clinicians (Python API, CLI; the HTTP API and web page build on it).

The public names are imported lazily, so that ``serving.result`` (the typed result every view renders)
can be imported without loading the model stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmn_ddx._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)

if TYPE_CHECKING:  # the public names, listed once: type checkers read them, lazy_exports too
    from mmn_ddx.data import RecordError
    from mmn_ddx.serving.batch import score_table
    from mmn_ddx.serving.predictor import ModelNotFoundError, Predictor, default_model_uri
    from mmn_ddx.serving.records import BatchRecordError
    from mmn_ddx.serving.result import NOT_FOR_CLINICAL_USE, PredictionResult
    from mmn_ddx.serving.spark import DEFAULT_MASTER, SparkUnavailableError, score_file
    from mmn_ddx.serving.terminal import render
    from mmn_ddx.serving.wording.messages import cascade_fact
    from mmn_ddx.training.artifact import SYNTHETIC_CODE
