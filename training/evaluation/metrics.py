"""Benchmark metrics with paired bootstrap confidence intervals: pure numpy, no I/O, no MLflow.

Every metric is computed from a *matrix* of patient weights ``W`` (resamples x patients), never from
index arrays: a bootstrap resample is a row of multinomial counts, an importance re-weighting to
another class mix multiplies the columns, and the point estimate is the single row of ones. One code
path therefore gives the estimate, its CI and its re-weighted variants, and 1 000 resamples of
20 000 patients are a few matrix products instead of 1 000 Python loops. Because every method is
scored with the *same* weight rows, differences between methods are paired bootstrap differences.

Hard-label methods (the criteria) can abstain (:data:`ABSTAIN`: not assessable / unclassified /
conflicting) and single criteria sets only detect some classes (:data:`NEGATIVE`: "none of my target
classes"). Label metrics are computed on the covered (non-abstaining) patients and reported next to
the coverage; ``*_all`` variants count an abstention as an error, which is how a clinician who must
decide would experience it and how a never-abstaining model is compared with the rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

import numpy as np

from mmn_ddx.data import DIAGNOSES
from mmn_ddx.training.artifact.calibration import log_losses

K = len(DIAGNOSES)
NEGATIVE = K
"""Hard label of a detector that says "none of my target classes" (e.g. Gold Coast not met)."""
ABSTAIN = -1
"""Hard label of a method that gives no answer for the patient (coverage excludes it)."""
ECE_BINS = 15
"""Equal-width bins of the top-label expected calibration error (Guo et al., ICML 2017)."""

LABEL_METRICS: tuple[str, ...] = ("coverage", "accuracy", "balanced_accuracy", "macro_f1",
                                  "accuracy_all", "balanced_accuracy_all")
PER_CLASS_METRICS: tuple[str, ...] = ("coverage", "sensitivity", "specificity", "ppv")
"""coverage: the share of a diagnosis's patients a method classifies (a detector abstains unevenly)."""
PROBABILITY_METRICS: tuple[str, ...] = ("macro_auroc", "log_loss", "brier", "ece")
LOWER_IS_BETTER: frozenset[str] = frozenset({"log_loss", "brier", "ece"})


def per_class_key(metric: str, class_index: int) -> str:
    """Name of a per-class metric, e.g. ``sensitivity_MMN``."""
    return f"{metric}_{DIAGNOSES[class_index]}"


METRIC_KEYS: tuple[str, ...] = (
    *LABEL_METRICS,
    *(per_class_key(m, k) for m in PER_CLASS_METRICS for k in range(K)),
    *PROBABILITY_METRICS,
)
"""Every metric :func:`metric_matrix` returns, in report order (NaN = not applicable)."""


@dataclass(frozen=True)
class Predictions:
    """One method's output on one cohort.

    ``labels``: int (n,), a class index in ``DIAGNOSES`` order, :data:`NEGATIVE` or :data:`ABSTAIN`.
    ``proba``: (n, K) probabilities for probabilistic methods, else None (probability metrics "n/a").
    ``targets``: the classes the method can name; per-class metrics of other classes are "n/a", and
    only methods that can name every class get the multi-class metrics (accuracy, macro-F1, ...).
    """

    labels: np.ndarray
    proba: np.ndarray | None = None
    targets: tuple[int, ...] = tuple(range(K))

    @classmethod
    def from_proba(cls, proba: np.ndarray) -> Predictions:
        """A probabilistic classifier: the hard label is the most probable class."""
        proba = np.asarray(proba, dtype=np.float64)
        if proba.ndim != 2 or proba.shape[1] != K:
            raise ValueError(f"probabilities must have shape (n, {K}), got {proba.shape}")
        if not np.all(np.isfinite(proba)) or (proba < 0).any():
            raise ValueError("probabilities must be finite and non-negative")
        if not np.allclose(proba.sum(axis=1), 1.0, atol=1e-6):
            raise ValueError("probabilities must sum to 1 in every row")
        return cls(labels=proba.argmax(axis=1), proba=proba)

    @property
    def covered(self) -> np.ndarray:
        return self.labels != ABSTAIN

    def restricted_to(self, mask: np.ndarray) -> Predictions:
        """The same method abstaining outside ``mask`` (to score it on another method's covered patients)."""
        return replace(self, labels=np.where(mask, self.labels, ABSTAIN))


def shift_priors(proba: np.ndarray, target: np.ndarray, source: np.ndarray | None = None) -> np.ndarray:
    """Probabilities re-expressed for another class mix (Saerens et al., Neural Comput 2002).

    p'(k|x) is proportional to p(k|x) target_k / source_k: the likelihoods stay, the prior changes. The
    source is the prior the model was fitted for (default balanced, the recommended training prior of
    literature-priors.md section 10). For the generator's posterior this is exact.
    """
    source = np.full(K, 1.0 / K) if source is None else np.asarray(source, dtype=np.float64)
    shifted = np.asarray(proba) * (np.asarray(target, dtype=np.float64) / source)[None, :]
    return shifted / shifted.sum(axis=1, keepdims=True)


