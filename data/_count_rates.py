"""The binomial nerve-count rates (the per-nerve rate ``p`` of each conduction count among its nerves at risk) as
Beta-distributed rates, fitted from the records that write the count and its number at risk.

A count ``k`` (e.g. ``nerves_definite_cb``) is drawn among ``n`` nerves at risk (its ``n_from``, e.g.
``nerves_any_demyelinating``) as ``(1 - eps) Binomial(n, p_r) + eps Uniform{0..n}`` in latent state ``r``, and
written down (test done, numbers in the writing style) with probability ``rho_r``, times ``kappa_r`` if it is 0
(an unremarkable count is often left out). So, given the state, the number at risk and that the count was written,

    P(k | written, n, r) = P(k | n, r) kappa_r^[k = 0] / (1 - (1 - kappa_r) P(0 | n, r)):

``rho`` cancels, the self-masking of a zero does not (a null is not a zero: written zeros are under-represented
by ``kappa``, which the denominator undoes). Whether the count is written depends only on the state (document,
writing style, section reported, test done) and on the count itself, and whether its number at risk is written
only on that number and the state, so this conditional is a proper likelihood for ``p`` on the records where
both are written (a conditional likelihood: consistent, Andersen et al. 1993 ch. II). The latent state is an EM
responsibility from the exact per-state likelihood (which sums over every null as the posterior does); the M-step
maximises, per rate, ``sum_i sum_r P(r | record i) log P(k_i | written, n_i, r)`` plus the log density of its
Beta prior (centred on the literature value, strength from its stated uncertainty, as every fitted rate), in one
dimension over the few distinct ``(k, n, kappa)``.

A count among another count (e.g. the blocks among the demyelinating nerves) is drawn at the share
``q_r = p / p_parent,r`` of its parent's nerves. Its fitted parameter is that share, kept as the rate at the
*prior* parent's value (so the report reads like the literature's per-nerve rate), and the fitted world writes it
per phenotype and stage as the share times the fitted parent, the format of a redrawn world
(:func:`count_model`, :func:`write_shares`); its prior is the redrawn worlds' Beta(kappa q0, kappa (1 - q0)) on
the share (:func:`count_priors`).

Why not the exact expected counts from every record, as the other rates have: where the count or its number at
risk is null, they need the nerves at risk summed over the unrecorded parent counts inside the count trees
(``_section_likelihood._count_group``); from the likelihood code that is two tilted recomputations of the section per
count field (d log L / d log p and d log L / d log(1 - p)): 10 fields x 2 x ~0.9 s per step on 500 records,
several minutes per fit against a one-minute budget. What is lost is the information the null counts carry about
the rates (e.g. that a count left out is more likely a zero); the nulls still inform the states exactly, and the
likelihood the states are computed from is recomputed with the fitted rates at each step. The step therefore is
a generalised EM step for this partial likelihood, not for the full log posterior: near convergence the full log
posterior may drop by a small fraction of a nat (the tests allow what they allow the other steps).

Intervals: a Beta on the share (the rate itself for a count among the nerves studied) with its mode at the fitted
value and, besides the prior's pseudo-count, an effective number of nerves ``I q (1 - q)``, ``I`` the observed
information of the conditional likelihood at the fitted share (the latent states taken at their
responsibilities: the missing information of the state is not subtracted here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, logit
from scipy.stats import beta as beta_distribution

from mmn_ddx.data._finding_rates import FindingVector, _set_strengths, _vector
from mmn_ddx.data._latent_weights import resolved_slot
from mmn_ddx.data.cohort_model import CohortModel
from mmn_ddx.data.contract import DIAGNOSES
from mmn_ddx.data.distributions import TINY, Binomial, binomial_pmf
from mmn_ddx.data.latents import STAGE_KEYS, ReducedGrid, parameters_in_use, resolve
from mmn_ddx.data.uncertainty import nested_counts

GROUP = "nerve-count rates"
_FIT_KEY = "world-fit-counts"
_BOUND = 12.0
"""The fitted rate's logit is searched in [-12, 12] (p from 6e-6 to 1 - 6e-6)."""


@dataclass(frozen=True)
class CountData:
    """One rate's evidence: the distinct (count, nerves at risk, zero-recording factor, parent's prior rate) of
    the records that write the count and its nerves at risk, and the summed responsibility of the states using
    the rate for each. A count among another count is drawn at the share ``p / p_parent`` of its parent's nerves:
    ``scale`` is the prior parent's rate in the state (1 for a count among the nerves studied), see
    :func:`count_model`."""

    k: np.ndarray
    n: np.ndarray
    kappa: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    upper: float
    """The largest rate allowed: the prior parent's smallest rate over the states using this one (a share of
    at most 1), 1 for a count among the nerves studied."""
    unstudied: Unstudied | None = None
    """A count among the nerves studied also from the records that write it without the number studied."""


