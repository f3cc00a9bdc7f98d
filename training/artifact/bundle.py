"""The exported model bundle: everything serving needs, loadable with no tracking store.

- ``ModelBundle.predict_proba(frame) -> np.ndarray (n, 4)``: calibrated probabilities in
  ``DIAGNOSES`` order for a canonical contract frame (or a list of record dicts, the fast path for
  one patient).
- ``ModelBundle.explain(frame) -> FeatureAttribution``: exact additive SHAP values per engineered feature
  and class, with base values and the scale, such that (log-odds scale)
  ``softmax(base + contributions.sum(features)) == predict_proba(frame)`` to 1e-6.
- ``ModelBundle.prediction_set(probs, little_information) -> list[list[str]]``: split-conformal sets at
  ``coverage`` (``little_information``: each record's flag, :func:`information.little_information_mask`).
- ``ModelBundle.out_of_distribution(frame) -> list[list[Atypical]]``: per patient, the facts (field,
  value, training range, ...) placing the record outside the training data (empty = in distribution).
- ``ModelBundle.metadata``: name, version, alias, uri, mode, training data digest, generator
  version, code version, schema version, metrics, intended use; ``ModelBundle.model_card``: Markdown.
- ``load_bundle(uri) -> ModelBundle`` from an MLflow model URI (``models:/mmn-ddx@champion``,
  ``runs:/...``) or a local directory (``models/mmn-ddx``, an exported MLflow model, or the bare bundle).

On disk a bundle is a directory of safe formats only: ``pipeline.skops`` (loaded with an explicit
trusted-type list, never unpickled blindly), JSON and ``.npz`` (no pickle), sealed by a manifest of
SHA-256 digests (:mod:`training.artifact.manifest`) that is checked before anything is read. A bundle trained on
a user cohort also holds its records' fingerprints (:mod:`training.artifact.fingerprints`; optional: older
bundles and synthetic-only ones have none). Inside an
MLflow model it is the ``python_function`` flavor's ``data`` directory (see :mod:`training.pyfunc`),
which must lie inside the model directory.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import skops.io as sio
import yaml
from sklearn.pipeline import Pipeline

from mmn_ddx.data import DIAGNOSES, Columns
from mmn_ddx.training.artifact import clinical_setting, conformal, estimators
from mmn_ddx.training.artifact.calibration import Calibration
from mmn_ddx.training.artifact.estimators import SKOPS_TRUSTED_TYPES
from mmn_ddx.training.artifact.explain import Explainer, FeatureAttribution
from mmn_ddx.training.artifact.fingerprints import FINGERPRINTS_FILE, RecordFingerprints
from mmn_ddx.training.artifact.information import little_information_mask, optional_fields
from mmn_ddx.training.artifact.manifest import BundleError, IntegrityError, read_verified, write_manifest
from mmn_ddx.training.artifact.metadata import BundleMetadata
from mmn_ddx.training.artifact.outcomes import OUTCOMES_FILE, OutcomeTables
from mmn_ddx.training.artifact.reference import REFERENCE_FILES, Atypical, Reference
from mmn_ddx.training.artifact.store import download_model

__all__ = ["Atypical", "BundleError", "BundleMetadata", "FeatureAttribution", "IntegrityError", "ModelBundle",
           "load_bundle"]

FORMAT_VERSION = 2
"""2: the next-test outcome tables are part of the bundle (``next_test.json``)."""
BUNDLE_FILE = "bundle.json"
PIPELINE_FILE = "pipeline.skops"
CARD_FILE = "model_card.md"
Records: TypeAlias = pd.DataFrame | Sequence[Mapping[str, Any]]


class ModelBundle:
    """A fitted champion with its calibration, conformal threshold, OOD reference and documentation."""

    def __init__(self, pipeline: Pipeline, family: str, calibration: Calibration, qhat: float | np.ndarray,
                 coverage: float,
                 reference: Reference, metadata: BundleMetadata, model_card: str = "",
                 extra: Mapping[str, Any] | None = None, *, outcomes: OutcomeTables,
                 fingerprints: RecordFingerprints | None = None) -> None:
        self.pipeline = pipeline
        self.family = family
        """The candidate family's name (``logistic``, ``forest``, ``xgboost``)."""
        self.calibration = calibration
        self.qhat = qhat
        self.coverage = coverage
        self.reference = reference
        self.outcomes = outcomes
        """The next-test outcome tables, fitted in training with their provenance."""
        self.fingerprints = fingerprints
        """Fingerprints of the user-cohort training records (``benchmark`` refuses them as test patients); None
        for a synthetic-only model or a bundle exported before they were stored."""
        self.metadata = metadata
        self.model_card = model_card
        self.extra = dict(extra or {})
        """Free-form facts saved with the bundle (e.g. the conformal calibration size)."""
        self.classes: tuple[str, ...] = DIAGNOSES
        self.mode: str = metadata.mode
        self.manifest_digest: str | None = None
        """SHA-256 of the manifest this bundle was loaded from or saved with (None: never saved)."""

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
        raw = table.margin(X) if table is not None else estimators.raw_output(self.estimator, X)
        return self.calibration.probabilities(raw)

    def limit_threads(self, threads: int) -> None:
        """Threads the model may use per call (see :func:`estimators.limit_threads`)."""
        estimators.limit_threads(self.estimator, threads)

    def thread_context(self, threads: int) -> contextlib.AbstractContextManager[None]:
        """Thread-local cap for one scoring call; a no-op when the SHAP values are tabulated (the model
        library is then never called while serving, and its configuration context is not free)."""
        if self.explainer.table is not None:
            return contextlib.nullcontext()
        return estimators.thread_context(self.estimator, threads)

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
        order; XGBoost's own float32 sums when its SHAP values are not tabulated). Use this one method wherever
        explained probabilities are served, so
        every entry point returns identical numbers.
        """
        attribution = self.explain(records, features=features)
        return attribution.probabilities(), attribution

    @property
    def scale(self) -> str:
        """Scale of :meth:`explain`: ``"log-odds"`` (logistic, XGBoost) or ``"probability"`` (forest)."""
        return "log-odds" if estimators.output_of(self.estimator) == "logits" else "probability"

    @property
    def conformal_method(self) -> str:
        """How the set thresholds were calibrated, in words (read from their shape: marginal, per diagnosis, or per
        diagnosis and information group)."""
        methods = (conformal.METHOD, conformal.MONDRIAN_METHOD, conformal.INFORMATION_METHOD)
        return methods[min(int(np.ndim(self.qhat)), 2)]

    def prediction_set(self, probs: np.ndarray, little_information: np.ndarray | None = None) -> list[list[str]]:
        """Split-conformal sets at :attr:`coverage`, most probable diagnosis first; ``little_information`` (one
        flag per record) is needed when the thresholds are calibrated per information group (:attr:`qhat` 2-D)."""
        return conformal.prediction_sets(np.atleast_2d(probs), self.qhat, self.classes,
                                         little_information=little_information)

    def record_sets(self, records: pd.DataFrame, probs: np.ndarray) -> list[list[str]]:
        """:meth:`prediction_set` for a canonical frame of records and their probabilities, each record's
        information group read from it (:func:`information.little_information_mask`)."""
        return self.prediction_set(probs, little_information_mask(records, optional_fields(self.mode)))

    def setting_shift(self, setting: str) -> np.ndarray:
        """``log(pi_s / pi_train)`` per class for a clinical setting (:mod:`training.artifact.clinical_setting`),
        relative to the training prior recorded in the metadata: never an assumed one."""
        prior = self.metadata.training_prior
        if prior is None:
            raise BundleError(f"model {self.metadata.name!r} does not record the class mix it was trained on, so no "
                              "clinical setting can be applied: retrain and re-export it")
        return clinical_setting.log_shift(setting, prior)

    def prediction_set_in_setting(self, training_probs: np.ndarray, setting_probs: np.ndarray,
                                  little_information: np.ndarray | None = None) -> list[list[str]]:
        """The prediction sets served with a clinical setting's probabilities: the one seam for conformal sets.

        Membership is decided on the training population's probabilities, where the thresholds were calibrated.
        With one threshold per diagnosis (Mondrian, :func:`conformal.class_thresholds`) each diagnosis' coverage
        holds whatever the setting's class mix: the score is a function of the record, whose distribution within
        a diagnosis a change of pre-test probabilities does not move (Vovk et al. 2005; Podkopaev & Ramdas, UAI
        2021); a bundle with one marginal threshold keeps its promise for the training population only. The
        setting's most probable diagnosis is always in, and the set is listed in the setting's order. Thresholds
        per information group (:func:`conformal.group_class_thresholds`) need each record's ``little_information``
        flag; a change of setting does not move it either.
        """
        return conformal.prediction_sets(np.atleast_2d(training_probs), self.qhat, self.classes,
                                         shown=np.atleast_2d(setting_probs), little_information=little_information)

    def out_of_distribution(self, records: Records | Columns, *, features: np.ndarray | None = None
                            ) -> list[list[Atypical]]:
        """Per patient, the facts placing the record outside the training data ([] = in distribution)."""
        X = self.transform(records) if features is None else features
        return self.reference.atypical(records if isinstance(records, (pd.DataFrame, Columns)) else list(records), X)

    # --- persistence -------------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write the bundle files into ``directory`` (created; must not hold another bundle)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        sio.dump(self.pipeline, directory / PIPELINE_FILE)
        self.reference.save(directory)
        self.outcomes.save(directory)
        if self.fingerprints is not None:
            self.fingerprints.save(directory)
        (directory / CARD_FILE).write_text(self.model_card, encoding="utf-8")
        document = {
            "format_version": FORMAT_VERSION,
            "family": self.family,
            "classes": list(self.classes),
            "feature_names": list(self.feature_names),
            "calibration": self.calibration.to_dict(),
            "conformal": {"qhat": np.asarray(self.qhat).tolist(), "coverage": self.coverage,
                          "method": self.conformal_method},
            "explanation_scale": self.scale,
            "metadata": self.metadata.model_dump(mode="json"),
            "extra": self.extra,
        }
        (directory / BUNDLE_FILE).write_text(json.dumps(document, indent=1), encoding="utf-8")
        self.manifest_digest = write_manifest(directory)  # last: it seals every file written above
        return directory

    @classmethod
    def from_directory(cls, directory: str | Path, **metadata_updates: Any) -> ModelBundle:
        """Read a bare bundle directory (``bundle.json`` + files); ``metadata_updates`` override metadata.

        Every file is checked against the manifest first (:class:`IntegrityError` names a changed, added,
        removed or symlinked file) and then built from the verified bytes.
        """
        directory = Path(directory)
        path = directory / BUNDLE_FILE
        if not path.is_file():
            raise BundleError(f"{directory}: no {BUNDLE_FILE}; not a model bundle")
        files, digest = read_verified(directory)
        document = json.loads(_file(files, directory, BUNDLE_FILE))
        if document.get("format_version") != FORMAT_VERSION:
            raise BundleError(f"{path}: bundle format {document.get('format_version')!r}, expected {FORMAT_VERSION}")
        pipeline = _load_pipeline(directory / PIPELINE_FILE, _file(files, directory, PIPELINE_FILE))
        metadata = BundleMetadata.model_validate(document["metadata"])
        if metadata_updates:
            metadata = metadata.model_copy(update={k: v for k, v in metadata_updates.items() if v is not None})
        card = files.get(CARD_FILE)
        bundle = cls(
            pipeline=pipeline, family=document["family"], calibration=Calibration.from_dict(document["calibration"]),
            qhat=_thresholds(document["conformal"]["qhat"]), coverage=float(document["conformal"]["coverage"]),
            reference=Reference.from_bytes(*(_file(files, directory, name) for name in REFERENCE_FILES)),
            outcomes=OutcomeTables.from_bytes(_file(files, directory, OUTCOMES_FILE)),
            fingerprints=_fingerprints(files, directory),
            metadata=metadata, model_card=card.decode("utf-8") if card is not None else "",
            extra=document.get("extra", {}),
        )
        if list(bundle.feature_names) != document["feature_names"]:
            raise BundleError(f"{directory}: the pipeline's features differ from those recorded in {BUNDLE_FILE}")
        bundle.manifest_digest = digest
        return bundle


def _file(files: Mapping[str, bytes], directory: Path, name: str) -> bytes:
    if name not in files:
        raise BundleError(f"{directory / name}: missing")
    return files[name]


def _fingerprints(files: Mapping[str, bytes], directory: Path) -> RecordFingerprints | None:
    """The training records' fingerprints when the bundle holds them (optional file)."""
    if FINGERPRINTS_FILE not in files:
        return None
    try:
        return RecordFingerprints.from_bytes(files[FINGERPRINTS_FILE])
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise BundleError(f"{directory / FINGERPRINTS_FILE}: {exc}") from None


