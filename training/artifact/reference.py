"""The out-of-distribution reference: is this patient like anything the model was trained on?

Two checks, each returning facts (:class:`Atypical`: a code, the field, its value, the training
range) that ``serving.wording`` turns into a sentence a clinician can read:

* **per field** - a numeric value far outside the central 99 % of training values (beyond a margin of
  25 % of that range on a log(1 + x) scale, as lab values and counts are right-skewed and every numeric
  field of the contract is >= 0), or a category / yes-no value that never occurred in training
  (worded "csf_protein_g_per_l = 14 is far outside the training data (99 % of training patients: 0.2 to 3.1)").
  Percentiles rather than minimum and maximum, so the bundle never stores one patient's extreme value;
* **combination** - a diagonal Gaussian mixture (a latent-class density) on the engineered features
  flags records whose findings are each plausible but do not occur together. The threshold is the 1st
  percentile of the scores of held-out patients (never used to fit the density), so about 1 typical
  new patient in 100 is flagged.

Why not an isolation forest: measured on 400 synthetic patients given an impossible mix of findings
(upper-motor-neuron and bulbar signs, anti-GM1 50x, conduction block in 10 of 10 nerves, CSF protein
2 g/L, symmetric sensory loss), an isolation forest on the same features flagged 35-55 % of them at a
0.5 % false-alarm rate, the mixture 100 %; and scikit-learn's ``score_samples`` costs ~35 ms for one row
(a joblib dispatch per tree) against a few microseconds for the mixture's two matrix products.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.mixture import GaussianMixture

from mmn_ddx.data import FEATURE_FIELDS, Columns, fields

RANGE_QUANTILES = (0.005, 0.995)
RANGE_MARGIN = 0.25
"""Flag beyond the central 99 % range widened by 25 % of its width (log(1 + x) scale) on each side."""
FLAG_QUANTILE = 0.01
N_COMPONENTS = 8
REG_COVAR = 1e-2
"""Variance floor in standardised units: keeps near-constant features from dominating the density."""
TOP_ATYPICAL = 3
REFERENCE_FILES = ("reference.json", "reference.npz")
"""The reference's files in a bundle: ranges and categories (JSON), the density's arrays (npz, no pickle)."""


@dataclass(frozen=True)
class Atypical:
    """One reason a record lies outside the training data, as facts (worded by ``serving.wording``).

    ``out_of_range``: numeric ``field`` = ``value``, beyond the range ``low``..``high`` that holds
    ``share`` of training patients; ``unseen_value``: ``field`` = ``value`` never occurred in training;
    ``unusual_combination``: the findings together are rarer than ``share`` of typical patients, the
    ``features`` furthest from the record's best-fitting profile first.
    """

    code: Literal["out_of_range", "unseen_value", "unusual_combination"]
    field: str | None = None
    value: float | str | bool | None = None
    low: float | None = None
    high: float | None = None
    share: float | None = None
    features: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without the facts that do not apply to this code."""
        facts = {"field": self.field, "value": self.value, "low": self.low, "high": self.high, "share": self.share,
                 "features": list(self.features) or None}
        return {"code": self.code, **{k: v for k, v in facts.items() if v is not None}}


RANGE_SHARE = RANGE_QUANTILES[1] - RANGE_QUANTILES[0]
TYPICAL_SHARE = 1.0 - FLAG_QUANTILE


SMALL_FRAME = 16
"""Up to this many rows, checking plain dicts is faster than per-column pandas work (serving path)."""


