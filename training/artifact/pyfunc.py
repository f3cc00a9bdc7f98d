"""The MLflow ``python_function`` face of a bundle: ``mlflow models serve`` returns explained predictions.

MLflow 3 recommends *models from code* over a cloud-pickled ``PythonModel`` because unpickling runs
arbitrary code. The older, still documented, custom-flavor route needs neither: the ``MLmodel`` file
names this module as ``loader_module`` and the bundle directory as ``data``, and MLflow calls
``_load_pyfunc(data_path)``. Nothing is pickled (the bundle holds skops, JSON and npz only), no code is
copied into the model, and this module does not import MLflow at all (only :mod:`training.tracking`
does). The price: the environment that loads the model must have the ``mmn-ddx`` package installed,
which every way of serving in this project guarantees.

Serve it with the project's virtualenv active (the scoring server runs ``uvicorn`` from ``PATH``)::

    mlflow models serve -m models:/mmn-ddx@champion --env-manager local   # or -m models/mmn-ddx
    curl -X POST localhost:5000/invocations -H 'Content-Type: application/json' \
         -d '{"dataframe_records": [{"age_at_onset_years": 41, "sex": "male", "nerves_definite_cb": 3}]}'

``predict`` returns one row per patient: ``patient_id``, ``p_MMN``, ``p_MND``, ``p_CIDP``, ``p_MADSAM``,
``predicted_diagnosis``, ``prediction_set`` (JSON list), ``explanation`` (JSON: scale, base values,
outputs and the top findings with their contribution to every class) and ``out_of_distribution``
(JSON list of facts: code, field, value, training range; the words are serving's).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data.contract import DIAGNOSES, ID_FIELD, LABEL, fields, to_canonical
from mmn_ddx.data.record import RecordError, validate_record
from mmn_ddx.features.findings import feature_map, finding_name
from mmn_ddx.training.artifact.bundle import ModelBundle, load_bundle, model_data_directory

TOP_FINDINGS = 5
PROBABILITY_COLUMNS: tuple[str, ...] = tuple(f"p_{d}" for d in DIAGNOSES)
OUTPUT_COLUMNS: tuple[str, ...] = (
    ID_FIELD, *PROBABILITY_COLUMNS, "predicted_diagnosis", "prediction_set", "explanation", "out_of_distribution",
)


def _load_pyfunc(data_path: str) -> BundlePyfunc:
    """MLflow's loader hook: ``data_path`` is the bundle directory inside the MLflow model (checked to be
    inside it, and every file against the bundle's manifest)."""
    return BundlePyfunc(load_bundle(model_data_directory(data_path)))


class InputError(ValueError):
    """A row of the input violates the record contract; the message names row, field and reason."""


class BundlePyfunc:
    """Adapter from a pandas frame of raw records to explained predictions (one row per patient)."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        bundle.explainer  # noqa: B018  # built at load (about a second), not in the first request
        table = feature_map(bundle.mode)
        groups = [table[name].group for name in bundle.feature_names]
        self._groups = list(dict.fromkeys(groups))
        self._labels = [finding_name(g) for g in self._groups]
        self._membership = np.zeros((len(groups), len(self._groups)))
        self._membership[np.arange(len(groups)), [self._groups.index(g) for g in groups]] = 1.0

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Explained predictions for a frame (or list of dicts) of contract records."""
        frame = canonical_input(model_input)
        X = self.bundle.transform(frame)
        probs, attribution = self.bundle.predict_explain(frame, features=X)  # the served numbers, as in serving
        by_finding = np.einsum("nfk,fg->ngk", attribution.values, self._membership)
        predicted = probs.argmax(axis=1)
        sets = self.bundle.prediction_set(probs)
        ood = self.bundle.out_of_distribution(frame, features=X)
        explanations = [
            self._explanation(attribution.base_values[i], attribution.outputs[i], by_finding[i], predicted[i],
                              attribution.scale, attribution.method)
            for i in range(len(frame))
        ]
        ids = frame[ID_FIELD].astype(object).where(frame[ID_FIELD].notna(), None).tolist()
        out = pd.DataFrame({ID_FIELD: ids})
        for j, column in enumerate(PROBABILITY_COLUMNS):
            out[column] = probs[:, j]
        out["predicted_diagnosis"] = [DIAGNOSES[k] for k in predicted]
        out["prediction_set"] = [json.dumps(s) for s in sets]
        out["explanation"] = explanations
        out["out_of_distribution"] = [json.dumps([fact.to_dict() for fact in r]) for r in ood]
        return out

    def _explanation(self, base: np.ndarray, outputs: np.ndarray, groups: np.ndarray, predicted: int, scale: str,
                     method: str) -> str:
        order = np.argsort(-np.abs(groups[:, predicted]), kind="stable")[:TOP_FINDINGS]
        top = [{"finding": self._groups[g], "label": self._labels[g],
                "contributions": _per_class(groups[g])} for g in order]
        return json.dumps({"scale": scale, "method": method, "base_values": _per_class(base),
                           "outputs": _per_class(outputs), "top_findings": top})


def _per_class(values: np.ndarray) -> dict[str, float]:
    return {d: round(float(v), 6) for d, v in zip(DIAGNOSES, values, strict=True)}


def canonical_input(model_input: Any) -> pd.DataFrame:
    """Validate every row against the contract and return a canonical frame.

    Accepts what MLflow's scoring server hands over: a frame whose nulls may be NaN/None/pd.NA, whose
    whole numbers may be floats (a nullable integer column arrives as float) and whose booleans may be
    numpy booleans. Raises :class:`InputError` naming the first bad row and its fields.
    """
    frame = pd.DataFrame(model_input) if not isinstance(model_input, pd.DataFrame) else model_input
    frame = frame.drop(columns=[LABEL], errors="ignore")
    specs = fields()
    records = []
    for i, raw in enumerate(frame.to_dict(orient="records")):
        row = {name: _plain(value, specs[name].type if name in specs else None) for name, value in raw.items()}
        try:
            records.append(validate_record(row).to_dict())
        except RecordError as exc:
            detail = "; ".join(f"field '{f}': {reason}" for f, reason in exc.problems.items())
            raise InputError(f"row {i + 1}: {detail}") from None
    return to_canonical(pd.DataFrame.from_records(records, columns=list(specs)))


def _plain(value: Any, kind: str | None) -> Any:
    """A pandas/numpy cell as the plain Python value the strict record model expects."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value