def _load_pipeline(path: Path, data: bytes | None = None) -> Pipeline:
    """Load the skops pipeline (from ``data`` when already read), trusting only the project's and the
    estimators' own types."""
    if data is None:
        if not path.is_file():
            raise BundleError(f"{path}: missing")
        data = path.read_bytes()
    untrusted = set(sio.get_untrusted_types(data=data)) - set(SKOPS_TRUSTED_TYPES)
    if untrusted:
        raise BundleError(f"{path}: refusing to load untrusted types {sorted(untrusted)}")
    return sio.loads(data, trusted=SKOPS_TRUSTED_TYPES)


def bundle_directory(path: Path) -> Path:
    """The bare bundle inside ``path``: ``path`` itself, or the ``data`` of an MLflow pyfunc model."""
    if (path / BUNDLE_FILE).is_file():
        return path
    mlmodel = path / "MLmodel"
    if mlmodel.is_file():
        data = _pyfunc_data(mlmodel)
        if data and (path / data / BUNDLE_FILE).is_file():
            return inside_model(path, data)
        raise BundleError(f"{path}: an MLflow model, but not an mmn-ddx bundle (no {BUNDLE_FILE} in its data)")
    raise BundleError(f"{path}: neither a model bundle nor an MLflow model directory")


def _pyfunc_data(mlmodel: Path) -> str | None:
    """The ``python_function`` flavor's ``data`` path in an ``MLmodel`` file."""
    flavor = (yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}).get("flavors", {}).get("python_function", {})
    data = flavor.get("data") if isinstance(flavor, dict) else None
    return None if data is None else str(data)


