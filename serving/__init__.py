"""Serving: explained predictions for clinicians (Python API, CLI; the HTTP API and web page build on it).

The public names are imported lazily, so that ``serving.result`` (the typed result every view renders)
can be imported without loading the model stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from data.record import RecordError
    from serving.predictor import ModelNotFoundError, Predictor, default_model_uri
    from serving.records import BatchRecordError
    from serving.result import PredictionResult

__all__ = ["BatchRecordError", "ModelNotFoundError", "PredictionResult", "Predictor", "RecordError",
           "default_model_uri"]

_WHERE = {
    "BatchRecordError": "serving.records",
    "ModelNotFoundError": "serving.predictor",
    "PredictionResult": "serving.result",
    "Predictor": "serving.predictor",
    "RecordError": "data.record",
    "default_model_uri": "serving.predictor",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'serving' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)
