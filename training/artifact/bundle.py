"""The exported model bundle: everything serving needs, loadable with no tracking store.

- ``ModelBundle.predict_proba(frame) -> np.ndarray (n, 4)``: calibrated probabilities in
  ``DIAGNOSES`` order for a canonical contract frame (or a list of record dicts, the fast path for
  one patient).
- ``ModelBundle.explain(frame) -> FeatureAttribution``: exact additive SHAP values per engineered feature
  and class, with base values and the scale, such that (log-odds scale)
  ``softmax(base + contributions.sum(features)) == predict_proba(frame)`` to 1e-6.
- ``ModelBundle.prediction_set(probs) -> list[list[str]]``: split-conformal sets at ``coverage``.
- ``ModelBundle.out_of_distribution(frame) -> list[list[str]]``: per patient, human-readable reasons
  why the record lies outside the training data (empty list = in distribution).
- ``ModelBundle.metadata``: name, version, alias, uri, mode, training data digest, generator
  version, code version, schema version, metrics, intended use; ``ModelBundle.model_card``: Markdown.
- ``load_bundle(uri) -> ModelBundle`` from an MLflow model URI (``models:/mmn-ddx@champion``,
  ``runs:/...``) or a local directory (``models/mmn-ddx``, an exported MLflow model, or the bare bundle).

On disk a bundle is a directory of safe formats only: ``pipeline.skops`` (loaded with an explicit
trusted-type list, never unpickled blindly), JSON and ``.npz`` (no pickle). Inside an MLflow model it is
the ``python_function`` flavor's ``data`` directory (see :mod:`training.pyfunc`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio
import yaml
from sklearn.pipeline import Pipeline

from mmn_ddx.data.columns import Columns
from mmn_ddx.data.contract import DIAGNOSES
from mmn_ddx.training.artifact import conformal
from mmn_ddx.training.artifact.calibration import Calibration
from mmn_ddx.training.artifact.explain import Explainer, FeatureAttribution
from mmn_ddx.training.artifact.metadata import BundleMetadata
from mmn_ddx.training.fitting.models import SKOPS_TRUSTED_TYPES, get_family
from mmn_ddx.training.artifact.reference import Reference

__all__ = ["BundleError", "BundleMetadata", "FeatureAttribution", "ModelBundle", "load_bundle"]

FORMAT_VERSION = 1
BUNDLE_FILE = "bundle.json"
PIPELINE_FILE = "pipeline.skops"
CARD_FILE = "model_card.md"
Records = pd.DataFrame | Sequence[Mapping[str, Any]]


class BundleError(Exception):
    """The bundle cannot be found, read or trusted; the message says which file and why."""


class ModelBundle:
    """A fitted champion with its calibration, conformal threshold, OOD reference and documentation."""

    def __init__(self, pipeline: Pipeline, family: str, calibration: Calibration, qhat: float, coverage: float,
                 reference: Reference, metadata: BundleMetadata, model_card: str = "",
                 extra: Mapping[str, Any] | None = None) -> None:
        self.pipeline = pipeline
        self.family = get_family(family)
        self.calibration = calibration
        self.qhat = qhat
        self.coverage = coverage
        self.reference = reference
        self.metadata = metadata
        self.model_card = model_card
        self.extra = dict(extra or {})
        """Free-form facts saved with the bundle (e.g. the conformal calibration size)."""
        self.classes: tuple[str, ...] = DIAGNOSES
        self.mode: str = metadata.mode

    # --- inference ---------------------------------------------------------------------------------

    @property
    def features(self) -> Any:
        """The fitted :class:`features.ClinicalFeatures` step."""
        return self.pipeline.steps[0][1]

    @property
    def estimator(self) -> Any:
        return self.pipeline.steps[-1][1]

    @cached_property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(self.features.get_feature_names_out())

    def transform(self, records: Records) -> np.ndarray:
        """Engineered features (n, F) of a canonical frame or of a list of record dicts."""
        if isinstance(records, pd.DataFrame):
            return np.asarray(self.features.transform(records), dtype=np.float64)
        return self.features.transform_records(list(records))

    def predict_proba(self, records: Records | None = None, *, features: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probabilities (n, 4) in ``DIAGNOSES`` order, of ``records`` or of their ``features``."""
        if features is not None:
            X = features
        elif records is not None:
            X = self.transform(records)
        else:
            raise ValueError("predict_proba needs records or their features")
        table = self.explainer.table  # same numbers as XGBoost's predict, ~4x faster for a few rows
        raw = table.margin(X) if table is not None else self.family.raw_output(self.estimator, X)
        return self.calibration.probabilities(raw)

    @cached_property
    def explainer(self) -> Explainer:
        """Built on first use (tabulating XGBoost's SHAP values takes about a second); serving builds it at load."""
        return Explainer(self.estimator, len(self.feature_names))

    def explain(self, records: Records, *, features: np.ndarray | None = None) -> FeatureAttribution:
        """Exact SHAP values (patient, feature, class) on :attr:`scale`, one vectorised call per batch."""
        X = self.transform(records) if features is None else features
        raw = self.explainer(X).calibrated(self.calibration)
        return FeatureAttribution(
            values=raw.values, base_values=raw.base_values, feature_names=self.feature_names, feature_values=X,
            classes=self.classes, scale=raw.scale, method=raw.method,
        )

    def predict_explain(self, records: Records, *, features: np.ndarray | None = None
                        ) -> tuple[np.ndarray, FeatureAttribution]:
        """Probabilities and their explanation in one pass (the serving path).

        The probabilities are the explanation's own (``softmax(base + sum)``), so they add up exactly
        by construction; they equal :meth:`predict_proba` to ~1e-7 (the same terms summed in another
        order; XGBoost's own float32 sums when its SHAP values are not tabulated). Use this one method wherever explained probabilities are served, so
        every entry point returns identical numbers.
        """
        attribution = self.explain(records, features=features)
        return attribution.probabilities(), attribution

    @property
    def scale(self) -> str:
        """Scale of :meth:`explain`: ``"log-odds"`` (logistic, XGBoost) or ``"probability"`` (forest)."""
        return "log-odds" if self.family.output == "logits" else "probability"

    def prediction_set(self, probs: np.ndarray) -> list[list[str]]:
        """Split-conformal sets at :attr:`coverage`, most probable diagnosis first."""
        return conformal.prediction_sets(np.atleast_2d(probs), self.qhat, self.classes)

    def out_of_distribution(self, records: Records | Columns, *, features: np.ndarray | None = None) -> list[list[str]]:
        """Per patient, readable reasons the record lies outside the training data ([] = in distribution)."""
        X = self.transform(records) if features is None else features
        return self.reference.reasons(records if isinstance(records, (pd.DataFrame, Columns)) else list(records), X)

    # --- persistence -------------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write the bundle files into ``directory`` (created; must not hold another bundle)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        sio.dump(self.pipeline, directory / PIPELINE_FILE)
        self.reference.save(directory)
        (directory / CARD_FILE).write_text(self.model_card, encoding="utf-8")
        document = {
            "format_version": FORMAT_VERSION,
            "family": self.family.name,
            "classes": list(self.classes),
            "feature_names": list(self.feature_names),
            "calibration": self.calibration.to_dict(),
            "conformal": {"qhat": self.qhat, "coverage": self.coverage, "method": conformal.METHOD},
            "explanation_scale": self.scale,
            "metadata": self.metadata.model_dump(mode="json"),
            "extra": self.extra,
        }
        (directory / BUNDLE_FILE).write_text(json.dumps(document, indent=1), encoding="utf-8")
        return directory

    @classmethod
    def from_directory(cls, directory: str | Path, **metadata_updates: Any) -> ModelBundle:
        """Read a bare bundle directory (``bundle.json`` + files); ``metadata_updates`` override metadata."""
        directory = Path(directory)
        path = directory / BUNDLE_FILE
        if not path.is_file():
            raise BundleError(f"{directory}: no {BUNDLE_FILE}; not a model bundle")
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format_version") != FORMAT_VERSION:
            raise BundleError(f"{path}: bundle format {document.get('format_version')!r}, expected {FORMAT_VERSION}")
        pipeline = _load_pipeline(directory / PIPELINE_FILE)
        metadata = BundleMetadata.model_validate(document["metadata"])
        if metadata_updates:
            metadata = metadata.model_copy(update={k: v for k, v in metadata_updates.items() if v is not None})
        card = directory / CARD_FILE
        bundle = cls(
            pipeline=pipeline, family=document["family"], calibration=Calibration.from_dict(document["calibration"]),
            qhat=float(document["conformal"]["qhat"]), coverage=float(document["conformal"]["coverage"]),
            reference=Reference.load(directory), metadata=metadata,
            model_card=card.read_text(encoding="utf-8") if card.is_file() else "", extra=document.get("extra", {}),
        )
        if list(bundle.feature_names) != document["feature_names"]:
            raise BundleError(f"{directory}: the pipeline's features differ from those recorded in {BUNDLE_FILE}")
        return bundle


