"""Fit the world to a real labelled cohort: MAP estimates with the literature world as the prior (issue #14).

What is fitted:

* **every latent-state weight** (``data/_latent_weights.py``): the document mix (``reporting.weights``),
  each diagnosis' phenotype and stage weights, each phenotype's onset weights, the severity weights and
  the weakness-pattern weights (per phenotype/stage key where ``priors.yaml`` resolves them);
* **the findings' Bernoulli and categorical rates** (``data/_finding_rates.py``): each ``p`` of a
  ``bernoulli`` field and each ``probs`` of a ``categorical`` field, per diagnosis/phenotype/stage key, in
  the history, strength (muscle atrophy, fasciculations, weak nerve territories where categorical),
  reflexes, sensory examination, EMG, laboratory, imaging and treatment sections;
* **the binomial nerve-count rates** (``data/_count_rates.py``): each per-nerve ``p`` of a conduction count
  (``nerves_*``, ``sensory_nerves_abnormal``) per diagnosis/phenotype/stage key, from the records that write
  the count and its nerves at risk, by their likelihood given that both were written (the self-masked zeros
  undone), the latent states as EM responsibilities; a count among another count as its share of the parent,
  written per phenotype and stage as the share times the fitted parent;
* **the continuous findings** (``data/_continuous_findings.py``): the age at onset's mean and sd, the CSF
  protein's and cells' median and sigma (and the protein's age slope), the anti-GM1 ratio's ``p_positive`` and
  its components' medians and sigmas, the symptom duration's median per stage and its sigma, per
  diagnosis/phenotype/stage key.

What is *not* fitted, and keeps the prior world's value (:data:`NOT_FITTED`, the report says the same):
the rate of the nerve-conduction section (exact, but each step would recompute the nerve-count trees once
per value: over the one-minute budget), the nerve-count rates' information in the records where a count or
its nerves at risk are null, the rate of a finding conditional on another (UMN signs given the reflexes), the
Poisson means of the weak nerve territories, the reporting model, the MRC tables and the atypical rates.

How: EM over the latent states and the findings' unrecorded values, with conjugate priors.

* E-step, exact: for each labelled record the posterior over the full latent grid of its diagnosis,
  from the same per-state likelihood the exact posterior uses (``exact_posterior``: a null is not a normal
  value, it is "section omitted", "test not done" or "not written down", each with its probability).
  Unlabelled records sum over the diagnosis too, with the labelled mix (add-one) as its prior. For a
  fitted rate, the expected count of each category is the posterior probability that the record's value
  was a typical draw of it: for a recorded value that value, for a null the section's likelihood with
  the value forced to each category (``_finding_rates``), so self-masked unremarkable values, omitted
  sections and tests not done are summed over exactly.
* M-step, MAP: each weight or rate vector p has the prior Dirichlet(1 + S kappa p0) (a Beta for a
  Bernoulli p), whose mode is the prior world's p0 and whose strength is S times kappa, the effective
  sample size the literature's uncertainty states (``data/uncertainty.py``); the update is
  p = (expected counts + S kappa p0) / (N + S kappa). The weights are iterated to convergence at fixed
  rates (cheap: the per-state likelihood is re-weighted only), then the rates take one step (their
  sections are recomputed), and so on: each step is an exact EM step for the log posterior, which
  therefore never decreases (checked by the tests).
* The nerve-count rates step with them too, but from a conditional likelihood, not from exact expected counts
  (``_count_rates``: those would need the nerve-count trees recomputed twice per count field and step, minutes
  per fit): the records where a count or its nerves at risk are null inform the latent states exactly, not the
  rates. This step is a generalised EM step for that partial likelihood; the full log posterior can drop by a
  small fraction of a nat near convergence (it then stops the fit, as any step below the tolerance does).
* The continuous findings step with the rates: their parameters maximise the expected complete-data log
  posterior (the records' posterior over the latent states as weights) numerically, a generalised EM step
  (no closed form is exact under truncation, rounding and the atypical component), with a Normal prior on
  log x for a location or scale and a Beta on ``p_positive`` (``_continuous_findings``). A null continuous
  value says nothing about its distribution (no self-masking), a word written without its number does.
* Intervals: 90 %, from a Beta with its mode at the MAP value and the strength of the prior plus the
  records' *effective n*: the expected count less the missing information (Louis 1982), so that weights
  the findings barely identify, and rates of findings mostly left unwritten, get the wide interval they
  deserve (:func:`_with_intervals`); a continuous finding's parameter from the curvature of the observed log
  posterior (:func:`_continuous_findings.intervals`).

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import logsumexp
from scipy.stats import beta as beta_distribution
from scipy.stats import norm as normal_distribution

from mmn_ddx.data import _continuous_findings as continuous_findings
from mmn_ddx.data import _count_rates as count_rates
from mmn_ddx.data._continuous_findings import ContinuousParameter, continuous_models, continuous_parameters
from mmn_ddx.data._finding_rates import (
    FACTORED_SECTIONS,
    FindingVector,
    Parts,
    current_model,
    factored_term,
    finding_vectors,
    on_full_grid,
    on_reduced_grid,
    posterior_rates,
    sections_of,
)
from mmn_ddx.data._latent_weights import WeightVector, state_log_weights, weight_vectors
from mmn_ddx.data.cohort_model import cohort_model
from mmn_ddx.data.contract import DIAGNOSES, LABEL, fields, to_canonical
from mmn_ddx.data.exact_posterior import log_section_likelihoods, log_state_likelihoods, record_codes
from mmn_ddx.data.latents import full_grid, reduced_grid
from mmn_ddx.data.skipped_rows import SkippedRows
from mmn_ddx.data.world import PROVENANCE, World, load_world

DEFAULT_MAX_ITER = 100
DEFAULT_TOL = 1e-6
"""Stop when one iteration raises the log posterior by less than this per record."""
RATE_TOL = 1e-4
"""Stop when a step of the finding rates raises the log posterior by less than this per record: each such
step recomputes their sections (seconds for 500 records), and EM's slow tail then moves the rates by a
small fraction of their intervals."""
INTERVAL = 0.90
FITTED = ("document mix", "phenotype weights", "stage weights", "onset weights", "severity weights",
          "weakness-pattern weights",
          "finding rates (Bernoulli p, category probs) of the history, strength (muscle atrophy, fasciculations, "
          "weak nerve territories where categorical), reflexes, sensory examination, EMG, laboratory, imaging and "
          "treatment sections",
          "binomial nerve-count rates (per-nerve p of each conduction count), from the records that write the count "
          "and its nerves at risk",
          "continuous findings: age at onset (mean, sd), symptom duration (median per stage, sigma), CSF protein "
          "(median, sigma, age slope), CSF cells (median, sigma), anti-GM1 ratio (p_positive, each component's "
          "median and sigma)")
NOT_FITTED = (
    "finding rate of the nerve-conduction section (sensory nerves normal across a block): exact, but each step "
    "would recompute the nerve-count trees per value, over the one-minute budget",
    "binomial nerve-count rates, from the records where a count or its nerves at risk are null: their expected "
    "counts need the nerve-count trees recomputed per count field (over the one-minute budget)",
    "conditional rates (upper motor neuron signs given the reflexes)",
    "Poisson means of the weak nerve territories (MMN, MADSAM): not done",
    "reporting model (section report rates, test rates, record rates, unremarkable factors, writing styles)",
    "MRC grade tables and p_weak per region",
    "atypical rates and class prior presets",
)
"""Parameter groups the fit keeps at the prior world's values."""


