"""Fit the world to a real labelled cohort: MAP estimates with the literature world as the prior (issue #14).

What is fitted: **every latent-state weight** (``data/_latent_weights.py``): the document mix
(``reporting.weights``), each diagnosis' phenotype and stage weights, each phenotype's onset weights, the
severity weights and the weakness-pattern weights (per phenotype/stage key where ``priors.yaml`` resolves
them). What is *not* fitted, and keeps the prior world's value (:data:`NOT_FITTED`): the findings'
per-field parameters, the reporting model and the MRC tables. The report says the same.

How: EM over the latent states with conjugate priors.

* E-step, exact: for each labelled record the posterior over the full latent grid of its diagnosis,
  from the same per-state likelihood the exact posterior uses (``exact_posterior.log_state_likelihoods``:
  a null is not a normal value, it is "section omitted", "test not done" or "not written down", each with
  its probability). Unlabelled records sum over the diagnosis too, with the labelled mix (add-one) as its
  prior. The per-state likelihood of the findings does not depend on the weights, so it is computed once
  and each iteration only re-weights it.
* M-step, MAP: each weight vector p has the prior Dirichlet(1 + S kappa p0), whose mode is the prior
  world's p0 and whose strength is S times kappa, the effective sample size the literature's uncertainty
  states (``data/uncertainty.py``); the update is p = (expected counts + S kappa p0) / (N + S kappa).
  This is exact EM for the log posterior, which therefore never decreases (checked by the tests).
* Intervals: 90 %, from a Beta with its mode at the MAP value and the strength of the prior plus the
  records' *effective n*: the expected count less the missing information (Louis 1982), so that weights
  the findings barely identify get the wide interval they deserve (:func:`_fitted_weights`).

Why hand-written: no library fits this model. pomegranate's discrete Bayesian networks do not learn
with hidden variables (the add-on nnvutisa/EM_BayesNet exists for that reason), bnlearn's
``structural.em`` (R) treats nulls as missing at random, while here a null is evidence through the
reporting process; and the latent grid, its shared (resolved) weights and the reporting model are our own.
Only aggregate parameters leave the fit: the world holds no record, and its provenance only the cohort's
digest and counts.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import logsumexp
from scipy.stats import beta as beta_distribution

from mmn_ddx.data._latent_weights import WeightVector, state_log_weights, weight_vectors
from mmn_ddx.data.contract import DIAGNOSES, LABEL, to_canonical
from mmn_ddx.data.exact_posterior import log_state_likelihoods
from mmn_ddx.data.latents import full_grid, reduced_grid
from mmn_ddx.data.world import PROVENANCE, World, load_world

DEFAULT_MAX_ITER = 100
DEFAULT_TOL = 1e-6
"""Stop when one iteration raises the log posterior by less than this per record."""
INTERVAL = 0.90
FITTED = ("document mix", "phenotype weights", "stage weights", "onset weights", "severity weights",
          "weakness-pattern weights")
NOT_FITTED = (
    "finding parameters per diagnosis/phenotype/stage (Bernoulli p, category probs, nerve-count rates, "
    "continuous values, treatment responses)",
    "reporting model (section report rates, test rates, record rates, unremarkable factors, writing styles)",
    "MRC grade tables and p_weak per region",
    "atypical rates and class prior presets",
)
"""Parameter groups the fit keeps at the prior world's values."""


@dataclass(frozen=True)
class FittedWeight:
    """One fitted latent weight: prior value, MAP value, its 90 % posterior interval and the expected
    number of records that informed it (the vector's expected count)."""

    path: str
    group: str
    category: str
    prior: float
    fitted: float
    low: float
    high: float
    effective_n: float

    @property
    def moved(self) -> float:
        return abs(self.fitted - self.prior)