@dataclass(frozen=True)
class Unstudied:
    """The records that write a count among the nerves studied but not how many were studied: whether that number
    is written does not depend on it (no value of it is unremarkable), so given the state it is distributed as
    drawn, ``mix`` (levels, values), and ``P(k | written, number not written, r)`` is the conditional above with
    both sums taken over it. A marginal of the record, not all of it (the other counts also tell the number
    studied): a composite likelihood, still consistent (Lindsay 1988)."""

    k: np.ndarray
    kappa: np.ndarray
    mix: np.ndarray
    weight: np.ndarray


def count_vectors(parameters: dict, reduced: ReducedGrid, model: CohortModel) -> list[FindingVector]:
    """Every free binomial nerve-count rate of ``parameters`` (0 < p < 1), one per resolved key (a key shared by
    several states is one rate), with its Beta strength from the stated uncertainty; counts among the nerves
    studied first, then the counts among them (the M-step's order)."""
    names = sorted((name for name, dist in model.dists.items() if isinstance(dist, Binomial)),
                   key=lambda name: _parent(model, name) is not None)
    found: dict[tuple[int, object], FindingVector] = {}
    for name in names:
        for r in range(len(reduced)):
            d = DIAGNOSES[reduced.diagnosis[r]]
            phenotype, stage = str(reduced.phenotype[r]), STAGE_KEYS[reduced.stage[r]]
            spec = parameters["diseases"][d]["fields"][name]
            (container, slot), path = resolved_slot(spec, "p", f"diseases.{d}.fields.{name}.p", phenotype, stage)
            identity = (id(container), slot)
            if identity not in found:
                found[identity] = _vector(name, path, container, slot, len(reduced))
                found[identity].group = GROUP
            found[identity].states[r] = True
    vectors = [v for v in found.values() if (v.values() > 0).sum() == 2]
    _set_strengths(vectors, parameters)
    return vectors


def _parent(model: CohortModel, name: str) -> str | None:
    """The count ``name`` is drawn among, if it is a count (not the nerves studied)."""
    parent = model.dists[name].n_from  # type: ignore[attr-defined]
    return parent if isinstance(model.dists.get(parent), Binomial) else None


def count_model(model: CohortModel, prior: CohortModel, parameters: dict,
                vectors: list[FindingVector]) -> CohortModel:
    """``model`` with every count's binomial rebuilt from the current rates in ``parameters``, a count among
    another count at its share of the *prior* parent's rate, ``p / p_parent(prior)``: the fitted rate of such a
    count is its rate at the prior parent's rate, and it follows its parent's moves (:func:`write_shares`).

    Why: in the literature world a child (e.g. absent F-waves in MMN) shares one per-nerve rate across phenotypes
    whose parents differ (the demyelinating nerves: 0.36 with definite blocks, 0.08 without any), and must stay
    below its parent in each. Fitted with that constraint, a parent falling in one phenotype (no detectable
    block) dragged the shared child down in all (the reality benchmark's N = 200 cohorts: its log-loss ratio
    rose by 0.013-0.019 over the literature's counts). As the redrawn worlds do (``uncertainty._nest_drawn_counts``),
    the share is the child's parameter and the parent scales it per phenotype and stage."""
    if not vectors:
        return model
    with parameters_in_use(_FIT_KEY, parameters):
        dists = {name: Binomial(name, model.reduced) for name, d in model.dists.items() if isinstance(d, Binomial)}
    for name, dist in dists.items():
        parent = _parent(model, name)
        if parent is not None:
            base = prior.dists[parent].p  # type: ignore[attr-defined]
            dist.p = np.where(base > 0, dist.p / np.maximum(base, TINY), 0.0)
    return model.with_distributions(dists)  # type: ignore[arg-type]


def write_shares(parameters: dict, prior: dict) -> None:
    """Write each count among another count per phenotype and stage as its share of the prior parent times the
    fitted parent's rate (in place), in a disease whose parent moved; the format of a redrawn world. A fit that
    moved no parent leaves the tree as it is (the literature world stays the literature world)."""
    for disease, spec in parameters["diseases"].items():
        fields, before = spec["fields"], prior["diseases"][disease]["fields"]
        states = [(phenotype, stage) for phenotype in spec["phenotypes"] for stage in STAGE_KEYS]
        for name, parent in nested_counts(before):
            moved = [float(resolve(fields[parent]["p"], ph, st)) != float(resolve(before[parent]["p"], ph, st))
                     for ph, st in states]
            if not any(moved):
                continue
            rate: dict[str, dict[str, float]] = {}
            for phenotype, stage in states:
                base = float(resolve(before[parent]["p"], phenotype, stage))
                share = float(resolve(fields[name]["p"], phenotype, stage)) / base if base > 0 else 0.0
                rate.setdefault(phenotype, {})[stage] = share * float(resolve(fields[parent]["p"], phenotype, stage))
            fields[name]["p"] = rate