@dataclass(frozen=True)
class FittedWeight:
    """One fitted latent weight or finding rate: prior value, MAP value, its 90 % posterior interval and the
    effective number of records that informed it (the vector's expected count less the missing information)."""

    path: str
    group: str
    category: str
    prior: float
    fitted: float
    low: float
    high: float
    effective_n: float
    log_scale: bool = False
    """A location, scale or age slope of a continuous finding: its move is measured as a log ratio."""

    @property
    def moved(self) -> float:
        """How far the fit moved it: the absolute change of a probability, |log(fitted / prior)| of a location
        or scale (so that ages in years do not crowd the probabilities out of the report's top list)."""
        return abs(float(np.log(self.fitted / self.prior))) if self.log_scale else abs(self.fitted - self.prior)

    @property
    def name(self) -> str:
        """The parameter's path, with its category where it is one of a vector's."""
        return f"{self.path}[{self.category}]" if self.category else self.path


@dataclass(frozen=True)
class FitReport:
    """What the fit changed: every fitted weight and finding rate (largest move first), what was not fitted,
    convergence."""

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
        return pd.DataFrame([{"parameter": w.name, "group": w.group, "prior": w.prior,
                              "fitted": w.fitted, "low": w.low, "high": w.high, "effective_n": w.effective_n}
                             for w in self.weights])

    def weight(self, path: str, category: str = "") -> FittedWeight:
        return next(w for w in self.weights if w.path == path and w.category == category)