def importance_weights(y: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-patient weights that turn the cohort's class mix into ``target`` (target_k / observed_k)."""
    observed = np.bincount(y, minlength=K) / len(y)
    target = np.asarray(target, dtype=np.float64)
    if (target[observed == 0] > 0).any():
        missing = [DIAGNOSES[k] for k in np.flatnonzero((observed == 0) & (target > 0))]
        raise ValueError(f"cannot re-weight: no patient with diagnosis {', '.join(missing)} in the cohort")
    ratio = np.divide(target, observed, out=np.zeros(K), where=observed > 0)
    return ratio[y]


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _class_mean(values: np.ndarray) -> np.ndarray:
    """Mean over the classes where the metric is defined, NaN when none is. A diagnosis no (covered) patient
    of a cohort or resample has does not count, for every method alike: scikit-learn's macro F1 would also
    average a diagnosis that is only predicted, as 0, so a model naming it once would lose to rules that
    never name it (``f1_score(..., labels=<the diagnoses present>)`` is the equivalent)."""
    defined = np.isfinite(values)
    return _safe_div(np.where(defined, values, 0.0).sum(axis=-1), defined.sum(axis=-1))


class _GroupSum:
    """Per-resample sums of weights over fixed patient groups: one gather and one ``reduceat`` pass,
    instead of a dense one-hot matrix product (the groups are known before the weights are)."""

    def __init__(self, keys: np.ndarray, n_keys: int) -> None:
        self.order = np.argsort(keys, kind="stable")
        sorted_keys = keys[self.order]
        boundary = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]] if len(keys) else np.zeros(0, dtype=bool)
        self.starts = np.flatnonzero(boundary)
        self.present = sorted_keys[self.starts]
        self.n_keys = n_keys

    def __call__(self, W: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
        out = np.zeros((len(W), self.n_keys))
        if len(self.order):
            Wo = np.take(W, self.order, axis=1)
            if values is not None:
                Wo *= values[self.order][None, :]
            out[:, self.present] = np.add.reduceat(Wo, self.starts, axis=1)
        return out


class _OneVsRestAuc:
    """Weighted Mann-Whitney AUROC of one class against the rest, ties counting one half.

    Negatives are sorted by score once; per resample, the cumulative negative weight below (and up to)
    each positive's score is looked up with indices found by ``searchsorted`` in advance, so a resample
    costs one cumulative sum over the negatives and two gathers over the positives.
    """

    def __init__(self, score: np.ndarray, positive: np.ndarray, included: np.ndarray) -> None:
        negatives = np.flatnonzero(~positive & included)
        self.neg_order = negatives[np.argsort(score[negatives], kind="stable")]
        self.pos = np.flatnonzero(positive)
        neg_scores = score[self.neg_order]
        self.below = np.searchsorted(neg_scores, score[self.pos], side="left")
        self.up_to = np.searchsorted(neg_scores, score[self.pos], side="right")

    def __call__(self, W: np.ndarray) -> np.ndarray:
        cum = np.zeros((len(W), len(self.neg_order) + 1))
        np.cumsum(np.take(W, self.neg_order, axis=1), axis=1, out=cum[:, 1:])
        Wp = np.take(W, self.pos, axis=1)
        wins = np.einsum("bn,bn->b", Wp, np.take(cum, self.below, axis=1) + np.take(cum, self.up_to, axis=1))
        return _safe_div(0.5 * wins, Wp.sum(axis=1) * cum[:, -1])


class _Scorer:
    """Every metric of one method against the truth, for any matrix of patient weights.

    Everything that does not depend on the weights (confusion cells, per-patient losses, score order)
    is computed once here, so each bootstrap chunk costs a few passes over the weight matrix.
    """

    def __init__(self, y: np.ndarray, pred: Predictions) -> None:
        y = np.asarray(y)
        if len(pred.labels) != len(y):
            raise ValueError(f"{len(pred.labels)} predictions for {len(y)} patients")
        if len(y) and (y.min() < 0 or y.max() >= K):
            raise ValueError(f"true labels must be class indices 0..{K - 1}")
        self.pred = pred
        column = np.where(pred.labels == ABSTAIN, K + 1, pred.labels)
        self.cells = _GroupSum(y * (K + 2) + column, K * (K + 2))
        if pred.proba is None:
            return
        covered = pred.covered
        self.covered = _GroupSum(np.where(covered, 0, 1), 2)
        self.loss = np.where(covered, log_losses(pred.proba, y), 0.0)
        self.squared = np.where(covered, ((pred.proba - np.eye(K)[y]) ** 2).sum(axis=1), 0.0)
        confidence = pred.proba.max(axis=1)
        self.gap = np.where(covered, confidence - (pred.proba.argmax(axis=1) == y), 0.0)
        bins = np.minimum((confidence * ECE_BINS).astype(int), ECE_BINS - 1)
        self.bins = _GroupSum(np.where(covered, bins, ECE_BINS), ECE_BINS + 1)
        self.aucs = [_OneVsRestAuc(pred.proba[:, k], (y == k) & covered, covered) for k in range(K)]

    def __call__(self, W: np.ndarray) -> dict[str, np.ndarray]:
        out = label_metrics(self.cells(W).reshape(len(W), K, K + 2), self.pred.targets)
        if self.pred.proba is None:
            out.update({name: np.full(len(W), np.nan) for name in PROBABILITY_METRICS})
            return {name: out[name] for name in METRIC_KEYS}
        total = self.covered(W)[:, 0]
        out["log_loss"] = _safe_div(np.einsum("bn,n->b", W, self.loss), total)
        out["brier"] = _safe_div(np.einsum("bn,n->b", W, self.squared), total)
        out["ece"] = _safe_div(np.abs(self.bins(W, self.gap)[:, :ECE_BINS]).sum(axis=1), total)
        out["macro_auroc"] = _class_mean(np.stack([auc(W) for auc in self.aucs], axis=1))
        return {name: out[name] for name in METRIC_KEYS}


def label_metrics(C: np.ndarray, targets: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Coverage and label metrics from weighted confusion matrices (b, K, K + 2) whose columns are the
    K classes, :data:`NEGATIVE` and :data:`ABSTAIN`."""
    covered = C[:, :, : K + 1]
    total, n_covered = C.sum(axis=(1, 2)), covered.sum(axis=(1, 2))
    tp = np.diagonal(C[:, :, :K], axis1=1, axis2=2)
    row_covered, row_all = covered.sum(axis=2), C.sum(axis=2)
    predicted = C[:, :, :K].sum(axis=1)
    negatives = n_covered[:, None] - row_covered
    sensitivity = _safe_div(tp, row_covered)
    specificity = 1.0 - _safe_div(predicted - tp, negatives)
    ppv = _safe_div(tp, predicted)
    out = {"coverage": _safe_div(n_covered, total)}
    nan = np.full(len(C), np.nan)
    full = targets == tuple(range(K))
    out["accuracy"] = _safe_div(tp.sum(axis=1), n_covered) if full else nan
    out["balanced_accuracy"] = _class_mean(sensitivity) if full else nan
    f1 = np.where(row_covered > 0, _safe_div(2 * tp, row_covered + predicted), np.nan)
    out["macro_f1"] = _class_mean(f1) if full else nan
    out["accuracy_all"] = _safe_div(tp.sum(axis=1), total) if full else nan
    out["balanced_accuracy_all"] = _class_mean(_safe_div(tp, row_all)) if full else nan
    per_class = {"coverage": _safe_div(row_covered, row_all), "sensitivity": sensitivity, "specificity": specificity,
                 "ppv": ppv}
    for name, values in per_class.items():
        for k in range(K):
            out[per_class_key(name, k)] = values[:, k] if k in targets else nan
    return out


def metric_matrix(y: np.ndarray, pred: Predictions, W: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRIC_KEYS` for each row of ``W`` (shape (b,) each; NaN = not applicable).

    Label and probability metrics are computed on the covered (non-abstaining) patients.
    """
    W = np.atleast_2d(np.asarray(W, dtype=np.float64))
    if W.shape[1] != len(y):
        raise ValueError(f"weights cover {W.shape[1]} patients, the truth {len(y)}")
    return _Scorer(y, pred)(W)


def point_estimates(y: np.ndarray, pred: Predictions, weights: np.ndarray | None = None) -> dict[str, float]:
    """The metrics on the cohort itself (optionally importance-weighted)."""
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    return {name: float(values[0]) for name, values in metric_matrix(y, pred, w[None, :]).items()}


def bootstrap_weights(n: int, n_boot: int, seed: int, chunk: int = 50) -> Iterator[np.ndarray]:
    """Multinomial resample counts, ``chunk`` rows at a time (each row sums to ``n``).

    The same seed gives the same rows, so two calls pair their resamples patient for patient.
    """
    rng = np.random.default_rng(seed)
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        draws = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        yield np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)


def percentile_ci(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates, ignoring resamples where the metric is undefined."""
    finite = replicates[np.isfinite(replicates)]
    if len(finite) < max(10, 0.5 * len(replicates)):
        return (float("nan"), float("nan"))
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(low), float(high)


def bootstrap_metrics(y: np.ndarray, methods: Mapping[str, Predictions], weights: np.ndarray | None = None,
                      n_boot: int = 1000, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Bootstrap replicates (n_boot,) of every metric of every method, all on the same resamples.

    ``weights`` (importance weights, default 1) multiply every resample, so a re-weighted analysis
    with the same ``seed`` is paired with the unweighted one too. Names sharing one ``Predictions``
    object (a champion that is also a family) are scored once.
    """
    y = np.asarray(y)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    scorers = {id(pred): _Scorer(y, pred) for pred in methods.values()}
    parts: dict[int, dict[str, list[np.ndarray]]] = {key: {} for key in scorers}
    for W in bootstrap_weights(len(y), n_boot, seed):
        W *= w[None, :]
        for key, scorer in scorers.items():
            for metric, values in scorer(W).items():
                parts[key].setdefault(metric, []).append(values)
    return {name: {metric: np.concatenate(chunks) for metric, chunks in parts[id(pred)].items()}
            for name, pred in methods.items()}
