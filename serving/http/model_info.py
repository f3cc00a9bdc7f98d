"""``GET /v1/model``: what model answers, on what data it was trained, how good it is, what it is for.

Everything comes from the loaded predictor's bundle metadata and model card, so the page, the API
and the exported bundle can never disagree about the version being served.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from mmn_ddx.data import SCHEMA_VERSION
from mmn_ddx.serving.result import NOT_FOR_CLINICAL_USE, PredictionResult
from mmn_ddx.training.artifact import DEFAULT_SETTING, SETTINGS, TrainingWorld, pre_test_probabilities


class PredictorLike(Protocol):
    """What the HTTP layer needs from :class:`serving.predictor.Predictor` (``bundle`` is optional)."""

    def predict(self, record: Any, *, setting: str | None = None) -> PredictionResult: ...

    def predict_many(self, records: Any, *, setting: str | None = None) -> list[PredictionResult]: ...


class ModelInfo(BaseModel):
    model_config = ConfigDict(frozen=True, protected_namespaces=())
    name: str
    version: str | None
    alias: str | None
    uri: str | None
    mode: str | None
    family: str | None
    training_data_digest: str | None
    training_data_source: str | None
    n_training: int | None
    trained_at: str | None
    generator_version: str | None
    training_world: TrainingWorld | None = Field(default=None, description="The world the synthetic training "
                                                 "patients came from (issue #14); null for a user cohort alone.")
    training_code_version: str | None
    schema_version: int
    metrics: dict[str, Any] = Field(description="Held-out evaluation metrics recorded with the bundle.")
    intended_use: str
    model_card: str = Field(description="The bundle's model card (Markdown).")
    manifest_digest: str | None = Field(
        default=None, description="SHA-256 of the bundle's manifest of file digests, checked when the model was "
        "loaded; compare it with the digest of the model you approved. Null for a model never saved.")
    settings: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {name: pre_test_probabilities(name) for name in SETTINGS},
        description="The clinical settings a prediction may be asked for (`?setting=`), with their pre-test "
                    "probabilities.")
    default_setting: str = Field(default=DEFAULT_SETTING, description="The setting used when none is asked for: "
                                 "the intended-use population.")
    notice: str = NOT_FOR_CLINICAL_USE


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return dict(value) if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def model_info(predictor: Any) -> ModelInfo:
    """From ``predictor.bundle`` (:class:`training.bundle.ModelBundle`): metadata and model card."""
    bundle = getattr(predictor, "bundle", None)
    meta = _as_dict(getattr(bundle, "metadata", None))
    card = getattr(bundle, "model_card", None)
    metrics = meta.get("metrics") or {}
    return ModelInfo(
        name=str(meta.get("name") or "mmn-ddx"),
        version=_text(meta.get("version")),
        alias=_text(meta.get("alias")),
        uri=_text(getattr(predictor, "uri", None) or meta.get("uri")),
        mode=_text(meta.get("mode")),
        family=_text(meta.get("family")),
        training_data_digest=_text(meta.get("training_data_digest")),
        training_data_source=_text(meta.get("training_data_source")),
        n_training=meta.get("n_training"),
        trained_at=_text(meta.get("trained_at")),
        generator_version=_text(meta.get("generator_version")),
        training_world=meta.get("training_world"),
        training_code_version=_text(meta.get("code_version")),
        schema_version=int(meta.get("schema_version") or SCHEMA_VERSION),
        metrics=_as_dict(metrics),
        intended_use=str(meta.get("intended_use") or NOT_FOR_CLINICAL_USE),
        model_card=str(card or ""),
        manifest_digest=_text(getattr(bundle, "manifest_digest", None)),
    )