@dataclass(frozen=True)
class WorldFit:
    """The fitted world (``priors.yaml`` format, provenance in its ``world`` block) and its report."""

    world: World
    report: FitReport


def fit_world(cohort: pd.DataFrame, prior: World | None = None, strength: float = 1.0,
              unlabelled: pd.DataFrame | None = None, max_iter: int = DEFAULT_MAX_ITER, tol: float = DEFAULT_TOL,
              on_iteration: Callable[[int, float], None] | None = None, skipped: Sequence[SkippedRows] = ()
              ) -> WorldFit:
    """MAP world given a labelled ``cohort`` (canonical frame with ``diagnosis``), the ``prior`` world
    (default: literature) scaled by ``strength`` and optional ``unlabelled`` records (no diagnosis).

    ``on_iteration(i, log_posterior)`` is called after each E-step (the CLI's progress bar); ``skipped``: the rows
    ``--skip-invalid`` left out of the cohort files, recorded in the provenance (``skipped_rows``).
    """
    prior = prior or load_world()
    _check_arguments(cohort, unlabelled, strength, max_iter, tol)
    unlabelled = unlabelled if unlabelled is not None else cohort.iloc[:0]
    with prior.active():
        reduced, full, model = reduced_grid(), full_grid(), cohort_model()
    parameters = copy.deepcopy(prior.parameters)
    vectors = weight_vectors(parameters, reduced, full)
    findings = finding_vectors(parameters, reduced, model)
    every: list[WeightVector | FindingVector] = [*vectors, *findings]
    for vector in every:  # the pattern weights are stated unnormalised (``latents.pattern_weights``)
        vector.write(vector.values() / vector.values().sum())
    alphas = [strength * v.kappa * v.values() for v in vectors]
    finding_alphas = [strength * v.kappa * v.values() for v in findings]
    nerve_counts = count_rates.count_vectors(parameters, reduced, model)
    count_priors = count_rates.count_priors(nerve_counts, model, strength)
    continuous = continuous_parameters(parameters, reduced)
    likelihood = _Likelihood(cohort, unlabelled, prior, findings, continuous, nerve_counts)
    e_step = _EStep(cohort, unlabelled, prior, reduced.diagnosis[full.reduced_index], likelihood(parameters))
    history: list[float] = []
    rates_move = bool(findings or continuous or nerve_counts)
    converged, refreshed = False, True
    for i in range(max_iter):
        log_weight = state_log_weights(vectors, len(full))
        log_lik, counts = e_step(log_weight)
        history.append(log_lik + sum(_log_prior_density(v, a) for v, a in zip(vectors, alphas, strict=True))
                       + sum(_log_prior_density(v, a) for v, a in zip(findings, finding_alphas, strict=True))
                       + continuous_findings.log_prior(continuous, strength)
                       + count_rates.log_prior(nerve_counts, count_priors))
        if on_iteration is not None:
            on_iteration(i, history[-1])
        enough = (max(tol, RATE_TOL) if refreshed else tol) * e_step.records
        if i > 0 and history[-1] - history[-2] < enough:
            if refreshed or not rates_move:  # neither the weights nor the findings move any more
                converged = True
                break
            responsibility = e_step.responsibility(log_weight)
            _update_findings(findings, finding_alphas, likelihood, responsibility)
            continuous_findings.update(continuous, likelihood.model, likelihood.codes,
                                       likelihood.on_reduced(responsibility), strength)
            count_rates.update(nerve_counts, count_priors, likelihood.prior_model, likelihood.codes,
                               likelihood.on_reduced(responsibility))
            e_step.set_likelihood(likelihood(parameters))
            refreshed = True
            continue
        refreshed = False
        for vector, alpha in zip(vectors, alphas, strict=True):
            n_c = _expected_counts(vector, counts)
            vector.write((n_c + alpha) / (n_c.sum() + alpha.sum()))
    log_weight = state_log_weights(vectors, len(full))
    weights = _fitted_weights(vectors, alphas, e_step, log_weight)
    responsibility = e_step.responsibility(log_weight)
    rates = _fitted_rates(findings, finding_alphas, likelihood, responsibility)
    values = _fitted_continuous(continuous, likelihood, responsibility, strength)
    nerves = _fitted_counts(nerve_counts, count_priors, likelihood, responsibility)
    report = FitReport(tuple(sorted(weights + rates + values + nerves, key=lambda w: -w.moved)), NOT_FITTED,
                       tuple(history),
                       converged, len(cohort), len(unlabelled), strength)
    count_rates.write_shares(parameters, prior.parameters)
    parameters[PROVENANCE] = _provenance(cohort, unlabelled, prior, report, skipped)
    source = f"fitted to a cohort of {len(cohort) + len(unlabelled)} records, prior {prior.digest[:12]} x {strength:g}"
    return WorldFit(World(parameters, source), report)


