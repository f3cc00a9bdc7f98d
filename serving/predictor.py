"""The Python API: explained predictions for one patient or a batch, from the champion model.

    >>> predictor = Predictor.load()                      # doctest: +SKIP
    >>> result = predictor.predict({"age_at_onset_years": 41.0, "sex": "male", "nerves_definite_cb": 3,
    ...                             "motor_nerves_studied": 8})   # doctest: +SKIP
    >>> result.predicted_diagnosis, result.prediction_set.diagnoses   # doctest: +SKIP

Every batch is computed vectorised - one read of the patients' fields (:mod:`data.columns`, shared by the
features, the criteria, the OOD check and the null masks of the warnings), their features, one SHAP pass, one
criteria evaluation and the next-test search on the probabilities (Bayes' rule, no model call) - and then
cut into per-patient results, so ``predict_many(records)[i] == predict(records[i])`` (a test holds it) and
one patient costs what a batch of one costs. Input is validated against the record contract before anything
else: bad input raises :class:`data.record.RecordError` (one record) or
:class:`serving.records.BatchRecordError` (rows), naming fields and reasons, never values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import compress
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from mmn_ddx.data import DIAGNOSES, FEATURE_FIELDS, ID_FIELD, Columns, PatientRecord, read_frame, read_records
from mmn_ddx.features import MODES, check_mode, fields_unseen_in
from mmn_ddx.serving import alerts, criteria_view, explanation, next_test
from mmn_ddx.serving.records import frame_records, patient_ids, validate_frame, validate_many, validate_one
from mmn_ddx.serving.result import Audit, ClinicalSetting, NextTest, PredictionResult, PredictionSet
from mmn_ddx.serving.wording.setting import setting_note
from mmn_ddx.settings import CHAMPION_ALIAS, MODEL_NAMES, get_settings
from mmn_ddx.training.artifact import (
    DEFAULT_SETTING,
    Atypical,
    BundleError,
    FeatureAttribution,
    IntegrityError,
    ModelBundle,
    SyntheticTraining,
    adjust,
    check_setting,
    code_version,
    lacks_information,
    load_bundle,
    motor_ncs_done,
    pre_test_probabilities,
    unread_responses,
)

# PatientRecord is built at run time (pydantic create_model from the data dictionary): mypy sees a variable
Record: TypeAlias = Mapping[str, Any] | PatientRecord  # type: ignore[valid-type]


SET_POPULATION = "training"
"""The population the prediction sets are computed for (see ``ModelBundle.prediction_set_in_setting``)."""


def null_mask(columns: Columns) -> np.ndarray:
    """(patients, fields): True where a patient's field is null, fields in :data:`FEATURE_FIELDS` order."""
    return columns.null_mask(FEATURE_FIELDS)


class ModelNotFoundError(FileNotFoundError):
    """No model where one was looked for; the message says where and how to make one."""


def _load(uri: str) -> ModelBundle:
    """``load_bundle`` with every "not there / not readable" failure as :class:`ModelNotFoundError`."""
    try:
        return load_bundle(uri)
    except IntegrityError:
        raise  # a tampered model is not a missing one: never fall back to another model in its place
    except (BundleError, OSError) as exc:
        raise ModelNotFoundError(str(exc)) from None
    except Exception as exc:  # registry errors: MLflow is imported only for URIs, so match it by module
        if type(exc).__module__.startswith("mlflow"):
            raise ModelNotFoundError(f"{uri}: {exc}") from None
        raise


def default_model_uri(mode: str = MODES[0]) -> str:
    """``models:/<name>@champion`` when a tracking store is configured or exists, else the exported model
    (locations from :mod:`mmn_ddx.settings`)."""
    settings = get_settings()
    if settings.has_tracking_store:
        return f"models:/{MODEL_NAMES[check_mode(mode)]}@{CHAMPION_ALIAS}"
    return str(settings.exported_model(check_mode(mode)))


@dataclass(frozen=True)
class Scored:
    """Everything computed for a batch, as arrays; per-patient results are cut from it."""

    patient_ids: list[str | None]
    probs: np.ndarray
    """In the clinical ``setting`` (Bayes' rule from the training prior)."""
    setting: str
    shift: np.ndarray
    """``log(pre-test / training prior)`` per class: added to the logits and to the attribution's base."""
    training_probs: np.ndarray
    """The model's probabilities for its training population (what the conformal sets are calibrated on)."""
    attribution: FeatureAttribution
    group_sums: np.ndarray
    sets: list[list[str]]
    ood: list[list[Atypical]]
    criteria: criteria_view.CriteriaBatch
    recorded: np.ndarray
    n_optional: int
    motor_ncs_done: np.ndarray
    unread_responses: np.ndarray
    """(patients, ``features.fields_unseen_in(mode)``): a recorded treatment response the model does not read."""
    next_tests: list[NextTest | None] | None
    columns: Columns
    """The patients' fields as read once; ``columns.row(i)`` is patient ``i``'s record for the wording."""

    @cached_property
    def predicted(self) -> np.ndarray:
        """Index of the most probable diagnosis per patient (computed once: read per patient)."""
        return self.probs.argmax(axis=1)