def model_data_directory(data_path: str | Path) -> Path:
    """For MLflow's loader hook: ``data_path`` (``<model>/<data>`` as MLflow joined it), once checked to be
    the data directory of the MLflow model around it and to lie inside that model (:func:`inside_model`).

    MLflow joins the ``MLmodel``'s ``data`` to the model path without checking it, so an absolute or
    ``..`` path reaches this hook pointing anywhere; the model is found as the nearest directory above
    ``data_path`` whose ``MLmodel`` names it.
    """
    given = Path(data_path)
    for model_dir in given.parents:
        mlmodel = model_dir / "MLmodel"
        if mlmodel.is_file() and (data := _pyfunc_data(mlmodel)) is not None and Path(model_dir, data) == given:
            return inside_model(model_dir, data)
    raise IntegrityError(f"{data_path}: not inside the MLflow model whose MLmodel names it as data; refusing to "
                         "load a bundle from outside its model directory")


def inside_model(model_dir: Path, data: str) -> Path:
    """The ``data`` directory named by an ``MLmodel`` file, refused unless it lies inside ``model_dir``.

    ``data`` must be a relative path with no ``..`` and no symbolic link on the way: otherwise an edited
    ``MLmodel`` could load a bundle from anywhere on the machine.
    """
    relative = Path(data)
    target, leaves = model_dir, relative.is_absolute() or ".." in relative.parts
    for part in () if leaves else relative.parts:
        target = target / part
        leaves = leaves or target.is_symlink()
    if leaves or not target.resolve().is_relative_to(model_dir.resolve()):
        raise IntegrityError(f"{model_dir / 'MLmodel'}: its data path {data!r} leaves the model directory "
                             f"{model_dir}; refusing to load it")
    return target


