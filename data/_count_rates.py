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

Why not the exact expected counts from every record, as the other rates have: where the count or its number at
risk is null, they need the nerves at risk summed over the unrecorded parent counts inside the count trees
(``exact_posterior._count_group``); from the likelihood code that is two tilted recomputations of the section per
count field (d log L / d log p and d log L / d log(1 - p)): 10 fields x 2 x ~0.9 s per step on 500 records,
several minutes per fit against a one-minute budget. What is lost is the information the null counts carry about
the rates (e.g. that a count left out is more likely a zero); the nulls still inform the states exactly, and the
likelihood the states are computed from is recomputed with the fitted rates at each step. The step therefore is
a generalised EM step for this partial likelihood, not for the full log posterior: near convergence the full log
posterior may drop by a small fraction of a nat (the tests allow what they allow the other steps).

Intervals: a Beta with its mode at the fitted rate and, besides the prior's pseudo-count, an effective number of
nerves ``I p (1 - p)``, ``I`` the observed information of the conditional likelihood at the fitted rate (the
latent states taken at their responsibilities: the missing information of the state is not subtracted here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, gammaln, logit
from scipy.stats import beta as beta_distribution

from mmn_ddx.data._finding_rates import FindingVector, _set_strengths, _vector
from mmn_ddx.data._latent_weights import resolved_slot
from mmn_ddx.data.cohort_model import CohortModel, _nest_counts
from mmn_ddx.data.contract import DIAGNOSES
from mmn_ddx.data.distributions import Binomial
from mmn_ddx.data.latents import STAGE_KEYS, ReducedGrid, atypical_rate, parameters_in_use

GROUP = "nerve-count rates"
_FIT_KEY = "world-fit-counts"
_BOUND = 12.0
"""The fitted rate's logit is searched in [-12, 12] (p from 6e-6 to 1 - 6e-6)."""


@dataclass(frozen=True)
class CountData:
    """One rate's evidence: the distinct (count, nerves at risk, zero-recording factor, parent's rate) of the
    records that write the count and its nerves at risk, and the summed responsibility of the states using the
    rate for each. A count among another count (``n_from`` a count) is drawn at ``p / p_parent`` among its parent's
    nerves (``cohort_model._nest_counts``): ``scale`` is that parent's per-nerve rate in the state (1 for a count
    among the nerves studied)."""

    k: np.ndarray
    n: np.ndarray
    kappa: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    upper: float
    """The largest rate allowed: the parent's smallest rate over the states using this one (a child never
    exceeds its parent, ``uncertainty._nest_drawn_counts``), 1 for a count among the nerves studied."""


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


def count_model(model: CohortModel, parameters: dict, vectors: list[FindingVector]) -> CohortModel:
    """``model`` with every count's binomial rebuilt from the current rates in ``parameters`` (the counts among
    another count nested in it, as ``cohort_model`` does)."""
    if not vectors:
        return model
    with parameters_in_use(_FIT_KEY, parameters):
        dists = {name: Binomial(name, model.reduced) for name, d in model.dists.items() if isinstance(d, Binomial)}
    _nest_counts(dists)  # type: ignore[arg-type]
    return model.with_distributions(dists)  # type: ignore[arg-type]


def count_data(vector: FindingVector, model: CohortModel, codes: dict[str, np.ndarray],
               on_reduced: np.ndarray) -> CountData:
    """One rate's evidence (:class:`CountData`) under ``model`` (its parents' rates); ``on_reduced``: (n, R)
    posterior over the reduced states."""
    dist = model.dists[vector.field]
    assert isinstance(dist, Binomial)
    k, n = codes[vector.field], codes[dist.n_from]
    rows = ~np.isnan(k) & ~np.isnan(n) & (k <= n)
    states = np.flatnonzero(vector.states)
    parent = _parent(model, vector.field)
    scale = model.dists[parent].p[states] if parent else np.ones(len(states))  # type: ignore[attr-defined]
    kappa = model.unremarkable_record_factor(vector.field)[states]
    levels, level = np.unique(np.stack([kappa, scale], axis=1), axis=0, return_inverse=True)
    level = level.ravel()
    weight = np.stack([on_reduced[np.ix_(rows, states[level == j])].sum(axis=1) for j in range(len(levels))], 1)
    pairs, inverse = np.unique(np.stack([k[rows], n[rows]], axis=1), axis=0, return_inverse=True)
    summed = np.zeros((len(pairs), len(levels)))
    np.add.at(summed, inverse.ravel(), weight)
    keep = summed > 0
    i, j = np.nonzero(keep)
    return CountData(pairs[i, 0], pairs[i, 1], levels[j, 0], levels[j, 1], summed[keep], float(scale.min()))


def conditional_log_lik(data: CountData, p: float) -> float:
    """sum of weight x log P(k | written, n, state) at rate ``p`` (module doc)."""
    eps = atypical_rate()
    k, n = data.k, data.n
    q = np.minimum(p / data.scale, 1.0)
    with np.errstate(divide="ignore"):
        log_binomial = (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
                        + np.where(k > 0, k * np.log(q), 0.0) + np.where(n > k, (n - k) * np.log1p(-q), 0.0))
        pmf = (1.0 - eps) * np.exp(log_binomial) + eps / (n + 1)
        zero = (1.0 - eps) * np.exp(np.where(n > 0, n * np.log1p(-q), 0.0)) + eps / (n + 1)
    written = np.where(k == 0, data.kappa, 1.0)
    return float(np.sum(data.weight * (np.log(pmf * written) - np.log1p(-(1.0 - data.kappa) * zero))))


def log_prior(vectors: list[FindingVector], alphas: list[np.ndarray]) -> float:
    """The rates' log Beta prior densities at their current values, up to a constant (the fit's log posterior)."""
    return sum((_log_beta(a, float(v.values()[1])) for v, a in zip(vectors, alphas, strict=True)), 0.0)


def _log_beta(alpha: np.ndarray, p: float) -> float:
    """log Beta(1 + alpha_True, 1 + alpha_False) density at ``p``, up to a constant (``alpha``: False, True)."""
    return float(alpha[0] * np.log1p(-p) + alpha[1] * np.log(p))


def update(vectors: list[FindingVector], alphas: list[np.ndarray], model: CohortModel, parameters: dict,
           codes: dict[str, np.ndarray], on_reduced: np.ndarray) -> None:
    """M-step: each rate to the maximum of its conditional log-likelihood plus its Beta prior's log density; the
    counts among the nerves studied first, then the counts among them at their parents' new rates."""
    children = [_parent(model, v.field) is not None for v in vectors]
    for nested in (False, True):
        if nested:  # the parents at their new rates (their children are bounded by them next)
            parents = {p for v in vectors if (p := _parent(model, v.field)) is not None}
            with parameters_in_use(_FIT_KEY, parameters):
                model = model.with_distributions({p: Binomial(p, model.reduced) for p in parents})
        for vector, alpha, child in zip(vectors, alphas, children, strict=True):
            if child == nested:
                data = count_data(vector, model, codes, on_reduced)
                vector.write(np.array([0.0, _maximum(data, alpha, vector)]))


def _rate(data: CountData, x: float) -> float:
    """The rate at ``x`` on the search scale: the logit of the rate's share of its upper bound."""
    return float(data.upper * expit(x))


def _maximum(data: CountData, alpha: np.ndarray, vector: FindingVector) -> float:
    def loss(x: float) -> float:
        p = _rate(data, x)
        return -(conditional_log_lik(data, p) + _log_beta(alpha, p))

    start = float(logit(np.clip(vector.values()[1] / data.upper, 1e-5, 1 - 1e-5)))
    best = minimize_scalar(loss, bounds=(-_BOUND, _BOUND), method="bounded", options={"xatol": 1e-7})
    return _rate(data, float(best.x) if best.fun <= loss(start) else start)


@dataclass(frozen=True)
class CountInterval:
    """A fitted rate's 90 % (``level``) interval and the effective number of nerves that informed it."""

    low: float
    high: float
    effective_n: float


def intervals(vectors: list[FindingVector], alphas: list[np.ndarray], model: CohortModel,
              codes: dict[str, np.ndarray], on_reduced: np.ndarray, level: float) -> list[CountInterval]:
    """Each rate's interval (module doc), in the order of ``vectors``."""
    tail = (1.0 - level) / 2
    out = []
    for vector, alpha in zip(vectors, alphas, strict=True):
        data = count_data(vector, model, codes, on_reduced)
        p = float(vector.values()[1])
        share = min(max(p / data.upper, 1e-9), 1 - 1e-9)
        x, h = float(logit(share)), 1e-4
        values = [conditional_log_lik(data, _rate(data, x + d * h)) for d in (-1, 0, 1)]
        information = -(values[0] - 2 * values[1] + values[2]) / h**2 / (data.upper * share * (1 - share)) ** 2
        effective = min(max(information, 0.0) * p * (1 - p), float(np.sum(data.weight * data.n)))
        strength = float(alpha.sum()) + effective
        low, high = beta_distribution.ppf([tail, 1 - tail], 1 + p * strength, 1 + (1 - p) * strength)
        out.append(CountInterval(float(low), float(high), effective))
    return out