@dataclass(frozen=True)
class DiagonalMixture:
    """A Gaussian mixture with diagonal covariances on standardised engineered features.

    A diagonal mixture is a latent-class model: each component is a typical profile of findings with
    independent spread, the same shape as the generator's own model, so a record that fits no profile
    (upper-motor-neuron signs *and* high anti-GM1 *and* conduction block in every nerve) scores low
    even when every single value is common. Unknown features (NaN) are set to the training mean.
    Scoring is two matrix products per batch.
    """

    center: np.ndarray
    scale: np.ndarray
    log_weights: np.ndarray
    means: np.ndarray
    """(components, features) in standardised units."""
    variances: np.ndarray

    def standardise(self, X: np.ndarray) -> np.ndarray:
        Z = (X - self.center) / self.scale
        return np.where(np.isnan(Z), 0.0, Z)

    def component_log_likelihood(self, Z: np.ndarray) -> np.ndarray:
        """(n, components): log w_k + log N(z | mu_k, diag var_k)."""
        precision = 1.0 / self.variances
        quadratic = (
            (Z**2) @ precision.T - 2.0 * Z @ (self.means * precision).T + (self.means**2 * precision).sum(axis=1)
        )
        log_norm = -0.5 * np.log(2.0 * np.pi * self.variances).sum(axis=1)
        return self.log_weights + log_norm - 0.5 * quadratic

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """Log-density of each row (higher = more typical)."""
        log_lik = self.component_log_likelihood(self.standardise(X))
        top = log_lik.max(axis=1, keepdims=True)  # logsumexp by hand: scipy's costs 0.2 ms on one row
        return (top + np.log(np.exp(log_lik - top).sum(axis=1, keepdims=True)))[:, 0]

    def atypical_features(self, x: np.ndarray, k: int) -> list[int]:
        """Indices of the ``k`` features furthest from the record's best-fitting profile."""
        z = self.standardise(x[None, :])
        best = int(self.component_log_likelihood(z).argmax())
        distance = (z[0] - self.means[best]) ** 2 / self.variances[best]
        return [int(j) for j in np.argsort(-distance)[:k]]

    @classmethod
    def fit(cls, X: np.ndarray, seed: int) -> DiagonalMixture:
        center, scale = _column_moments(X)
        Z = np.where(np.isnan(X), 0.0, (X - center) / scale)
        mixture = GaussianMixture(N_COMPONENTS, covariance_type="diag", reg_covar=REG_COVAR, random_state=seed,
                                  max_iter=200).fit(Z)
        return cls(center, scale, np.log(mixture.weights_), mixture.means_, mixture.covariances_)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"center": self.center, "scale": self.scale, "log_weights": self.log_weights, "means": self.means,
                "variances": self.variances}

    @classmethod
    def from_arrays(cls, arrays: Any) -> DiagonalMixture:
        return cls(*(np.asarray(arrays[k]) for k in ("center", "scale", "log_weights", "means", "variances")))