def count_data(vector: FindingVector, prior: CohortModel, codes: dict[str, np.ndarray],
               on_reduced: np.ndarray) -> CountData:
    """One rate's evidence (:class:`CountData`), its parents' rates from the ``prior`` model; ``on_reduced``:
    (n, R) posterior over the reduced states."""
    dist = prior.dists[vector.field]
    assert isinstance(dist, Binomial)
    k, n = codes[vector.field], codes[dist.n_from]
    rows = ~np.isnan(k) & ~np.isnan(n) & (k <= n)
    states = np.flatnonzero(vector.states)
    scale = _parent_rates(prior, vector)
    kappa = prior.unremarkable_record_factor(vector.field)[states]
    pairs, levels, weight = _weights_by_value(on_reduced, rows, states, np.stack([k[rows], n[rows]], axis=1),
                                              np.stack([kappa, scale], axis=1))
    unstudied = None if _parent(prior, vector.field) else _unstudied(vector, prior, codes, on_reduced)
    return CountData(pairs[:, 0], pairs[:, 1], levels[:, 0], levels[:, 1], weight, float(scale.min()), unstudied)


def _parent_rates(prior: CohortModel, vector: FindingVector) -> np.ndarray:
    """The prior parent's rate in each state using ``vector`` (ones for a count among the nerves studied): the
    scale of the count's share, whose smallest value bounds the rate (:class:`CountData`, :class:`CountPrior`)."""
    parent = _parent(prior, vector.field)
    states = np.flatnonzero(vector.states)
    return prior.dists[parent].p[states] if parent else np.ones(len(states))  # type: ignore[attr-defined]


def _weights_by_value(on_reduced: np.ndarray, rows: np.ndarray, states: np.ndarray, values: np.ndarray,
                      by_state: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The responsibility of ``rows`` summed per distinct record value (``values``, one per row) and per distinct
    state level (``by_state``, one row per state of ``states``: what the likelihood reads of the state), kept where
    it is positive: (values, levels, weights), one entry each."""
    levels, level = np.unique(by_state, axis=0, return_inverse=True)
    level = level.ravel()
    weight = np.stack([on_reduced[np.ix_(rows, states[level == j])].sum(axis=1) for j in range(len(levels))], 1)
    distinct, inverse = np.unique(values, axis=0, return_inverse=True)
    summed = np.zeros((len(distinct), len(levels)))
    np.add.at(summed, inverse.ravel(), weight)
    i, j = np.nonzero(summed > 0)
    return distinct[i], levels[j], summed[i, j]


def _unstudied(vector: FindingVector, model: CohortModel, codes: dict[str, np.ndarray],
               on_reduced: np.ndarray) -> Unstudied | None:
    """The records writing a count among the nerves studied without their number (:class:`Unstudied`)."""
    dist = model.dists[vector.field]
    studied = model.dists[dist.n_from]  # type: ignore[attr-defined]
    k = codes[vector.field]
    rows = ~np.isnan(k) & np.isnan(codes[dist.n_from])  # type: ignore[attr-defined]
    if not rows.any():
        return None
    states = np.flatnonzero(vector.states)
    kappa = model.unremarkable_record_factor(vector.field)[states]
    table = studied.table[states]  # type: ignore[attr-defined]
    values, levels, weight = _weights_by_value(on_reduced, rows, states, k[rows], np.column_stack([kappa, table]))
    mix = levels[:, 1:]
    return Unstudied(values, levels[:, 0], mix / mix.sum(axis=1, keepdims=True), weight)


def conditional_log_lik(data: CountData, p: float) -> float:
    """sum of weight x log P(k | written, n, state) at rate ``p`` (module doc)."""
    k, n = data.k, data.n
    q = np.minimum(p / data.scale, 1.0)
    pmf, zero = binomial_pmf(n, k, q), binomial_pmf(n, 0.0, q)
    written = np.where(k == 0, data.kappa, 1.0)
    total = float(np.sum(data.weight * (np.log(pmf * written) - np.log1p(-(1.0 - data.kappa) * zero))))
    return total + (_unstudied_log_lik(data.unstudied, p) if data.unstudied is not None else 0.0)


def _unstudied_log_lik(data: Unstudied, p: float) -> float:
    """sum of weight x log P(k | written, number studied not written, state) at rate ``p`` (:class:`Unstudied`)."""
    k, n = data.k[:, None], np.arange(data.mix.shape[1], dtype=float)[None, :]
    pmf, zero = binomial_pmf(n, k, p), binomial_pmf(n, 0.0, p)
    kappa = data.kappa[:, None]
    written = np.where(k == 0, kappa, 1.0)
    seen = np.sum(data.mix * pmf * written, axis=1)
    reported = np.sum(data.mix * (1.0 - (1.0 - kappa) * zero), axis=1)
    return float(np.sum(data.weight * (np.log(np.maximum(seen, TINY)) - np.log(reported))))


@dataclass(frozen=True)
class CountPrior:
    """A rate's prior: Beta(1 + alpha_True, 1 + alpha_False) on its share of ``upper`` (the prior parent's
    smallest rate over its states; 1 for a count among the nerves studied), ``alpha`` = S kappa (1 - q0, q0)."""

    alpha: np.ndarray
    upper: float

    @property
    def value(self) -> float:
        """The prior's rate (its mode)."""
        return float(self.upper * self.alpha[1] / self.alpha.sum())