class _Likelihood:
    """(n, G) log p(record | full state) as the finding rates and the continuous findings move: the sections
    holding no fitted finding are computed once, the others again at each refresh (labelled records first,
    then the unlabelled)."""

    def __init__(self, cohort: pd.DataFrame, unlabelled: pd.DataFrame, prior: World,
                 findings: list[FindingVector], continuous: list[ContinuousParameter] | None = None,
                 counts: list[FindingVector] | None = None) -> None:
        parts = [record_codes(f) for f in (cohort, unlabelled) if len(f)]
        self.codes = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        self.prior, self.findings, self.continuous = prior, findings, continuous or []
        self.counts = counts or []
        with prior.active():  # everything but the fitted findings is the prior world's
            self.prior_model = self.model = cohort_model()
            fitted = {v.field for v in [*findings, *self.counts]} | {p.field for p in self.continuous}
            self.sections = sections_of(fitted, self.model)
            moving = {f for section in self.sections for f in section}
            self.fixed = on_full_grid(log_section_likelihoods(self.model, self.codes, set(fields()) - moving),
                                      self.model.full)
            factored = [s.fields for s in self.model.sections if s.name in FACTORED_SECTIONS]
            self.start = {s: log_section_likelihoods(self.model, self.codes, s) for s in self.sections if s in factored}
        self.terms: dict[tuple[str, ...], Parts] = {}

    def __call__(self, parameters: dict[str, Any]) -> np.ndarray:
        """The log-likelihoods at the rates in ``parameters`` (the current fitted tree)."""
        with self.prior.active():
            self.model = current_model(self.prior_model, parameters, self.findings)
            self.model = count_rates.count_model(self.model, self.prior_model, parameters, self.counts)
            if self.continuous:
                self.model = continuous_models(self.model, parameters, self.continuous)
            self.terms = {s: self._section_term(s) for s in self.sections}
        return self.fixed + sum((on_full_grid(t, self.model.full) for t in self.terms.values()),
                                np.zeros_like(self.fixed))

    def _section_term(self, section: tuple[str, ...]) -> Parts:
        """One moving section's log-likelihood under the current model (a factored one from its start)."""
        if section not in self.start:
            return log_section_likelihoods(self.model, self.codes, section)
        moved = {v.field for v in self.findings} & set(section)
        return factored_term(self.model, self.prior_model, self.codes, section, self.start[section], moved)

    def on_reduced(self, responsibility: np.ndarray) -> np.ndarray:
        """(n, G) posterior over the full states -> (n, R) over the reduced states."""
        return on_reduced_grid(responsibility, self.prior_model.full, len(self.prior_model.reduced))

    def posterior_rates(self, responsibility: np.ndarray) -> list[tuple[FindingVector, np.ndarray]]:
        with self.prior.active():
            return list(posterior_rates(self.findings, self.model, self.codes, self.terms, responsibility,
                                        self.prior_model.full))


