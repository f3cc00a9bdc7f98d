"""The out-of-distribution reference: is this patient like anything the model was trained on?

Two checks, each returning facts (:class:`Atypical`: a code, the field, its value, the training
range) that ``serving.wording`` turns into a sentence a clinician can read:

* **per field** - a numeric value far outside the central 99 % of training values (beyond a margin of
  25 % of that range on a log(1 + x) scale, as lab values and counts are right-skewed and every numeric
  field of the contract is >= 0), or a category / yes-no value that never occurred in training
  (worded "CSF protein = 14 g/L is far outside the training data (99 % of training patients: 0.2 to 3.1 g/L)").
  Percentiles rather than minimum and maximum, so the bundle never stores one patient's extreme value;
* **combination** - a diagonal Gaussian mixture (a latent-class density) on the engineered features
  flags records whose findings are each plausible but do not occur together. Unrecorded features are
  marginalised out, not imputed: the density of a sparse record is that of what it does say, so a letter
  stating three findings that never occur together is flagged as readily as a full work-up. Because a
  density over fewer features is not comparable with one over many, the flag threshold is set per
  information level (bins of the number of recorded features): the 1st percentile of the scores of
  held-out patients with about as much information (never used to fit the density), so about 1 typical new
  patient in 100 is flagged whether the record is a tertiary work-up or a case report.

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
MIN_PER_INFORMATION_BIN = 100
"""Held-out patients per information level at least: below 1 / FLAG_QUANTILE the 1st percentile is no
longer a score that a typical patient falls under about once in a hundred."""
MAX_INFORMATION_BINS = 5
DENSITY_ROWS = 30_000
"""The density is fitted on at most this many training rows (a seeded sample), its start on fewer."""
START_ROWS = 5_000
MAX_COMPONENTS = 16
"""Up to 16 profiles: with 8, a fifth of impossible work-ups (UMN and bulbar signs with blocks in every nerve
and anti-GM1 50x) passed at a 1 % false-alarm rate; with 16 none did (measured on the make-demo features)."""
ROWS_PER_COMPONENT = 200
"""Fewer profiles for small cohorts: 16 profiles of 116 features fitted to 1 600 patients are so narrow that
a textbook MMN vignette falls outside them."""

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


def n_components(n_rows: int) -> int:
    """Profiles of the density for ``n_rows`` training patients: one per :data:`ROWS_PER_COMPONENT`, 2 to 16."""
    return int(np.clip(n_rows // ROWS_PER_COMPONENT, 2, MAX_COMPONENTS))


@dataclass(frozen=True)
class DiagonalMixture:
    """A Gaussian mixture with diagonal covariances on standardised engineered features.

    A diagonal mixture is a latent-class model: each component is a typical profile of findings with
    independent spread, the same shape as the generator's own model, so a record that fits no profile
    (upper-motor-neuron signs *and* high anti-GM1 *and* conduction block in every nerve) scores low
    even when every single value is common. Unknown features (NaN) are marginalised out: with diagonal
    covariances that is exact and costs one more matrix product (``imputed``: a bundle exported before
    this read them as the training mean, and keeps doing so). Scoring is three matrix products per batch.
    """

    center: np.ndarray
    scale: np.ndarray
    log_weights: np.ndarray
    means: np.ndarray
    """(components, features) in standardised units."""
    variances: np.ndarray
    imputed: bool = False

    def standardise(self, X: np.ndarray) -> np.ndarray:
        Z = (X - self.center) / self.scale
        return np.where(np.isnan(Z), 0.0, Z)

    def observed(self, X: np.ndarray) -> np.ndarray:
        """(n, features) 1.0 where the feature is known (all ones for an ``imputed`` density)."""
        return np.ones(X.shape) if self.imputed else (~np.isnan(X)).astype(float)

    def component_log_likelihood(self, Z: np.ndarray, observed: np.ndarray | None = None) -> np.ndarray:
        """(n, components): log w_k + log N(z_obs | mu_k, diag var_k) over each row's ``observed`` features."""
        precision, weighted_means, squares, log_norm, per_observed = self._terms
        if observed is None:
            quadratic = (Z**2) @ precision.T - 2.0 * Z @ weighted_means.T + squares
            return self.log_weights - 0.5 * log_norm - 0.5 * quadratic
        quadratic = (Z**2) @ precision.T - 2.0 * Z @ weighted_means.T + observed @ per_observed.T
        return self.log_weights - 0.5 * quadratic

    @cached_property
    def _terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The parameters' own products, made once per mixture (on one patient they cost more than the products
        with its values): precision, means x precision, per component the sums of means^2 x precision and of
        the log normaliser (every feature known), and per feature their sum (to add over the observed ones)."""
        precision = 1.0 / self.variances
        log_norm = np.log(2.0 * np.pi * self.variances)
        squares = self.means**2 * precision
        return precision, self.means * precision, squares.sum(axis=1), log_norm.sum(axis=1), squares + log_norm

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """Log-density of what each row records (higher = more typical)."""
        log_lik = self.component_log_likelihood(self.standardise(X), None if self.imputed else self.observed(X))
        top = log_lik.max(axis=1, keepdims=True)  # logsumexp by hand: scipy's costs 0.2 ms on one row
        return (top + np.log(np.exp(log_lik - top).sum(axis=1, keepdims=True)))[:, 0]

    def atypical_features(self, x: np.ndarray, k: int) -> list[int]:
        """Indices of the ``k`` recorded features furthest from the record's best-fitting profile."""
        observed = self.observed(x[None, :])
        z = self.standardise(x[None, :])
        best = int(self.component_log_likelihood(z, None if self.imputed else observed).argmax())
        distance = np.where(observed[0] > 0, (z[0] - self.means[best]) ** 2 / self.variances[best], -np.inf)
        return [int(j) for j in np.argsort(-distance)[:k] if np.isfinite(distance[j])]

    @classmethod
    def start(cls, X: np.ndarray, seed: int) -> DiagonalMixture:
        """The EM's starting point: scikit-learn's GaussianMixture on up to :data:`START_ROWS` rows, unknown
        features read as the mean (where it cannot do better)."""
        center, scale = _column_moments(X)
        rows = np.sort(np.random.default_rng(seed).permutation(len(X))[:START_ROWS])
        Z = np.where(np.isnan(X[rows]), 0.0, (X[rows] - center) / scale)
        start = GaussianMixture(n_components(len(X)), covariance_type="diag", reg_covar=REG_COVAR, random_state=seed,
                                max_iter=100).fit(Z)
        return cls(center, scale, np.log(start.weights_), start.means_, start.covariances_)

    @classmethod
    def fit(cls, X: np.ndarray, seed: int, max_iter: int = 200, tol: float = 1e-3) -> DiagonalMixture:
        """EM for a diagonal Gaussian mixture with features missing at random, from :meth:`start`.

        Why hand-written: scikit-learn's GaussianMixture refuses NaN (and imputing the mean biases every
        component towards the average patient); pomegranate handles missing values but brings PyTorch. The
        exact missing-data EM: a missing feature contributes its component's mean and variance to the
        expected sufficient statistics. Stops when the mean log-likelihood gains less than ``tol``.
        """
        mixture = cls.start(X, seed)
        Z = mixture.standardise(X)
        observed = (~np.isnan(X)).astype(float)
        previous = -np.inf
        for _ in range(max_iter):
            log_lik = mixture.component_log_likelihood(Z, observed)
            top = log_lik.max(axis=1, keepdims=True)
            log_total = top + np.log(np.exp(log_lik - top).sum(axis=1, keepdims=True))
            average = float(log_total.mean())
            if average - previous < tol:
                break
            mixture, previous = mixture._m_step(Z, observed, np.exp(log_lik - log_total)), average
        return mixture

    def _m_step(self, Z: np.ndarray, observed: np.ndarray, resp: np.ndarray) -> DiagonalMixture:
        n_k = resp.sum(axis=0) + 10 * np.finfo(float).eps
        seen = resp.T @ observed                      # (K, d): responsibility mass where the feature is known
        first = resp.T @ Z                            # Z is 0 where unknown
        second = resp.T @ (Z**2)
        missing = n_k[:, None] - seen
        means = (first + self.means * missing) / n_k[:, None]
        spread = second - 2.0 * means * first + means**2 * seen + missing * ((self.means - means) ** 2 + self.variances)
        variances = spread / n_k[:, None] + REG_COVAR
        return DiagonalMixture(self.center, self.scale, np.log(n_k / n_k.sum()), means, variances)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"center": self.center, "scale": self.scale, "log_weights": self.log_weights, "means": self.means,
                "variances": self.variances}

    @classmethod
    def from_arrays(cls, arrays: Any, imputed: bool = False) -> DiagonalMixture:
        center, scale, log_weights, means, variances = (
            np.asarray(arrays[k]) for k in ("center", "scale", "log_weights", "means", "variances"))
        return cls(center, scale, log_weights, means, variances, imputed=imputed)