@dataclass(frozen=True)
class FitReport:
    """What the fit changed: every fitted weight (largest move first), what was not fitted, convergence."""

    weights: tuple[FittedWeight, ...]
    not_fitted: tuple[str, ...]
    log_posterior: tuple[float, ...]
    converged: bool
    labelled: int
    unlabelled: int
    strength: float

    def moved_most(self, k: int = 15) -> tuple[FittedWeight, ...]:
        return self.weights[:k]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"parameter": f"{w.path}[{w.category}]", "group": w.group, "prior": w.prior,
                              "fitted": w.fitted, "low": w.low, "high": w.high, "effective_n": w.effective_n}
                             for w in self.weights])

    def weight(self, path: str, category: str) -> FittedWeight:
        return next(w for w in self.weights if w.path == path and w.category == category)


@dataclass(frozen=True)
class WorldFit:
    """The fitted world (``priors.yaml`` format, provenance in its ``world`` block) and its report."""

    world: World
    report: FitReport


def fit_world(cohort: pd.DataFrame, prior: World | None = None, strength: float = 1.0,
              unlabelled: pd.DataFrame | None = None, max_iter: int = DEFAULT_MAX_ITER, tol: float = DEFAULT_TOL,
              on_iteration: Callable[[int, float], None] | None = None) -> WorldFit:
    """MAP world given a labelled ``cohort`` (canonical frame with ``diagnosis``), the ``prior`` world
    (default: literature) scaled by ``strength`` and optional ``unlabelled`` records (no diagnosis).

    ``on_iteration(i, log_posterior)`` is called after each E-step (the CLI's progress bar).
    """
    prior = prior or load_world()
    _check_arguments(cohort, unlabelled, strength, max_iter, tol)
    unlabelled = unlabelled if unlabelled is not None else cohort.iloc[:0]
    with prior.active():
        reduced, full = reduced_grid(), full_grid()
    parameters = copy.deepcopy(prior.parameters)
    vectors = weight_vectors(parameters, reduced, full)
    for vector in vectors:  # the pattern weights are stated unnormalised (``latents.pattern_weights``)
        vector.write(vector.values() / vector.values().sum())
    p0 = [v.values() for v in vectors]
    alphas = [strength * v.kappa * p for v, p in zip(vectors, p0, strict=True)]
    diagnosis_of_state = reduced.diagnosis[full.reduced_index]
    e_step = _EStep(cohort, unlabelled, prior, diagnosis_of_state)
    history: list[float] = []
    converged = False
    for i in range(max_iter):
        log_lik, counts = e_step(state_log_weights(vectors, len(full)))
        history.append(log_lik + sum(_log_prior_density(v, a) for v, a in zip(vectors, alphas, strict=True)))
        if on_iteration is not None:
            on_iteration(i, history[-1])
        if i > 0 and history[-1] - history[-2] < tol * e_step.records:
            converged = True
            break
        for vector, alpha in zip(vectors, alphas, strict=True):
            n_c = _expected_counts(vector, counts)
            vector.write((n_c + alpha) / (n_c.sum() + alpha.sum()))
    weights = _fitted_weights(vectors, alphas, p0, e_step, state_log_weights(vectors, len(full)))
    report = FitReport(weights, NOT_FITTED, tuple(history), converged,
                       len(cohort), len(unlabelled), strength)
    parameters[PROVENANCE] = _provenance(cohort, unlabelled, prior, report)
    source = f"fitted to a cohort of {len(cohort) + len(unlabelled)} records, prior {prior.digest[:12]} x {strength:g}"
    return WorldFit(World(parameters, source), report)