@dataclass(frozen=True)
class Reference:
    """What the training data looked like, for the out-of-distribution warnings."""

    ranges: dict[str, tuple[float, float, float, float]]
    """Field -> (0.5th percentile, 99.5th percentile, lower flag limit, upper flag limit)."""
    seen_values: dict[str, list[str]]
    feature_names: list[str]
    density: DiagonalMixture
    score_threshold: float
    n_training: int
    details: dict[str, Any] = field(default_factory=dict)

    def atypical(self, records: Columns | pd.DataFrame | Sequence[Mapping[str, Any]], features: np.ndarray
                 ) -> list[list[Atypical]]:
        """Per patient, the facts that place the record outside the training data ([] = typical).

        ``records``: the patients' columns as read once for the prediction (:mod:`data.columns`, the
        serving path), a canonical frame, or record dicts; ``features``: their engineered features.
        """
        if isinstance(records, pd.DataFrame) and len(records) <= SMALL_FRAME:
            records = [{k: (None if v is pd.NA else v) for k, v in row.items()} for row in records.to_dict("records")]
        if isinstance(records, Columns):
            out = self._field_reasons_columns(records)
        elif isinstance(records, pd.DataFrame):
            out = self._field_reasons_frame(records)
        else:
            out = [self._field_reasons_record(record) for record in records]
        for i in np.flatnonzero(self.density.score_samples(features) < self.score_threshold):
            top = [self.feature_names[j] for j in self.density.atypical_features(features[i], TOP_ATYPICAL)]
            out[i].append(Atypical("unusual_combination", share=TYPICAL_SHARE, features=tuple(top)))
        return out

    def _field_reasons_columns(self, columns: Columns) -> list[list[Atypical]]:
        """The field reasons of :meth:`_field_reasons_record`, in the same order, from the arrays: one
        comparison over every range field, and a code lookup only for fields with never-seen values."""
        out: list[list[Atypical]] = [[] for _ in range(len(columns))]
        names, low, high = self._range_table
        present = [j for j, name in enumerate(names) if name in columns]
        if present and len(columns):
            values = np.column_stack([columns.number(names[j]) for j in present])
            for i, k in zip(*np.nonzero((values < low[present]) | (values > high[present])), strict=True):
                name = names[present[k]]
                q_lo, q_hi, _, _ = self.ranges[name]
                out[i].append(_range_reason(name, float(values[i, k]), q_lo, q_hi))
        for name, labels, unseen in self._unseen_codes:
            if name in columns:
                codes = columns[name]
                for i in np.flatnonzero(unseen[np.where(codes == codes, codes, -1).astype(np.int64)]):
                    out[i].append(_unseen_reason(name, _typed_value(name, labels[int(codes[i])])))
        return out

    @cached_property
    def _range_table(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The range fields with their outer limits stacked, for one comparison per batch."""
        names = list(self.ranges)
        return names, np.array([self.ranges[n][2] for n in names]), np.array([self.ranges[n][3] for n in names])

    @cached_property
    def _unseen_codes(self) -> list[tuple[str, list[str], np.ndarray]]:
        """Fields with a value never seen in training: (name, value labels, unseen-mask by code, last = null)."""
        table = []
        for name, seen in self.seen_values.items():
            labels = _value_labels(name)
            unseen = np.array([label not in seen for label in labels] + [False])  # code -1 (null) reads last
            if unseen.any():
                table.append((name, labels, unseen))
        return table

    def _field_reasons_frame(self, frame: pd.DataFrame) -> list[list[Atypical]]:
        out: list[list[Atypical]] = [[] for _ in range(len(frame))]
        for name, (q_lo, q_hi, lo, hi) in self.ranges.items():
            if name in frame.columns:
                values = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
                for i in np.flatnonzero((values < lo) | (values > hi)):
                    out[i].append(_range_reason(name, float(values[i]), q_lo, q_hi))
        for name, seen in self.seen_values.items():
            if name in frame.columns:
                values = frame[name].astype(object)
                unseen = values.notna().to_numpy() & ~values.astype(str).isin(seen).to_numpy()
                for i in np.flatnonzero(unseen):
                    out[i].append(_unseen_reason(name, values.iloc[i]))
        return out

    def _field_reasons_record(self, record: Mapping[str, Any]) -> list[Atypical]:
        out = []
        for name, (q_lo, q_hi, lo, hi) in self.ranges.items():
            value = record.get(name)
            if value is not None and value == value and not (lo <= value <= hi):  # value == value: not NaN
                out.append(_range_reason(name, float(value), q_lo, q_hi))
        for name, seen in self.seen_values.items():
            value = record.get(name)
            if value is not None and value == value and str(value) not in seen:
                out.append(_unseen_reason(name, value))
        return out

    def save(self, directory: Path) -> None:
        meta = {
            "ranges": self.ranges, "seen_values": self.seen_values, "feature_names": self.feature_names,
            "score_threshold": self.score_threshold, "n_training": self.n_training, "details": self.details,
        }
        (directory / REFERENCE_FILES[0]).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        # numpy's stub matches **kwargs against its allow_pickle: bool parameter; these are all arrays
        np.savez(directory / REFERENCE_FILES[1], **self.density.to_arrays())  # type: ignore[arg-type]

    @classmethod
    def load(cls, directory: Path) -> Reference:
        return cls.from_bytes(*((directory / name).read_bytes() for name in REFERENCE_FILES))

    @classmethod
    def from_bytes(cls, meta_json: bytes, density_npz: bytes) -> Reference:
        """From the contents of :data:`REFERENCE_FILES` (the bundle reads them once, verified)."""
        meta = json.loads(meta_json)
        with np.load(io.BytesIO(density_npz), allow_pickle=False) as arrays:
            density = DiagonalMixture.from_arrays(arrays)
        ranges = {k: (float(v[0]), float(v[1]), float(v[2]), float(v[3])) for k, v in meta["ranges"].items()}
        return cls(ranges, meta["seen_values"], meta["feature_names"], density, float(meta["score_threshold"]),
                   int(meta["n_training"]), meta.get("details", {}))


def _value_labels(name: str) -> list[str]:
    """How a category code (or a boolean's 0.0 / 1.0) of ``name`` reads, as in :attr:`Reference.seen_values`."""
    spec = fields()[name]
    return list(spec.values or ()) if spec.type == "category" else [str(False), str(True)]


def _typed_value(name: str, label: str) -> Any:
    """A value label back as the record holds it (a boolean's "True" is ``True``), so the facts are the same
    whichever way the record was read."""
    return label == str(True) if fields()[name].type == "bool" else label


def _range_reason(name: str, value: float, q_lo: float, q_hi: float) -> Atypical:
    return Atypical("out_of_range", field=name, value=value, low=q_lo, high=q_hi, share=RANGE_SHARE)


def _unseen_reason(name: str, value: Any) -> Atypical:
    return Atypical("unseen_value", field=name, value=value.item() if isinstance(value, np.generic) else value)


def fit_reference(frame: pd.DataFrame, features: np.ndarray, feature_names: list[str], seed: int = 0,
                  held_out_features: np.ndarray | None = None) -> Reference:
    """Learn ranges, seen categories and the density from training data; set the flag threshold on
    ``held_out_features`` (patients the density never saw) when given, else on the training rows."""
    ranges: dict[str, tuple[float, float, float, float]] = {}
    seen: dict[str, list[str]] = {}
    for name in FEATURE_FIELDS:
        spec = fields()[name]
        if name not in frame.columns or spec.type == "string":
            continue
        column = frame[name]
        if spec.is_numeric:
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            values = values[~np.isnan(values)]
            if len(values):
                q_lo, q_hi = (float(q) for q in np.quantile(values, RANGE_QUANTILES))
                log_lo, log_hi = np.log1p(q_lo), np.log1p(q_hi)
                margin = RANGE_MARGIN * (log_hi - log_lo)
                ranges[name] = (q_lo, q_hi, float(np.expm1(log_lo - margin)), float(np.expm1(log_hi + margin)))
        else:
            seen[name] = sorted({str(v) for v in column.dropna().astype(object)})
    density = DiagonalMixture.fit(features, seed)
    calibration = features if held_out_features is None or not len(held_out_features) else held_out_features
    threshold = float(np.quantile(density.score_samples(calibration), FLAG_QUANTILE))
    details = {
        "range_quantiles": list(RANGE_QUANTILES),
        "range_margin": RANGE_MARGIN,
        "flag_quantile": FLAG_QUANTILE,
        "n_components": N_COMPONENTS,
        "threshold_set_on": "held-out patients" if calibration is not features else "training patients",
        "n_threshold": len(calibration),
    }
    return Reference(ranges, seen, list(feature_names), density, threshold, len(frame), details)


def _column_moments(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each column over its known values (0 and 1 for all-null columns)."""
    known = ~np.isnan(features)
    count = np.maximum(known.sum(axis=0), 1)
    filled = np.where(known, features, 0.0)
    mean = filled.sum(axis=0) / count
    var = (np.where(known, features - mean, 0.0) ** 2).sum(axis=0) / count
    std = np.sqrt(var)
    return mean, np.where(std > 0, std, 1.0)
