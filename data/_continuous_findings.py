"""The continuous findings' locations, scales, age slopes and mixture weights, fitted by generalised EM steps.

A continuous finding (``distributions.RoundedContinuous``: age at onset ``truncnorm``, CSF protein and cells
``lognormal``, the anti-GM1 ratio ``lognormal_mixture``, and the symptom duration, a log-normal whose median
is set per stage in the diseases' ``stage`` block, ``cohort_model.duration_distribution``) is one draw per
record: with probability 1 - eps a (log-)normal, or a two-component log-normal mixture with weight
``p_positive``, truncated to [lo, hi] and rounded to ``decimals``; with probability eps (the atypical rate) a
(log-)uniform value over the contract's range. Its parameters enter a record's log-likelihood in one additive
term per latent state, ``t(theta)``:

* value written: log P(its rounding bin) (``RoundedContinuous.log_pmf``);
* value null, its word written ("anti-GM1 positive", "CSF protein raised"): log P(value on the word's side of
  its limit) (``_qualitative_likelihood.word_sides``); "CSF protein raised" is read at the age at work-up, so
  where a record leaves its age band open (duration null) the term is summed over both bands with P(band |
  state) from the duration's distribution, which reaches those records' word too (``_csf_band``);
* value and word null: nothing. The reporting model writes a continuous value at its record rate whatever the
  value (``p_unremarkable`` is 0 for these findings: no self-masking of normal values), and words at a
  value-independent rate, so such a null is a constant factor, uninformative about the value's distribution.

So the expected complete-data log-likelihood is ``Q(theta) = sum_i sum_r rho_ir t_ir(theta)`` with ``rho`` each
record's posterior over the reduced latent states, and any theta that raises Q plus the log prior raises the
log posterior (generalised EM, Dempster, Laird & Rubin 1977). No closed-form update is exact here: the
truncation's normaliser moves with the location and scale, a rounded value is a bin probability, not a
density, and the atypical component and the mixture sit inside each value's term. Q is therefore maximised
numerically (L-BFGS-B), per field and diagnosis (their parameters do not interact, but for the CSF word's open
age band, where the protein's and the duration's groups each hold the other at its current values), from the
current values, which are kept when the optimiser finds nothing better.

Priors from the stated uncertainty (``data/uncertainty.py``), S the prior strength: a location, scale or age
slope x (role ``relative``: a redraw is x0 exp(N(0, spread))) has log x ~ N(log x0, spread^2 / S), so S scales
the literature's precision as it scales a Beta's S kappa pseudo-counts, and the MAP is taken in log x, where the
prior's mode is x0; a mixture weight ``p_positive`` (role ``beta``) has Beta(1 + S kappa p0, 1 + S kappa (1 - p0)),
as the finding rates. A parameter keyed by phenotype or stage is one parameter per key, where
``latents.resolve`` finds it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logit, logsumexp

from mmn_ddx.data import _csf_band as csf
from mmn_ddx.data import _qualitative_likelihood as ql
from mmn_ddx.data import qualitative as qw
from mmn_ddx.data._field_likelihood import CSF_YOUNG, context, rows_of
from mmn_ddx.data._latent_weights import resolved_slot
from mmn_ddx.data.cohort_model import DURATION, CohortModel, duration_distribution
from mmn_ddx.data.contract import DIAGNOSES
from mmn_ddx.data.distributions import TINY, RoundedContinuous
from mmn_ddx.data.latents import STAGE_KEYS, ReducedGrid, parameters_in_use
from mmn_ddx.data.uncertainty import uncertainties

PARAMETERS: dict[str, tuple[tuple[tuple[str, ...], str, int], ...]] = {
    "truncnorm": ((("mean",), "mu", 0), (("sd",), "sigma", 0)),
    "lognormal": ((("median",), "mu", 0), (("sigma",), "sigma", 0), (("age_slope_per_decade",), "slope", 0)),
    "lognormal_mixture": ((("p_positive",), "weights", 0), (("positive", "median"), "mu", 0),
                          (("positive", "sigma"), "sigma", 0), (("negative", "median"), "mu", 1),
                          (("negative", "sigma"), "sigma", 1)),
}
"""Per kind, each fitted key (its path within the field's spec) and the ``RoundedContinuous`` array and
mixture component it sets; ``lo``, ``hi``, ``decimals`` and ``shift`` are the contract's, not fitted."""
DURATION_KIND = "stage duration"
"""The symptom duration's kind here: its median per stage (a list in ``stage.duration_median_months``, per
phenotype where keyed) and one sigma per diagnosis (``stage.duration_sigma``)."""
LOG_BOUND = 3.0
"""A location or scale stays within a factor e^3 of the prior's value (a 20-fold move; the prior itself allows
a factor e^0.2 per sd): bounds keep the optimiser off degenerate scales, never active in a sane cohort."""
LOGIT_BOUND = 12.0
"""A mixture weight stays within logit +-12 (6e-6 to 1 - 6e-6), anywhere else free."""
GROUP = "continuous findings"
_FIT_KEY = "world-fit-continuous"


@dataclass(eq=False)
class ContinuousParameter:
    """One fitted location, scale, age slope or mixture weight, where ``latents.resolve`` finds it."""

    path: str
    field: str
    kind: str
    role: str                  # "relative" (log-normal prior) or "beta"
    array: str                 # the RoundedContinuous array it sets: mu, sigma, slope, weights
    component: int
    container: Any
    key: Any
    states: np.ndarray         # (R,) bool: the reduced states that use it
    prior: float = 0.0
    strength: float = 0.0      # the relative spread, or kappa

    def value(self) -> float:
        return float(self.container[self.key])

    def write(self, x: float) -> None:
        self.container[self.key] = float(x)

    def free(self, x: float) -> float:
        """The unconstrained coordinate the MAP is taken in: log x, or logit p."""
        return float(logit(x)) if self.role == "beta" else float(np.log(x))

    def from_free(self, z: float) -> float:
        return float(expit(z)) if self.role == "beta" else float(np.exp(z))

    def log_prior(self, x: float, scale: float) -> float:
        """log prior density up to a constant, with prior strength ``scale`` (S)."""
        if self.role == "beta":
            alpha = scale * self.strength
            return alpha * (self.prior * np.log(x) + (1 - self.prior) * np.log1p(-x))
        return -scale * (np.log(x) - np.log(self.prior)) ** 2 / (2 * self.strength**2)

    def bounds(self) -> tuple[float, float]:
        """Where the optimiser may look, in the free coordinate."""
        if self.role == "beta":
            return -LOGIT_BOUND, LOGIT_BOUND
        centre = self.free(self.prior)
        return centre - LOG_BOUND, centre + LOG_BOUND

    def prior_precision(self, x: float, scale: float) -> float:
        """Minus the log prior's curvature in the free coordinate at ``x`` (relative: S / spread^2 everywhere)."""
        if self.role == "beta":
            return scale * self.strength * x * (1 - x)
        return scale / self.strength**2


def continuous_parameters(parameters: dict[str, Any], reduced: ReducedGrid) -> list[ContinuousParameter]:
    """Every free parameter of the continuous findings of ``parameters`` (read and written in place)."""
    found: dict[tuple[int, Any], ContinuousParameter] = {}
    for r in range(len(reduced)):
        d = DIAGNOSES[reduced.diagnosis[r]]
        phenotype, stage = str(reduced.phenotype[r]), STAGE_KEYS[reduced.stage[r]]
        for name, spec in parameters["diseases"][d]["fields"].items():
            for keys, array, component in PARAMETERS.get(spec.get("kind"), ()):
                parent = spec
                for key in keys[:-1]:
                    parent = parent[key]
                if keys[-1] not in parent:
                    continue
                base = ".".join(("diseases", d, "fields", name, *keys))
                (container, slot), path = resolved_slot(parent, keys[-1], base, phenotype, stage)
                identity = (id(container), slot)
                if identity not in found:
                    role = "beta" if array == "weights" else "relative"
                    found[identity] = ContinuousParameter(path, name, spec["kind"], role, array, component, container,
                                                          slot, np.zeros(len(reduced), bool))
                found[identity].states[r] = True
        _add_duration(found, parameters["diseases"][d]["stage"], d, phenotype, r, len(reduced),
                      int(reduced.stage[r]))
    out = [p for p in found.values() if p.role == "relative" or 0.0 < p.value() < 1.0]  # 0, 1: structural
    _set_strengths(out, parameters)
    return out


def _add_duration(found: dict[tuple[int, Any], ContinuousParameter], block: dict[str, Any], d: str,
                  phenotype: str, r: int, states: int, stage: int) -> None:
    """The duration's median for the state's stage (its list resolved by phenotype, as ``duration_distribution``
    does) and the diagnosis' sigma."""
    base = f"diseases.{d}.stage"
    (container, slot), path = resolved_slot(block, "duration_median_months", f"{base}.duration_median_months",
                                            phenotype, "")
    medians = container[slot]
    for parent, key, where, array in ((medians, stage, f"{path}[{stage}]", "mu"),
                                      (block, "duration_sigma", f"{base}.duration_sigma", "sigma")):
        identity = (id(parent), key)
        if identity not in found:
            found[identity] = ContinuousParameter(where, DURATION, DURATION_KIND, "relative", array, 0, parent, key,
                                                  np.zeros(states, bool))
        found[identity].states[r] = True


def _set_strengths(found: list[ContinuousParameter], parameters: dict[str, Any]) -> None:
    """The spread (relative) or kappa (beta) stated for each parameter's path, and its prior value."""
    by_path = {u.path: u for u in uncertainties(parameters)}
    for parameter in found:
        stated = by_path.get(parameter.path)
        if stated is None or stated.role != parameter.role:
            raise ValueError(f"{parameter.path}: no stated {parameter.role} uncertainty for this parameter")
        parameter.strength, parameter.prior = float(stated.strength), parameter.value()


def continuous_models(model: CohortModel, parameters: dict[str, Any],
                      found: list[ContinuousParameter]) -> CohortModel:
    """``model`` with the fitted fields' distributions rebuilt from the current values in ``parameters``."""
    kinds = {p.field: p.kind for p in found}
    with parameters_in_use(_FIT_KEY, parameters):
        dists = {name: duration_distribution(model.reduced) if kind == DURATION_KIND
                 else RoundedContinuous(name, model.reduced, kind) for name, kind in kinds.items()}
    return model.with_distributions(dists)


class _Group:
    """The parameters of one field in one diagnosis, the records that inform them, and their terms t."""

    def __init__(self, model: CohortModel, dist: RoundedContinuous, mine: list[ContinuousParameter],
                 states: np.ndarray, codes: dict[str, np.ndarray], rho: np.ndarray) -> None:
        self.mine, self.states = mine, states
        self.dist = _restricted(dist, states)
        self.local = [p.states[states] for p in mine]
        value = codes[dist.name]
        word = next((w for w, v in qw.VALUE_WORDS.items() if v == dist.name), None)
        self.word = word
        worded = ~np.isnan(codes[word]) if word is not None else np.zeros(len(value), bool)
        ctx = context(codes)
        banded = _band_open(dist.name, codes, ctx)  # the duration reaches these records' CSF word
        informative = (~np.isnan(value) | worded | banded) & (rho[:, states].sum(axis=1) > 0)
        self.rows = np.flatnonzero(informative)
        self.value = value[self.rows]
        self.code = codes[word][self.rows] if word is not None else np.full(len(self.rows), np.nan)
        self.ctx = rows_of(ctx, self.rows)
        self.young = ql.csf_young_probability(model, self.ctx)[:, states] if word == qw.CSF_WORD else None
        self.banded = banded[self.rows]
        self.band_factors: tuple[np.ndarray, np.ndarray] | None = None
        if self.banded.any():
            protein = model.dists[qw.VALUE_WORDS[qw.CSF_WORD]]
            assert isinstance(protein, RoundedContinuous)
            rows = self.rows[self.banded]
            factors = csf.band_factors(protein, codes[protein.name][rows], codes[qw.CSF_WORD][rows],
                                       rows_of(ctx, rows))
            self.band_factors = (factors[0][:, states], factors[1][:, states])
        self.rho = rho[np.ix_(self.rows, states)]                    # (m, R_d)
        self.outside = 1.0 - self.rho.sum(axis=1)                     # posterior mass on other diagnoses

    def terms(self, x: np.ndarray) -> np.ndarray:
        """(m, R_d) the parameter-dependent log-likelihood term of each informative record at values ``x``."""
        dist = copy.copy(self.dist)
        dist.mu, dist.sigma = self.dist.mu.copy(), self.dist.sigma.copy()
        dist.weights, dist.slope = self.dist.weights.copy(), self.dist.slope.copy()
        for p, local, v in zip(self.mine, self.local, x, strict=True):
            if p.array == "weights":
                dist.weights[local] = [v, 1.0 - v]
            elif p.array == "slope":
                dist.slope[local] = v
            elif p.array == "mu":
                dist.mu[local, p.component] = np.log(v) if dist.log_scale else v
            else:
                dist.sigma[local, p.component] = v
        out = np.zeros_like(self.rho)
        seen = ~np.isnan(self.value)
        if seen.any():
            out[seen] = dist.log_pmf(self.value[seen], rows_of(self.ctx, seen))
        if self.word is not None and (~seen).any():
            young = None if self.young is None else self.young[~seen]
            above, below = ql.word_sides(dist, self.word, rows_of(self.ctx, ~seen), young)
            out[~seen] = np.where((self.code[~seen] == 1)[:, None], above, below)
        if self.band_factors is not None:  # the duration: P(lower CSF limit | state) weighs the word's two bands
            young = csf.young_probability(dist, rows_of(self.ctx, self.banded))
            low, high = self.band_factors
            out[self.banded] = np.log(np.maximum(young * low + (1.0 - young) * high, TINY))
        return out

    def expected(self, x: np.ndarray) -> float:
        """Q restricted to this group: sum_i sum_r rho_ir t_ir(x)."""
        return float((self.rho * self.terms(x)).sum())

    def observed(self, x: np.ndarray, at: np.ndarray) -> float:
        """log p(records | x) - log p(records | ``at``), every other parameter fixed: the posterior over the
        latent states at ``at`` re-weighted by each state's change of term (exact, not a bound)."""
        delta = self.terms(x) - self.terms(at)
        with np.errstate(divide="ignore"):
            joint = np.concatenate([np.log(self.rho) + delta, np.log(self.outside.clip(0))[:, None]], axis=1)
        return float(logsumexp(joint, axis=1).sum())


def _band_open(name: str, codes: dict[str, np.ndarray], ctx: dict[str, np.ndarray]) -> np.ndarray:
    """(n,) for the symptom duration: the records whose CSF word is summed over the age band their unwritten
    duration leaves open (``data/_csf_band.py``); none for any other field."""
    if name != DURATION:
        return np.zeros(len(ctx["age"]), dtype=bool)
    return np.isnan(codes[DURATION]) & np.isnan(ctx[CSF_YOUNG]) & ~np.isnan(codes[qw.CSF_WORD])


def _restricted(dist: RoundedContinuous, states: np.ndarray) -> RoundedContinuous:
    """A copy of ``dist`` on the given reduced states only."""
    out = copy.copy(dist)
    for name in ("lo", "hi", "half", "shift", "slope", "weights", "mu", "sigma"):
        setattr(out, name, np.array(getattr(dist, name))[states])
    return out


def groups(found: list[ContinuousParameter], model: CohortModel, codes: dict[str, np.ndarray],
           rho: np.ndarray) -> Iterator[_Group]:
    """One group per (field, diagnosis) holding a fitted parameter; ``rho``: (n, R) posterior."""
    for name in sorted({p.field for p in found}):
        dist = model.dists[name]
        assert isinstance(dist, RoundedContinuous)
        for d in range(len(DIAGNOSES)):
            states = np.flatnonzero(model.reduced.diagnosis == d)
            mine = [p for p in found if p.field == name and p.states[states].any()]
            if mine:
                yield _Group(model, dist, mine, states, codes, rho)


def update(found: list[ContinuousParameter], model: CohortModel, codes: dict[str, np.ndarray], rho: np.ndarray,
           scale: float) -> None:
    """M-step: each group's parameters maximise Q + log prior, from their current values (kept unless better)."""
    for group in groups(found, model, codes, rho):
        start = np.array([p.value() for p in group.mine])
        z0 = np.array([p.free(v) for p, v in zip(group.mine, start, strict=True)])

        def objective(z: np.ndarray, group: _Group = group) -> float:
            x = np.array([p.from_free(v) for p, v in zip(group.mine, z, strict=True)])
            return -(group.expected(x) + sum(p.log_prior(v, scale) for p, v in zip(group.mine, x, strict=True)))

        best = objective(z0)
        result = minimize(objective, z0, method="L-BFGS-B", bounds=[p.bounds() for p in group.mine])
        if np.isfinite(result.fun) and result.fun < best:
            for p, z in zip(group.mine, result.x, strict=True):
                p.write(p.from_free(float(z)))


def log_prior(found: list[ContinuousParameter], scale: float) -> float:
    return float(sum(p.log_prior(p.value(), scale) for p in found))


@dataclass(frozen=True)
class Interval:
    """One parameter's 90 % interval and effective n (what ``world_fit.FittedWeight`` reports)."""

    parameter: ContinuousParameter
    low: float
    high: float
    effective_n: float


def intervals(found: list[ContinuousParameter], model: CohortModel, codes: dict[str, np.ndarray],
              rho: np.ndarray, scale: float, z: float) -> list[Interval]:
    """Per parameter, an interval from the curvature of the *observed* log posterior in the free coordinate
    (Laplace, every other parameter at its MAP; central differences): the records' information is the
    observed one, so a latent state the findings barely pin down widens it (Louis 1982). A location or scale is
    Normal in log x; the effective n is the expected number of records that carried the parameter's value,
    times the share of the complete-data information that is observed. ``z``: the Normal quantile."""
    out = []
    for group in groups(found, model, codes, rho):
        at = np.array([p.value() for p in group.mine])
        for j, p in enumerate(group.mine):
            h = 1e-2
            moved = [at.copy() for _ in range(2)]
            moved[0][j], moved[1][j] = p.from_free(p.free(at[j]) + h), p.from_free(p.free(at[j]) - h)
            observed = -(group.observed(moved[0], at) + group.observed(moved[1], at)) / h**2
            complete = -(group.expected(moved[0]) + group.expected(moved[1]) - 2 * group.expected(at)) / h**2
            carried = float(group.rho[:, group.local[j]].sum())
            information = max(observed, 0.0)
            share = float(np.clip(information / complete, 0.0, 1.0)) if complete > 0 else 0.0
            precision = information + p.prior_precision(at[j], scale)
            centre = p.free(at[j])
            half = z / np.sqrt(precision)
            out.append(Interval(p, p.from_free(centre - half), p.from_free(centre + half), carried * share))
    return out