class Predictor:
    """Explained predictions from one model bundle (see :mod:`training.bundle`)."""

    def __init__(self, bundle: ModelBundle, uri: str | None = None, *, threads: int = 1) -> None:
        self.bundle = bundle
        self.mode = check_mode(bundle.mode)
        self.uri = uri or bundle.metadata.uri or "<in memory>"
        self.findings = explanation.finding_map(self.mode, tuple(bundle.feature_names))
        self._unseen = fields_unseen_in(self.mode)
        self.threads = threads
        self._shifts: dict[str, np.ndarray] = {}
        self._setting_blocks: dict[tuple[str, str], ClinicalSetting] = {}
        """Per clinical setting, its shift and its results' setting block: the same for every patient, made once."""
        bundle.limit_threads(threads)
        bundle.explainer  # noqa: B018  # built once per process, here rather than in the first request

    @classmethod
    def load(cls, uri: str | None = None, mode: str | None = None, *, threads: int = 1) -> Predictor:
        """Load the champion (``uri=None``), or any MLflow model URI or bundle / MLflow model directory.

        ``mode`` picks the default model (``"at-presentation"`` unless given); with an explicit ``uri``
        it is checked against the model's own mode. With no ``uri``, a registry without a champion falls
        back to the exported model. Raises :class:`ModelNotFoundError` saying where it looked.
        ``threads``: see :meth:`ModelBundle.limit_threads`.
        """
        if uri is None:
            export = get_settings().exported_model(check_mode(mode or MODES[0]))
            uri = default_model_uri(mode or MODES[0])
            try:
                bundle = _load(uri)
            except ModelNotFoundError as exc:
                if not export.exists():
                    raise ModelNotFoundError(
                        f"{exc}; no exported model in {export} either: train one with 'mmn-ddx train' or pass "
                        "--model URI") from None
                uri, bundle = str(export), _load(str(export))
        else:
            bundle = _load(uri)
        if mode is not None and check_mode(mode) != bundle.mode:
            raise ValueError(f"the model at {uri} is a {bundle.mode!r} model, not {mode!r}")
        return cls(bundle, uri, threads=threads)

    @cached_property
    def audit(self) -> Audit:
        meta = self.bundle.metadata
        return Audit(
            model_name=meta.name, model_version=meta.version, model_alias=meta.alias, model_uri=self.uri,
            mode=self.mode, training_data_digest=meta.training_data_digest, generator_version=meta.generator_version,
            training_world_digest=meta.training_world.digest if meta.training_world else None,
            training_world_source=meta.training_world.source if meta.training_world else None,
            code_version=code_version(), training_code_version=meta.code_version, schema_version=meta.schema_version,
            manifest_digest=self.bundle.manifest_digest,
        )

    @cached_property
    def synthetic(self) -> SyntheticTraining | None:
        """Whether the model learned from synthetic patients, ``"only"`` or ``"partly"`` (None: a user cohort alone),
        as the bundle's metadata says (``BundleMetadata.synthetic_training``; frozen: read once, as :attr:`audit`)."""
        return self.bundle.metadata.synthetic_training

    # --- public API ---------------------------------------------------------------------------------

    def predict(self, record: Record, *, with_next_test: bool = True, setting: str | None = None
                ) -> PredictionResult:
        """One patient's explained prediction; :class:`data.record.RecordError` for an invalid record.

        ``setting``: the clinical setting whose pre-test probabilities the result is for (default
        :data:`DEFAULT_SETTING`); an unknown name raises :class:`SettingError` listing the allowed ones.
        """
        check_setting(setting or DEFAULT_SETTING)
        valid = [validate_one(record)]
        return self._results(self.score(valid, with_next_test=with_next_test, setting=setting), valid)[0]

    def predict_many(self, records: Iterable[Record] | pd.DataFrame, *, with_next_test: bool = True,
                     setting: str | None = None) -> list[PredictionResult]:
        """Explained predictions for a batch (list of records or a cohort DataFrame), in input order."""
        check_setting(setting or DEFAULT_SETTING)
        if isinstance(records, pd.DataFrame):
            frame: pd.DataFrame | None = validate_frame(records)
            valid = frame_records(frame)
        else:
            valid, frame = validate_many(records), None
        if not valid:
            return []
        return self._results(self.score(valid, frame, with_next_test=with_next_test, setting=setting), valid)

    def score(self, records: list[dict[str, Any]] | pd.DataFrame, frame: pd.DataFrame | None = None, *,
              with_next_test: bool = True, setting: str | None = None) -> Scored:
        """The vectorised core for *validated* record dicts or a validated canonical frame (or both).

        The patients' fields are read once (:mod:`data.columns`): from the frame when there is one, else
        from the record dicts (validated, so only encoded: no DataFrame for a few patients).
        ``setting`` (default :data:`DEFAULT_SETTING`): see :mod:`training.artifact.clinical_setting`.
        """
        setting = check_setting(setting or DEFAULT_SETTING)
        if isinstance(records, pd.DataFrame):
            records, frame = [], records
        if frame is None:
            columns, ids = read_records(records, validated=True), [
                None if r.get(ID_FIELD) is None else str(r[ID_FIELD]) for r in records]
        else:
            columns, ids = read_frame(frame), patient_ids(frame)
        with self.bundle.thread_context(self.threads):
            return self._score(columns, ids, with_next_test=with_next_test, setting=setting)

    def _score(self, read: Columns, ids: list[str | None], *, with_next_test: bool, setting: str) -> Scored:
        names = list(FEATURE_FIELDS)
        nulls = null_mask(read)
        X = self.bundle.features.transform_columns(read)
        training_probs, attribution = self.bundle.predict_explain(None, features=X)
        shift = self._shift(setting)
        probs = adjust(training_probs, shift)
        if attribution.scale == "log-odds":  # Bayes' rule adds log(pi_s / pi_train) to every logit: the base moves
            attribution = replace(attribution, base_values=attribution.base_values + shift)
        recorded, n_optional = alerts.recorded_counts(nulls, names, self.mode)
        motor_done = motor_ncs_done(read)  # the rule the prediction sets' thresholds were calibrated with
        return Scored(
            patient_ids=ids,
            probs=probs,
            setting=setting,
            shift=shift,
            training_probs=training_probs,
            attribution=attribution,
            group_sums=self.findings.sums(attribution.values),
            sets=self.bundle.prediction_set_in_setting(
                training_probs, probs, np.asarray(lacks_information(recorded, n_optional, motor_done))),
            ood=self.bundle.out_of_distribution(read, features=X),
            criteria=criteria_view.evaluate(read),
            recorded=recorded,
            n_optional=n_optional,
            motor_ncs_done=motor_done,
            unread_responses=unread_responses(read, self.mode),
            next_tests=next_test.next_tests(read, probs, self.bundle.outcomes) if with_next_test else None,
            columns=read,
        )

    # --- per-patient results ------------------------------------------------------------------------

    def _results(self, scored: Scored, records: list[dict[str, Any]]) -> list[PredictionResult]:
        setting = self.clinical_setting(scored)
        return [self._result(scored, i, records[i], scored.patient_ids[i], setting) for i in range(len(records))]

    def _shift(self, setting: str) -> np.ndarray:
        """``bundle.setting_shift(setting)``, computed once per setting (read-only: shared by every batch)."""
        shift = self._shifts.get(setting)
        if shift is None:
            shift = self.bundle.setting_shift(setting)
            shift.flags.writeable = False
            self._shifts[setting] = shift
        return shift

    def clinical_setting(self, scored: Scored) -> ClinicalSetting:
        """The setting block of a batch's results (the same for every patient of the batch, and of every batch in
        that setting: made once per setting and shared, like :attr:`audit`; the model is frozen)."""
        key = (scored.setting, scored.attribution.scale)
        block = self._setting_blocks.get(key)
        if block is None:
            pre_test = pre_test_probabilities(scored.setting)
            block = self._setting_blocks[key] = ClinicalSetting(
                name=scored.setting, is_default=scored.setting == DEFAULT_SETTING, pre_test_probabilities=pre_test,
                training_prior=dict(self.bundle.metadata.training_prior or {}),
                note=setting_note(scored.setting, pre_test, is_default=scored.setting == DEFAULT_SETTING,
                                  additive=key[1] == "log-odds", set_population=SET_POPULATION))
        return block

    def _result(self, scored: Scored, i: int, record: Mapping[str, Any], patient_id: str | None,
                setting: ClinicalSetting) -> PredictionResult:
        k = int(scored.predicted[i])
        predicted = DIAGNOSES[k]
        attribution = scored.attribution
        criteria = criteria_view.summary(scored.criteria, i, predicted)
        return PredictionResult(
            patient_id=patient_id,
            predicted_diagnosis=predicted,
            probabilities={d: float(p) for d, p in zip(DIAGNOSES, scored.probs[i].tolist(), strict=True)},
            prediction_set=PredictionSet(diagnoses=scored.sets[i], coverage=self.bundle.coverage,
                                         method=self.bundle.conformal_method, population=SET_POPULATION),
            setting=setting,
            explanation=explanation.build_explanation(
                self.findings, attribution.values[i], attribution.base_values[i], scored.group_sums[i],
                attribution.feature_values[i], record, k, attribution.method, attribution.scale,
                base_shift=scored.shift if attribution.scale == "log-odds" else None),
            criteria=criteria,
            next_test=scored.next_tests[i] if scored.next_tests is not None else None,
            warnings=alerts.warnings_for(
                synthetic=self.synthetic, ood=scored.ood[i], recorded=int(scored.recorded[i]),
                total=scored.n_optional, motor_ncs_done=bool(scored.motor_ncs_done[i]),
                unread=tuple(compress(self._unseen, scored.unread_responses[i].tolist())), mode=self.mode,
                agrees=criteria.agrees_with_model, label=criteria.rule_based_label, predicted=predicted),
            audit=self.audit,
        )