def count_priors(vectors: list[FindingVector], prior: CohortModel, strength: float) -> list[CountPrior]:
    """Each rate's prior: the stated uncertainty kappa (``data/uncertainty.py``) times ``strength``, on the
    share of its parent for a count among another count, as a redrawn world draws it
    (``uncertainty._nest_drawn_counts``: Beta(kappa q0, kappa (1 - q0)) on the share q): kappa on the rate itself
    would be a prior several times too wide on the share where the parent is small (MMN without blocks: 0.08)."""
    out = []
    for vector in vectors:
        upper = float(_parent_rates(prior, vector).min())
        q0 = float(vector.values()[1]) / upper
        out.append(CountPrior(strength * vector.kappa * np.array([1.0 - q0, q0]), upper))
    return out


def log_prior(vectors: list[FindingVector], priors: list[CountPrior]) -> float:
    """The rates' log Beta prior densities at their current values, up to a constant (the fit's log posterior)."""
    return sum((_log_beta(b, float(v.values()[1])) for v, b in zip(vectors, priors, strict=True)), 0.0)


def _log_beta(prior: CountPrior, p: float) -> float:
    """log density of :class:`CountPrior` at the rate ``p``, up to a constant."""
    share = p / prior.upper
    return float(prior.alpha[0] * np.log1p(-share) + prior.alpha[1] * np.log(share))


def update(vectors: list[FindingVector], priors: list[CountPrior], prior: CohortModel, codes: dict[str, np.ndarray],
           on_reduced: np.ndarray) -> None:
    """M-step: each rate to the maximum of its conditional log-likelihood plus its Beta prior's log density (a
    count among another at its share of the prior parent: the rates do not constrain each other)."""
    for vector, belief in zip(vectors, priors, strict=True):
        data = count_data(vector, prior, codes, on_reduced)
        vector.write(np.array([0.0, _maximum(data, belief, vector)]))


def _rate(data: CountData, x: float) -> float:
    """The rate at ``x`` on the search scale: the logit of the rate's share of its upper bound."""
    return float(data.upper * expit(x))


def _maximum(data: CountData, belief: CountPrior, vector: FindingVector) -> float:
    """The rate maximising its count's conditional log-likelihood plus its Beta prior's log density."""
    def loss(x: float) -> float:
        p = _rate(data, x)
        return -(conditional_log_lik(data, p) + _log_beta(belief, p))

    start = float(logit(np.clip(vector.values()[1] / data.upper, 1e-5, 1 - 1e-5)))
    best = minimize_scalar(loss, bounds=(-_BOUND, _BOUND), method="bounded", options={"xatol": 1e-7})
    return _rate(data, float(best.x) if best.fun <= loss(start) else start)


@dataclass(frozen=True)
class CountInterval:
    """A fitted rate's 90 % (``level``) interval and the effective number of nerves that informed it."""

    low: float
    high: float
    effective_n: float


def intervals(vectors: list[FindingVector], priors: list[CountPrior], prior: CohortModel,
              codes: dict[str, np.ndarray], on_reduced: np.ndarray, level: float) -> list[CountInterval]:
    """Each rate's interval (module doc), in the order of ``vectors``."""
    tail = (1.0 - level) / 2
    out = []
    for vector, belief in zip(vectors, priors, strict=True):
        data = count_data(vector, prior, codes, on_reduced)
        share = min(max(float(vector.values()[1]) / data.upper, 1e-9), 1 - 1e-9)
        x, h = float(logit(share)), 1e-4
        values = [conditional_log_lik(data, _rate(data, x + d * h)) for d in (-1, 0, 1)]
        information = -(values[0] - 2 * values[1] + values[2]) / h**2 / (share * (1 - share)) ** 2  # on the share
        effective = min(max(information, 0.0) * share * (1 - share), float(np.sum(data.weight * data.n)))
        strength = float(belief.alpha.sum()) + effective
        low, high = beta_distribution.ppf([tail, 1 - tail], 1 + share * strength, 1 + (1 - share) * strength)
        out.append(CountInterval(float(low * data.upper), float(high * data.upper), effective))
    return out