class _EStep:
    """The per-state log-likelihoods (computed once) and the responsibilities given the state weights."""

    def __init__(self, cohort: pd.DataFrame, unlabelled: pd.DataFrame, prior: World,
                 diagnosis_of_state: np.ndarray) -> None:
        labels = pd.Categorical(cohort[LABEL], categories=list(DIAGNOSES)).codes
        self.records = len(cohort) + len(unlabelled)
        self.states = [np.flatnonzero(diagnosis_of_state == d) for d in range(len(DIAGNOSES))]
        lik = log_state_likelihoods(cohort, world=prior) if len(cohort) else np.zeros((0, len(diagnosis_of_state)))
        self.rows = [np.flatnonzero(labels == d) for d in range(len(DIAGNOSES))]
        self.labelled = [lik[np.ix_(rows, states)] for rows, states in zip(self.rows, self.states, strict=True)]
        self.unlabelled = log_state_likelihoods(unlabelled, world=prior) if len(unlabelled) else None
        mix = (np.bincount(labels, minlength=len(DIAGNOSES)) + 1.0) / (len(cohort) + len(DIAGNOSES))
        self.log_class = np.log(mix)[diagnosis_of_state]

    def __call__(self, log_weight: np.ndarray) -> tuple[float, np.ndarray]:
        """(log p(records | weights), (G,) expected number of records in each state)."""
        counts = np.zeros(len(log_weight))
        total = 0.0
        for states, responsibility, norm in self._responsibilities(log_weight):
            counts[states] += responsibility.sum(axis=0)
            total += float(norm.sum())
        return total, counts

    def moments(self, log_weight: np.ndarray, category: sparse.csr_array, context: sparse.csr_array) -> np.ndarray:
        """(5, C) sums over records of a, b, a^2, ab, b^2, where a = P(state in category | record) and
        b = P(state uses the category's vector | record): what the missing information needs."""
        out = np.zeros((5, category.shape[1]))
        for states, responsibility, _ in self._responsibilities(log_weight):
            a = responsibility @ category[states]
            b = responsibility @ context[states]
            out += np.stack([a.sum(0), b.sum(0), (a * a).sum(0), (a * b).sum(0), (b * b).sum(0)])
        return out

    def _responsibilities(self, log_weight: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per group of records (each labelled diagnosis, then the unlabelled): the states they may be in,
        their (n, states) posterior over them and each record's log-likelihood."""
        groups = [(states, rows, "labelled row", lik + log_weight[states][None, :])
                  for states, rows, lik in zip(self.states, self.rows, self.labelled, strict=True) if len(lik)]
        if self.unlabelled is not None:
            groups.append((np.arange(len(log_weight)), np.arange(len(self.unlabelled)), "unlabelled row",
                           self.unlabelled + (log_weight + self.log_class)[None, :]))
        for states, rows, kind, joint in groups:
            norm = logsumexp(joint, axis=1)
            if not np.all(np.isfinite(norm)):
                first = int(rows[np.flatnonzero(~np.isfinite(norm))[0]]) + 1
                raise ValueError(f"{kind} {first}: impossible under the prior world for its diagnosis (zero "
                                 "likelihood); check its values")
            yield states, np.exp(joint - norm[:, None]), norm


def _expected_counts(vector: WeightVector, counts: np.ndarray) -> np.ndarray:
    used = vector.state_category >= 0
    return np.bincount(vector.state_category[used], weights=counts[used], minlength=len(vector.categories))


def _log_prior_density(vector: WeightVector, alpha: np.ndarray) -> float:
    """log Dirichlet(1 + alpha) density up to a constant: sum alpha log p (0 log 0 = 0: structural zeros)."""
    with np.errstate(divide="ignore"):
        return float(np.sum(np.where(alpha > 0, alpha * np.log(vector.values()), 0.0)))


def _fitted_weights(vectors: list[WeightVector], alphas: list[np.ndarray], p0: list[np.ndarray], e_step: _EStep,
                    log_weight: np.ndarray) -> tuple[FittedWeight, ...]:
    """Every free weight (vectors with at least two non-zero categories), the largest move first.

    The interval is a Beta with its mode at the MAP value and concentration the prior's pseudo-count plus
    an *effective n*: the expected count less the information lost because each record's latent state is
    uncertain (Louis 1982: observed = complete - missing information, per category against the rest of its
    vector). Treating the expected counts as observed would give intervals too narrow wherever the findings
    barely tell the states apart (e.g. the severity levels).
    """
    columns = [(v, c) for v in vectors for c in range(len(v.categories))]
    rows = [(g, j) for j, (v, c) in enumerate(columns) for g in np.flatnonzero(v.state_category == c)]
    used = [(g, j) for j, (v, _) in enumerate(columns) for g in np.flatnonzero(v.state_category >= 0)]
    shape = (len(log_weight), len(columns))
    category, context = (sparse.csr_array((np.ones(len(pairs)), tuple(np.array(pairs).T)), shape=shape)
                         for pairs in (rows, used))
    sum_a, sum_b, sum_aa, sum_ab, sum_bb = e_step.moments(log_weight, category, context)
    tail = (1.0 - INTERVAL) / 2
    out = []
    j = 0
    for vector, alpha, prior in zip(vectors, alphas, p0, strict=True):
        fitted = vector.values()
        free = prior > 0
        for c in range(len(vector.categories)):
            if free.sum() >= 2 and free[c]:
                p = fitted[c]
                missing = (sum_a[j] * (1 - p) ** 2 + p**2 * (sum_b[j] - sum_a[j])
                           - (sum_aa[j] - 2 * p * sum_ab[j] + p**2 * sum_bb[j]))
                n_eff = float(np.clip(sum_b[j] - missing / (p * (1 - p)), 0.0, sum_b[j]))
                strength = alpha[free].sum() + n_eff
                low, high = beta_distribution.ppf([tail, 1 - tail], 1 + p * strength, 1 + (1 - p) * strength)
                out.append(FittedWeight(vector.path, vector.group, vector.categories[c], float(prior[c]), float(p),
                                        float(low), float(high), n_eff))
            j += 1
    return tuple(sorted(out, key=lambda w: -w.moved))


def cohort_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of the canonical cohort (contract columns only), stable across runs and machines."""
    canonical = to_canonical(frame).reset_index(drop=True)
    digest = hashlib.sha256(pd.util.hash_pandas_object(canonical, index=False).to_numpy().tobytes())
    digest.update("\x1f".join(map(str, canonical.columns)).encode())
    return digest.hexdigest()


def _provenance(cohort: pd.DataFrame, unlabelled: pd.DataFrame, prior: World, report: FitReport) -> dict[str, Any]:
    """Aggregates only: digests and counts, never a record."""
    try:
        version = metadata.version("mmn-ddx")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare tree
        version = "0+unknown"
    return {"fit": {
        "cohort_digest": cohort_digest(cohort),
        "unlabelled_digest": cohort_digest(unlabelled) if len(unlabelled) else None,
        "records": len(cohort) + len(unlabelled),
        "labelled": len(cohort),
        "unlabelled": len(unlabelled),
        "prior_strength": float(report.strength),
        "prior_world_digest": prior.digest,
        "prior_world_source": prior.source,
        "fitted": list(FITTED),
        "not_fitted": list(NOT_FITTED),
        "iterations": len(report.log_posterior),
        "converged": report.converged,
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": version,
    }}


def _check_arguments(cohort: pd.DataFrame, unlabelled: pd.DataFrame | None, strength: float, max_iter: int,
                     tol: float) -> None:
    if not np.isfinite(strength) or strength <= 0:
        raise ValueError(f"prior strength must be a positive finite number, got {strength}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    if tol < 0:
        raise ValueError(f"tol must be non-negative, got {tol}")
    if LABEL not in cohort.columns:
        raise ValueError(f"the labelled cohort has no '{LABEL}' column (records without one go to `unlabelled`)")
    bad = ~cohort[LABEL].isin(DIAGNOSES)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"row {row + 1}: '{LABEL}' must be one of {list(DIAGNOSES)} in the labelled cohort "
                         f"({int(bad.sum())} row(s) without a valid diagnosis; put unlabelled records in `unlabelled`)")
    if unlabelled is not None and LABEL in unlabelled.columns and unlabelled[LABEL].notna().any():
        row = int(np.flatnonzero(unlabelled[LABEL].notna().to_numpy())[0])
        raise ValueError(f"unlabelled row {row + 1}: has a '{LABEL}'; labelled records belong in the cohort")
    if len(cohort) + (0 if unlabelled is None else len(unlabelled)) == 0:
        raise ValueError("no records to fit the world to")
