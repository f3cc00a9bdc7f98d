"""The MLflow ``python_function`` face of a bundle: ``mlflow models serve`` and ``mlflow.pyfunc.spark_udf``
return explained predictions.

MLflow 3 recommends *models from code* over a cloud-pickled ``PythonModel`` because unpickling runs
arbitrary code. The older, still documented, custom-flavor route needs neither: the ``MLmodel`` file
names this module as ``loader_module`` and the bundle directory as ``data``, and MLflow calls
``_load_pyfunc(data_path)``. Nothing is pickled (the bundle holds skops, JSON and npz only), no code is
copied into the model, and this module imports MLflow only to refuse a record (:mod:`.served_input_error`).
The price: the environment that loads the model must have the ``mmn-ddx`` package installed, which every way
of serving in this project guarantees.

Serve it with the project's virtualenv active (the scoring server runs ``uvicorn`` from ``PATH``)::

    mlflow models serve -m models:/mmn-ddx@champion --env-manager local   # or -m models/mmn-ddx
    curl -X POST localhost:5000/invocations -H 'Content-Type: application/json' \
         -d '{"dataframe_records": [{"age_at_onset_years": 41, "sex": "male", "nerves_definite_cb": 3}]}'

There is no input schema in the signature: MLflow would enforce it before ``predict`` and hide what the
record contract must see (:func:`training.fitting.tracking.model_signature`); ``predict`` checks the records as
sent, as every other entry point does (:mod:`.model_input`), and a refusal reaches an ``/invocations`` client as
status 400 with the reason as its ``message`` (:mod:`.served_input_error` says how, and why not MLflow's default).

``predict`` returns one row per patient with the columns of :data:`OUTPUT_TYPES` (their Spark SQL types,
so ``spark_udf(..., result_type=<struct of OUTPUT_TYPES>)`` returns them as one struct column; see
:mod:`serving.spark`). Every column is computed for the whole frame at once - one contract check, one
feature pass, one SHAP pass, one criteria evaluation - so a Spark Arrow batch costs what a CLI batch
costs, and a Spark worker loads the model once (:func:`_load_pyfunc` is cached per process).
``out_of_distribution`` holds facts (JSON objects: code, field, value, training range); the words are
serving's.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data import DIAGNOSES, ID_FIELD
from mmn_ddx.features import FeatureInputError, feature_map, finding_name
from mmn_ddx.features.criteria import evaluate_all
from mmn_ddx.training.artifact.bundle import ModelBundle, load_bundle, model_data_directory
from mmn_ddx.training.artifact.clinical_setting import DEFAULT_SETTING, SettingError, adjust, check_setting
from mmn_ddx.training.artifact.effects import finding_effects, largest_effects
from mmn_ddx.training.artifact.information import little_information_mask, optional_fields
from mmn_ddx.training.artifact.model_input import InputError, canonical_input
from mmn_ddx.training.artifact.treatment_response import unread_response_mask
from mmn_ddx.training.artifact.warning_codes import (
    DISAGREE_CODE,
    LITTLE_INFORMATION_CODE,
    OOD_CODE,
    SYNTHETIC_CODE,
    TREATMENT_IGNORED_CODE,
    WarningCode,
    codes_per_patient,
)

TOP_FINDINGS = 5
PROBABILITY_COLUMNS: tuple[str, ...] = tuple(f"p_{d}" for d in DIAGNOSES)
OUTPUT_TYPES: dict[str, str] = {
    ID_FIELD: "string",
    **dict.fromkeys(PROBABILITY_COLUMNS, "double"),
    "predicted_diagnosis": "string",
    "prediction_set": "array<string>",
    "top_findings": "array<string>",
    "top_contributions": "array<double>",
    "scale": "string",
    "criteria_label": "string",
    "warnings": "array<string>",
    "out_of_distribution": "array<string>",
    "setting": "string",
}
"""Output columns and their Spark SQL types (the struct a Spark UDF returns).

* ``prediction_set``: split-conformal set at the bundle's coverage, most probable first.
* ``top_findings``: the :data:`TOP_FINDINGS` clinical findings with the largest effect on the predicted class
  (largest absolute effect first), as finding names: the findings, in the order, of every other entry point.
* ``top_contributions``: each top finding's effect on the predicted class (:mod:`.effects`): on the ``log-odds``
  scale the change of the class's log-odds against the other classes when the finding (its features' SHAP
  values) is taken out, in the ``setting``; on the ``probability`` scale its SHAP contribution. The sign says
  towards (+) or away from (-) the predicted class, as the sentences of the other entry points. Not its SHAP
  sum on the class's score: with a softmax that can be positive for a finding that lowers the probability.