def load_bundle(uri_or_dir: str | Path) -> ModelBundle:
    """Load a bundle from a local directory or any MLflow model URI (``models:/``, ``runs:/``, ...).

    For a URI the model is downloaded from the tracking store (:mod:`.store`), and the
    registered name, version and alias are written into :attr:`ModelBundle.metadata`.
    """
    text = str(uri_or_dir)
    local = Path(text)
    if local.exists():
        return ModelBundle.from_directory(bundle_directory(local), uri=str(local.resolve()))
    if ":/" not in text:
        raise BundleError(f"{text}: no such directory, and not an MLflow model URI (e.g. models:/mmn-ddx@champion)")

    with tempfile.TemporaryDirectory(prefix="mmn-ddx-model-") as tmp:  # everything is read into memory
        resolved = download_model(text, Path(tmp))
        return ModelBundle.from_directory(
            bundle_directory(resolved.path), uri=text, name=resolved.name, version=resolved.version,
            alias=resolved.alias,
        )


def _thresholds(value: Any) -> float | np.ndarray:
    """The conformal threshold: one number (marginal), one per class (Mondrian), or one per class and
    information group (rows :data:`conformal.INFORMATION_GROUPS`)."""
    if np.ndim(value) == 0:
        return float(value)
    thresholds = np.asarray(value, dtype=float)
    if thresholds.ndim == 2 and thresholds.shape[0] != len(conformal.INFORMATION_GROUPS):
        raise BundleError(f"conformal thresholds: {thresholds.shape[0]} rows, expected one per information group "
                          f"{conformal.INFORMATION_GROUPS}")
    return thresholds