def _update_findings(findings: list[FindingVector], alphas: list[np.ndarray], likelihood: _Likelihood,
                     responsibility: np.ndarray) -> None:
    """M-step of the finding rates: theta = (expected typical counts + alpha) / (their total + sum alpha)."""
    by_path = {id(v): a for v, a in zip(findings, alphas, strict=True)}
    for vector, per_record in likelihood.posterior_rates(responsibility):
        n_c, alpha = per_record.sum(axis=0), by_path[id(vector)]
        vector.write((n_c + alpha) / (n_c.sum() + alpha.sum()))


class _EStep:
    """The per-state log-likelihoods and the responsibilities given the state weights."""

    def __init__(self, cohort: pd.DataFrame, unlabelled: pd.DataFrame, prior: World,
                 diagnosis_of_state: np.ndarray, likelihood: np.ndarray | None = None) -> None:
        labels = pd.Categorical(cohort[LABEL], categories=list(DIAGNOSES)).codes
        self.records = len(cohort) + len(unlabelled)
        self.states = [np.flatnonzero(diagnosis_of_state == d) for d in range(len(DIAGNOSES))]
        self.rows = [np.flatnonzero(labels == d) for d in range(len(DIAGNOSES))]
        mix = (np.bincount(labels, minlength=len(DIAGNOSES)) + 1.0) / (len(cohort) + len(DIAGNOSES))
        self.log_class = np.log(mix)[diagnosis_of_state]
        self.n_labelled = len(cohort)
        if likelihood is None:
            likelihood = np.concatenate([log_state_likelihoods(f, world=prior) if len(f) else
                                         np.zeros((0, len(diagnosis_of_state))) for f in (cohort, unlabelled)])
        self.set_likelihood(likelihood)

    def set_likelihood(self, likelihood: np.ndarray) -> None:
        """Take new (n, G) log p(record | state) (labelled records first), e.g. after the finding rates moved."""
        lik = likelihood[: self.n_labelled]
        self.labelled = [lik[np.ix_(rows, states)] for rows, states in zip(self.rows, self.states, strict=True)]
        self.unlabelled = likelihood[self.n_labelled :] if self.records > self.n_labelled else None

    def __call__(self, log_weight: np.ndarray) -> tuple[float, np.ndarray]:
        """(log p(records | weights), (G,) expected number of records in each state)."""
        counts = np.zeros(len(log_weight))
        total = 0.0
        for _, states, responsibility, norm in self._responsibilities(log_weight):
            counts[states] += responsibility.sum(axis=0)
            total += float(norm.sum())
        return total, counts

    def responsibility(self, log_weight: np.ndarray) -> np.ndarray:
        """(n, G) posterior over the full states of every record (labelled first, then the unlabelled)."""
        out = np.zeros((self.records, len(log_weight)))
        for rows, states, responsibility, _ in self._responsibilities(log_weight):
            out[np.ix_(rows, states)] = responsibility
        return out

    def moments(self, log_weight: np.ndarray, category: sparse.csr_array, context: sparse.csr_array) -> np.ndarray:
        """(5, C) sums over records of a, b, a^2, ab, b^2, where a = P(state in category | record) and
        b = P(state uses the category's vector | record): what the missing information needs."""
        out = np.zeros((5, category.shape[1]))
        for _, states, responsibility, _ in self._responsibilities(log_weight):
            out += _moments(responsibility @ category[states], responsibility @ context[states])
        return out

    def _responsibilities(self, log_weight: np.ndarray
                          ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Per group of records (each labelled diagnosis, then the unlabelled): their rows in the records,
        the states they may be in, their (n, states) posterior over them and each record's log-likelihood."""
        groups = [(rows, states, rows, "labelled row", lik + log_weight[states][None, :])
                  for states, rows, lik in zip(self.states, self.rows, self.labelled, strict=True) if len(lik)]
        if self.unlabelled is not None:
            rows = np.arange(len(self.unlabelled))
            groups.append((self.n_labelled + rows, np.arange(len(log_weight)), rows, "unlabelled row",
                           self.unlabelled + (log_weight + self.log_class)[None, :]))
        for rows, states, named, kind, joint in groups:
            norm = logsumexp(joint, axis=1)
            if not np.all(np.isfinite(norm)):
                first = int(named[np.flatnonzero(~np.isfinite(norm))[0]]) + 1
                raise ValueError(f"{kind} {first}: impossible under the prior world for its diagnosis (zero "
                                 "likelihood); check its values")
            yield rows, states, np.exp(joint - norm[:, None]), norm


def _moments(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(5, C): the sums over records of a, b, a^2, ab, b^2."""
    return np.stack([a.sum(0), b.sum(0), (a * a).sum(0), (a * b).sum(0), (b * b).sum(0)])


def _expected_counts(vector: WeightVector, counts: np.ndarray) -> np.ndarray:
    used = vector.state_category >= 0
    return np.bincount(vector.state_category[used], weights=counts[used], minlength=len(vector.categories))


def _log_prior_density(vector: WeightVector | FindingVector, alpha: np.ndarray) -> float:
    """log Dirichlet(1 + alpha) density up to a constant: sum alpha log p (0 log 0 = 0: structural zeros)."""
    with np.errstate(divide="ignore"):
        return float(np.sum(np.where(alpha > 0, alpha * np.log(vector.values()), 0.0)))


def _fitted_weights(vectors: list[WeightVector], alphas: list[np.ndarray], e_step: _EStep,
                    log_weight: np.ndarray) -> list[FittedWeight]:
    """Every free weight (vectors with at least two non-zero categories) with its interval.

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
    moments = e_step.moments(log_weight, category, context)
    out, j = [], 0
    for vector, alpha in zip(vectors, alphas, strict=True):
        width = len(vector.categories)
        out += _with_intervals(vector.path, vector.group, vector.categories, vector.values(), alpha,
                               moments[:, j : j + width])
        j += width
    return out


def _fitted_rates(findings: list[FindingVector], alphas: list[np.ndarray], likelihood: _Likelihood,
                  responsibility: np.ndarray) -> list[FittedWeight]:
    """Every fitted finding rate with its interval, as for the weights: here a record's a is the posterior
    probability that its value was a typical draw of the category, b that it was a typical draw of the
    vector at all (a null value informs the rate only as far as the reporting model lets it). A Bernoulli
    rate is reported once, as P(True)."""
    by_vector = {id(v): a for v, a in zip(findings, alphas, strict=True)}
    out = []
    for vector, a in likelihood.posterior_rates(responsibility):
        b = np.broadcast_to(a.sum(axis=1, keepdims=True), a.shape)
        rates = _with_intervals(vector.path, vector.group, vector.categories, vector.values(),
                                by_vector[id(vector)], _moments(a, b))
        out += [w for w in rates if vector.keys or w.category == "True"]
    return out


def _fitted_counts(counts: list[FindingVector], priors: list[count_rates.CountPrior], likelihood: _Likelihood,
                   responsibility: np.ndarray) -> list[FittedWeight]:
    """Every fitted nerve-count rate, as P(abnormal nerve), with its interval (``_count_rates.intervals``)."""
    found = count_rates.intervals(counts, priors, likelihood.prior_model, likelihood.codes,
                                  likelihood.on_reduced(responsibility), INTERVAL)
    return [FittedWeight(v.path, count_rates.GROUP, "True", b.value, float(v.values()[1]), i.low, i.high,
                         i.effective_n) for v, b, i in zip(counts, priors, found, strict=True)]


def _fitted_continuous(found: list[ContinuousParameter], likelihood: _Likelihood, responsibility: np.ndarray,
                       strength: float) -> list[FittedWeight]:
    """Every fitted continuous-finding parameter with its 90 % interval (``_continuous_findings.intervals``)."""
    z = float(normal_distribution.ppf(1 - (1 - INTERVAL) / 2))
    found_intervals = continuous_findings.intervals(found, likelihood.model, likelihood.codes,
                                                    likelihood.on_reduced(responsibility), strength, z)
    return [FittedWeight(i.parameter.path, continuous_findings.GROUP, "", i.parameter.prior, i.parameter.value(),
                         i.low, i.high, i.effective_n, log_scale=i.parameter.role == "relative")
            for i in found_intervals]


def _with_intervals(path: str, group: str, categories: list[str], fitted: np.ndarray, alpha: np.ndarray,
                    moments: np.ndarray) -> list[FittedWeight]:
    """One :class:`FittedWeight` per free category (prior ``alpha`` > 0) of a vector with at least two."""
    sum_a, sum_b, sum_aa, sum_ab, sum_bb = moments
    prior = alpha / alpha.sum()
    free = alpha > 0
    if free.sum() < 2:
        return []
    tail = (1.0 - INTERVAL) / 2
    out = []
    for c in np.flatnonzero(free):
        p = fitted[c]
        missing = (sum_a[c] * (1 - p) ** 2 + p**2 * (sum_b[c] - sum_a[c])
                   - (sum_aa[c] - 2 * p * sum_ab[c] + p**2 * sum_bb[c]))
        n_eff = float(np.clip(sum_b[c] - missing / (p * (1 - p)), 0.0, sum_b[c]))
        strength = alpha[free].sum() + n_eff
        low, high = beta_distribution.ppf([tail, 1 - tail], 1 + p * strength, 1 + (1 - p) * strength)
        out.append(FittedWeight(path, group, categories[c], float(prior[c]), float(p), float(low), float(high),
                                n_eff))
    return out


def cohort_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of the canonical cohort (contract columns only), stable across runs and machines."""
    canonical = to_canonical(frame).reset_index(drop=True)
    digest = hashlib.sha256(pd.util.hash_pandas_object(canonical, index=False).to_numpy().tobytes())
    digest.update("\x1f".join(map(str, canonical.columns)).encode())
    return digest.hexdigest()


def _provenance(cohort: pd.DataFrame, unlabelled: pd.DataFrame, prior: World, report: FitReport,
                skipped: Sequence[SkippedRows]) -> dict[str, Any]:
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
        **({"skipped_rows": [asdict(s) for s in skipped]} if skipped else {}),
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


def _first_row(frame: pd.DataFrame, mask: pd.Series) -> str:
    """'row N' of the first row in ``mask``: the importer's row number (its frames are indexed by data row from 1,
    kept when invalid rows were skipped, where counting positions named the wrong row), else the position from 1
    (a frame with the default 0-based index, or any other index)."""
    position = int(np.flatnonzero(mask.to_numpy())[0])
    index, label = frame.index, frame.index[position]
    default = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    numbered = not default and pd.api.types.is_integer_dtype(index.dtype) and index.min() >= 1
    return f"row {int(label)}" if numbered else f"row {position + 1}"


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
        raise ValueError(f"{_first_row(cohort, bad)}: '{LABEL}' must be one of {list(DIAGNOSES)} in the labelled "
                         f"cohort ({int(bad.sum())} row(s) without a valid diagnosis; put unlabelled records in "
                         "`unlabelled`)")
    if unlabelled is not None and LABEL in unlabelled.columns and unlabelled[LABEL].notna().any():
        raise ValueError(f"unlabelled {_first_row(unlabelled, unlabelled[LABEL].notna())}: has a '{LABEL}'; labelled "
                         "records belong in the cohort")
    if len(cohort) + (0 if unlabelled is None else len(unlabelled)) == 0:
        raise ValueError("no records to fit the world to")