@dataclass(frozen=True)
class Reference:
    """What the training data looked like, for the out-of-distribution warnings."""

    ranges: dict[str, tuple[float, float, float, float]]
    """Field -> (0.5th percentile, 99.5th percentile, lower flag limit, upper flag limit)."""
    seen_values: dict[str, list[str]]
    feature_names: list[str]
    density: DiagonalMixture
    score_thresholds: list[float]
    """The flag threshold per information level (see :meth:`thresholds`)."""
    information_edges: list[float]
    """Bin edges on the number of recorded features: bin i holds counts in (edges[i-1], edges[i]]."""
    n_training: int
    details: dict[str, Any] = field(default_factory=dict)

    def thresholds(self, features: np.ndarray) -> np.ndarray:
        """(n,) each record's flag threshold: that of the held-out patients with about as much information."""
        recorded = (~np.isnan(features)).sum(axis=1)
        thresholds, edges = self._threshold_arrays
        return thresholds[np.searchsorted(edges, recorded, side="left")]

    @cached_property
    def _threshold_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """:attr:`score_thresholds` and :attr:`information_edges` as arrays, converted once rather than per call."""
        return np.asarray(self.score_thresholds, dtype=np.float64), np.asarray(self.information_edges, dtype=np.float64)

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
        for i in np.flatnonzero(self.density.score_samples(features) < self.thresholds(features)):
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
            # (patients, fields) in one array call (column_stack's checks cost more than the stacking on one patient)
            values = np.array([columns.number(names[j]) for j in present]).T
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
            "score_thresholds": self.score_thresholds, "information_edges": self.information_edges,
            "missing_features": "imputed" if self.density.imputed else "marginalised",
            "n_training": self.n_training, "details": self.details,
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
        legacy = "score_thresholds" not in meta  # exported before missing features were marginalised
        with np.load(io.BytesIO(density_npz), allow_pickle=False) as arrays:
            density = DiagonalMixture.from_arrays(arrays, imputed=legacy or meta["missing_features"] == "imputed")
        ranges = {k: (float(v[0]), float(v[1]), float(v[2]), float(v[3])) for k, v in meta["ranges"].items()}
        thresholds = [float(meta["score_threshold"])] if legacy else [float(t) for t in meta["score_thresholds"]]
        edges = [] if legacy else [float(e) for e in meta["information_edges"]]
        return cls(ranges, meta["seen_values"], meta["feature_names"], density, thresholds, edges,
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
    rows = np.random.default_rng(seed).permutation(len(features))[:DENSITY_ROWS]
    density = DiagonalMixture.fit(features[np.sort(rows)], seed)
    calibration = features if held_out_features is None or not len(held_out_features) else held_out_features
    thresholds, edges = _thresholds_by_information(density, calibration)
    details = {
        "range_quantiles": list(RANGE_QUANTILES),
        "range_margin": RANGE_MARGIN,
        "flag_quantile": FLAG_QUANTILE,
        "n_components": len(density.log_weights),
        "density_rows": min(len(features), DENSITY_ROWS),
        "threshold_set_on": "held-out patients" if calibration is not features else "training patients",
        "n_threshold": len(calibration),
        "information_levels": len(thresholds),
    }
    return Reference(ranges, seen, list(feature_names), density, thresholds, edges, len(frame), details)


def _thresholds_by_information(density: DiagonalMixture, calibration: np.ndarray) -> tuple[list[float], list[float]]:
    """The :data:`FLAG_QUANTILE` of the calibration scores within each information level: up to
    :data:`MAX_INFORMATION_BINS` quantile bins of the number of recorded features, each with at least
    :data:`MIN_PER_INFORMATION_BIN` patients (one bin when there are too few)."""
    recorded = (~np.isnan(calibration)).sum(axis=1)
    scores = density.score_samples(calibration)
    n_bins = int(np.clip(len(calibration) // MIN_PER_INFORMATION_BIN, 1, MAX_INFORMATION_BINS))
    edges = sorted({float(e) for e in np.quantile(recorded, np.linspace(0, 1, n_bins + 1)[1:-1], method="lower")})
    bins = np.searchsorted(edges, recorded, side="left")
    while edges:
        sizes = np.bincount(bins, minlength=len(edges) + 1)
        smallest = int(np.argmin(sizes))
        if sizes[smallest] >= MIN_PER_INFORMATION_BIN:
            break
        edges.pop(max(smallest - 1, 0))  # merge the smallest bin with its neighbour
        bins = np.searchsorted(edges, recorded, side="left")
    return [float(np.quantile(scores[bins == b], FLAG_QUANTILE)) for b in range(len(edges) + 1)], edges


def _column_moments(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each column over its known values (0 and 1 for all-null columns)."""
    known = ~np.isnan(features)
    count = np.maximum(known.sum(axis=0), 1)
    filled = np.where(known, features, 0.0)
    mean = filled.sum(axis=0) / count
    var = (np.where(known, features - mean, 0.0) ** 2).sum(axis=0) / count
    std = np.sqrt(var)
    return mean, np.where(std > 0, std, 1.0)