* ``criteria_label``: the rule-based cascade of the published criteria (:mod:`features.criteria`).
* ``warnings``: codes, most fundamental first (:data:`.warning_codes.WARNING_CODES`: the codes and order of
  every entry point, ``mmn-ddx predict``'s table included).
* ``out_of_distribution``: the OOD detector's facts, one JSON object each ([] = like the training data).
* ``setting``: the clinical setting the probabilities are for - the ``setting`` parameter (``params`` of
  ``predict``, of the scoring server's JSON and of ``spark_udf``; default :data:`DEFAULT_SETTING`). The
  prediction set's membership stays on the training population's scale, its order is the setting's
  (``ModelBundle.prediction_set_in_setting``).
"""
PARAMS: dict[str, tuple[str, str]] = {"setting": ("string", DEFAULT_SETTING)}
"""Inference parameters (MLflow ``ParamSpec``: name -> type and default) declared in the signature."""
OUTPUT_COLUMNS: tuple[str, ...] = tuple(OUTPUT_TYPES)

@cache
def _load_pyfunc(data_path: str) -> BundlePyfunc:
    """MLflow's loader hook: ``data_path`` is the bundle directory inside the MLflow model (checked to be
    inside it, and every file against the bundle's manifest).

    Cached per process: ``spark_udf`` loads the model for every task, and a Python worker runs many
    tasks; building the explainer takes about a second, scoring a batch of 10 000 well under that.
    """
    return BundlePyfunc(load_bundle(model_data_directory(data_path)))


class BundlePyfunc:
    """Adapter from raw records (:mod:`.model_input`) to explained predictions (one row per patient)."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        bundle.explainer  # noqa: B018  # built at load (about a second), not in the first request
        table = feature_map(bundle.mode)
        groups = [table[name].group for name in bundle.feature_names]
        # findings in the feature map's order (as serving's explanation), so ties sort the same way
        self._groups = [g for g in dict.fromkeys(f.group for f in table.values()) if g in groups]
        self._labels = np.array([finding_name(g) for g in self._groups], dtype=object)
        self._membership = np.zeros((len(groups), len(self._groups)))
        self._membership[np.arange(len(groups)), [self._groups.index(g) for g in groups]] = 1.0
        self._optional = optional_fields(bundle.mode)
        self._synthetic = bundle.metadata.synthetic_training is not None

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Explained predictions for contract records as MLflow or Spark hand them over (a frame, records or
        columns: :mod:`.model_input`, which refuses a record breaking the contract), vectorised.

        ``params``: ``{"setting": name}`` (see :data:`OUTPUT_TYPES`); an unknown name raises a
        :class:`~training.artifact.clinical_setting.SettingError` listing the allowed ones. A refused record
        raises an :class:`InputError`. Both are the classes of :mod:`.served_input_error`, which MLflow's scoring
        server answers with status 400 and their message (row, field, reason; the settings), never the input.
        """
        try:
            setting = check_setting(str((params or {}).get("setting") or DEFAULT_SETTING))
        except SettingError as exc:
            from mmn_ddx.training.artifact.served_input_error import ServedSettingError  # imports MLflow

            raise ServedSettingError(str(exc)) from None
        try:
            frame = canonical_input(model_input)
            X = self.bundle.transform(frame)
        except (InputError, FeatureInputError) as exc:  # FeatureInputError: the features' cross-field rules
            from mmn_ddx.training.artifact.served_input_error import ServedInputError  # imports MLflow

            raise ServedInputError(str(exc)) from None
        bundle = self.bundle
        training_probs, attribution = bundle.predict_explain(frame, features=X)  # the served numbers, as in serving
        shift = bundle.setting_shift(setting)
        probs = adjust(training_probs, shift)  # the findings' contributions do not move
        by_finding = np.einsum("nfk,fg->ngk", attribution.values, self._membership, optimize=True)
        # the effects on the odds do: the setting's log-odds are the training ones plus the shift (as serving's)
        outputs = attribution.outputs + shift if attribution.scale == "log-odds" else attribution.outputs
        effects = finding_effects(by_finding, outputs[:, None, :], attribution.scale)
        predicted = probs.argmax(axis=1)
        own = effects[np.arange(len(frame)), :, predicted]  # (patients, findings): effect on the predicted class
        top = largest_effects(effects, predicted, TOP_FINDINGS)
        ood = bundle.out_of_distribution(frame, features=X)
        little = little_information_mask(frame, self._optional)
        labels = np.asarray(evaluate_all(frame).labels, dtype=object)
        names = np.asarray(DIAGNOSES, dtype=object)[predicted]
        columns = {
            ID_FIELD: frame[ID_FIELD].astype(object).where(frame[ID_FIELD].notna(), None).to_numpy(),
            **{column: probs[:, j] for j, column in enumerate(PROBABILITY_COLUMNS)},
            "predicted_diagnosis": names,
            "prediction_set": bundle.prediction_set_in_setting(training_probs, probs, little),
            "top_findings": self._labels[top].tolist(),
            "top_contributions": np.take_along_axis(own, top, axis=1).tolist(),
            "scale": np.full(len(frame), attribution.scale, dtype=object),
            "criteria_label": labels,
            "warnings": self._warnings(ood, little, unread_response_mask(frame, bundle.mode), labels, names),
            "out_of_distribution": [[json.dumps(fact.to_dict()) for fact in facts] for facts in ood],
            "setting": np.full(len(frame), setting, dtype=object),
        }
        return pd.DataFrame(columns, columns=list(OUTPUT_COLUMNS))

    def _warnings(self, ood: list[list[Any]], little: np.ndarray, ignored: np.ndarray, labels: np.ndarray,
                  predicted: np.ndarray) -> list[list[WarningCode]]:
        """Warning codes per patient (see :data:`OUTPUT_TYPES`), from whole-frame masks."""
        return codes_per_patient({
            SYNTHETIC_CODE: self._synthetic,
            OOD_CODE: [bool(facts) for facts in ood],
            LITTLE_INFORMATION_CODE: little,
            TREATMENT_IGNORED_CODE: ignored,
            DISAGREE_CODE: np.isin(labels, DIAGNOSES) & (labels != predicted),
        }, len(little))