def _load_pipeline(path: Path) -> Pipeline:
    """Load the skops pipeline, trusting only the project's and the estimators' own types."""
    if not path.is_file():
        raise BundleError(f"{path}: missing")
    untrusted = set(sio.get_untrusted_types(file=path)) - set(SKOPS_TRUSTED_TYPES)
    if untrusted:
        raise BundleError(f"{path}: refusing to load untrusted types {sorted(untrusted)}")
    return sio.load(path, trusted=SKOPS_TRUSTED_TYPES)


def bundle_directory(path: Path) -> Path:
    """The bare bundle inside ``path``: ``path`` itself, or the ``data`` of an MLflow pyfunc model."""
    if (path / BUNDLE_FILE).is_file():
        return path
    mlmodel = path / "MLmodel"
    if mlmodel.is_file():
        flavor = (yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}).get("flavors", {}).get("python_function", {})
        data = flavor.get("data")
        if data and (path / data / BUNDLE_FILE).is_file():
            return path / data
        raise BundleError(f"{path}: an MLflow model, but not an mmn-ddx bundle (no {BUNDLE_FILE} in its data)")
    raise BundleError(f"{path}: neither a model bundle nor an MLflow model directory")


def load_bundle(uri_or_dir: str | Path) -> ModelBundle:
    """Load a bundle from a local directory or any MLflow model URI (``models:/``, ``runs:/``, ...).

    For a URI the model is downloaded through the tracking store (:mod:`training.tracking`), and the
    registered name, version and alias are written into :attr:`ModelBundle.metadata`.
    """
    text = str(uri_or_dir)
    local = Path(text)
    if local.exists():
        return ModelBundle.from_directory(bundle_directory(local), uri=str(local.resolve()))
    if ":/" not in text:
        raise BundleError(f"{text}: no such directory, and not an MLflow model URI (e.g. models:/mmn-ddx@champion)")
    from mmn_ddx.training.fitting import tracking  # only URIs need MLflow

    with tempfile.TemporaryDirectory(prefix="mmn-ddx-model-") as tmp:  # everything is read into memory
        resolved = tracking.download_model(text, Path(tmp))
        return ModelBundle.from_directory(
            bundle_directory(resolved.path), uri=text, name=resolved.name, version=resolved.version,
            alias=resolved.alias,
        )
