"""Serving: explained predictions for clinicians (Python API, CLI; the HTTP API and web page build on it).

The public names are imported lazily, so that ``serving.result`` (the typed result every view renders)
can be imported without loading the model stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmn_ddx.data.record import RecordError
    from mmn_ddx.serving.predictor import ModelNotFoundError, Predictor, default_model_uri
    from mmn_ddx.serving.records import BatchRecordError
    from mmn_ddx.serving.result import PredictionResult

__all__ = ["BatchRecordError", "ModelNotFoundError", "PredictionResult", "Predictor", "RecordError",
           "default_model_uri"]

_WHERE = {
    "BatchRecordError": "mmn_ddx.serving.records",
    "ModelNotFoundError": "mmn_ddx.serving.predictor",
    "PredictionResult": "mmn_ddx.serving.result",
    "Predictor": "mmn_ddx.serving.predictor",
    "RecordError": "mmn_ddx.data.record",
    "default_model_uri": "mmn_ddx.serving.predictor",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'serving' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)
