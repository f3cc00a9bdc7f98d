"""Serving: explained predictions for clinicians (Python API, CLI; the HTTP API and web page build on it).

The public names are imported lazily, so that ``serving.result`` (the typed result every view renders)
can be imported without loading the model stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmn_ddx._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "RecordError": "mmn_ddx.data.record",
    "SYNTHETIC": "mmn_ddx.serving.alerts",
    "score_table": "mmn_ddx.serving.batch",
    "default_model_uri": "mmn_ddx.serving.predictor",
    "ModelNotFoundError": "mmn_ddx.serving.predictor",
    "Predictor": "mmn_ddx.serving.predictor",
    "BatchRecordError": "mmn_ddx.serving.records",
    "render": "mmn_ddx.serving.terminal",
    "NOT_FOR_CLINICAL_USE": "mmn_ddx.serving.result",
    "PredictionResult": "mmn_ddx.serving.result",
    "DEFAULT_MASTER": "mmn_ddx.serving.spark",
    "score_file": "mmn_ddx.serving.spark",
    "SparkUnavailableError": "mmn_ddx.serving.spark",
    "cascade_fact": "mmn_ddx.serving.wording.messages",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers and IDEs
    from mmn_ddx.data import RecordError
    from mmn_ddx.serving.alerts import SYNTHETIC
    from mmn_ddx.serving.batch import score_table
    from mmn_ddx.serving.predictor import ModelNotFoundError, Predictor, default_model_uri
    from mmn_ddx.serving.records import BatchRecordError
    from mmn_ddx.serving.result import NOT_FOR_CLINICAL_USE, PredictionResult
    from mmn_ddx.serving.spark import DEFAULT_MASTER, SparkUnavailableError, score_file
    from mmn_ddx.serving.terminal import render
    from mmn_ddx.serving.wording.messages import cascade_fact
