"""Per-field distributions of the generator, each with a sampler and an exact log-probability.

All values are handled as float codes: categories by their index in the contract's value list,
booleans as 0/1, numbers as themselves; NaN means "not recorded". Continuous findings are generated
at a fixed resolution (``decimals``), so their likelihood is the exact probability of the rounding
bin, not an approximate density.

Every distribution is resolved onto the reduced latent grid (R states): ``log_pmf`` returns an
(n, R) matrix, ``p_unremarkable`` the probability of an unremarkable value, which drives how often
a finding is left out of sparse records.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from scipy.special import gammaln, ndtr, ndtri

from mmn_ddx.data.contract import FieldSpec, fields
from mmn_ddx.data.latents import ReducedGrid, atypical_rate, load_priors

TINY = 1e-300
LOG_TINY = float(np.log(TINY))


class Distribution(Protocol):
    def sample(self, rng: np.random.Generator, r: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray: ...
    def log_pmf(self, x: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray: ...
    def p_unremarkable(self, ctx: dict[str, np.ndarray]) -> np.ndarray: ...
    def is_unremarkable(self, x: np.ndarray) -> np.ndarray: ...


def _unremarkable_values(name: str) -> list[float]:
    """Codes of the values that sparse records tend to leave out (normal findings)."""
    rules = load_priors()["unremarkable"]
    spec = fields()[name]
    if name in rules["always_notable"]:
        return []
    if spec.type == "category":
        return [float((spec.values or ()).index(v)) for v in rules["categories"].get(name, [])]
    if spec.type == "bool":
        return [0.0]
    if spec.type == "int":
        return [float(v) for v in rules["counts"]]
    return []


class Categorical:
    """Finite support: categories, booleans (``bernoulli``) and small counts given as a pmf."""

    def __init__(self, name: str, grid: ReducedGrid, kind: str) -> None:
        self.name = name
        spec = fields()[name]
        kinds = grid.param(name, "kind")
        rows = [_pmf_row(spec, kind, grid.raw(name, i)) for i, kind in enumerate(kinds)]
        table = np.zeros((len(rows), max(len(row) for row in rows)))
        for i, row in enumerate(rows):
            table[i, : len(row)] = row
        table = table / table.sum(axis=1, keepdims=True)
        broad = _broad_row(spec)
        if broad.size > table.shape[1]:
            table = np.pad(table, ((0, 0), (0, broad.size - table.shape[1])))
        broad = np.pad(broad, (0, table.shape[1] - broad.size))
        eps = atypical_rate()
        table = (1.0 - eps) * table + eps * broad[None, :]
        self.table = table
        self.log_table = np.log(np.maximum(table, TINY))
        self.unremarkable = np.array(_unremarkable_values(name), dtype=int)
        self.unremarkable = self.unremarkable[self.unremarkable < table.shape[1]]

    def sample(self, rng: np.random.Generator, r: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray:
        cdf = np.cumsum(self.table[r], axis=1)
        return (rng.random(len(r))[:, None] > cdf[:, :-1]).sum(axis=1).astype(float)

    def log_pmf(self, x: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray:
        code = np.nan_to_num(x, nan=0.0).astype(int)
        inside = (code >= 0) & (code < self.table.shape[1])
        out = self.log_table.T[np.clip(code, 0, self.table.shape[1] - 1)]
        return np.where(inside[:, None], out, LOG_TINY)

    def p_unremarkable(self, ctx: dict[str, np.ndarray]) -> np.ndarray:
        return self.table[:, self.unremarkable].sum(axis=1)

    def is_unremarkable(self, x: np.ndarray) -> np.ndarray:
        return np.isin(x, self.unremarkable)


def _broad_row(spec: FieldSpec) -> np.ndarray:
    """Uniform over every value the contract allows: the 'atypical finding' component."""
    if spec.type == "category":
        size = len(spec.values or ())
    elif spec.type == "bool":
        size = 2
    else:
        assert spec.range is not None and spec.range[0] == 0, spec.name
        size = int(spec.range[1]) + 1
    return np.full(size, 1.0 / size)


def _pmf_row(spec: FieldSpec, kind: str, params: dict[str, Any]) -> np.ndarray:
    """The probability of each value code for one latent state."""
    if kind == "bernoulli":
        return np.array([1.0 - params["p"], params["p"]])
    if kind == "uniform_int":
        row = np.zeros(int(params["hi"]) + 1)
        row[int(params["lo"]) :] = 1.0
        return row
    if kind == "shifted_poisson":
        shift, lam, cap = int(params["shift"]), float(params["mean"]), int(params["max"])
        k = np.arange(cap + 1) - shift
        row = np.where(k >= 0, np.exp(k * np.log(lam) - lam - gammaln(np.maximum(k, 0) + 1)), 0.0)
        row[cap] += 1.0 - row.sum()  # mass above the cap is lumped at the cap
        return row
    probs = params["probs"]
    if spec.type == "category":
        values = spec.values or ()
        row = np.zeros(len(values))
        for value, p in probs.items():
            row[values.index(value)] = p
        return row
    row = np.zeros(1 + max(int(v) for v in probs))
    for value, p in probs.items():
        row[int(value)] = p
    return row


class Binomial:
    """Abnormal nerves among the nerves studied: Binomial(n studied, per-nerve rate)."""

    def __init__(self, name: str, grid: ReducedGrid) -> None:
        self.name = name
        self.n_from = str(grid.param(name, "n_from")[0])
        self.p = grid.param(name, "p").astype(float)

    def sample(self, rng: np.random.Generator, r: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray:
        n = ctx[self.n_from].astype(int)
        typical = rng.binomial(n, self.p[r])
        atypical = rng.integers(0, n + 1)
        return np.where(rng.random(len(r)) < atypical_rate(), atypical, typical).astype(float)

    def log_pmf(self, x: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray:
        """Worked out once per distinct (nerves studied, count) pair: rows share few of them."""
        n, k = np.broadcast_arrays(ctx[self.n_from], np.nan_to_num(x, nan=0.0))
        if len(n) < 2:
            return self._log_pmf(n, k)
        pairs, inverse = np.unique(np.stack([n, k]), axis=1, return_inverse=True)
        return self._log_pmf(pairs[0], pairs[1])[inverse.ravel()]

    def _log_pmf(self, n_studied: np.ndarray, count: np.ndarray) -> np.ndarray:
        n, k = n_studied[:, None], count[:, None]
        with np.errstate(divide="ignore"):  # log(0) where k > n, replaced
            return np.where(k <= n, np.log(binomial_pmf(n, k, self.p[None, :])), LOG_TINY)

    def p_unremarkable(self, ctx: dict[str, np.ndarray]) -> np.ndarray:
        n = ctx[self.n_from]
        eps = atypical_rate()
        if len(n) and (n == n[0]).all():  # one hypothesised number studied: (1, R) broadcasts
            return (1.0 - eps) * (1.0 - self.p[None, :]) ** n[0] + eps / (n[0] + 1)
        return (1.0 - eps) * (1.0 - self.p[None, :]) ** n[:, None] + eps / (n[:, None] + 1)

    def is_unremarkable(self, x: np.ndarray) -> np.ndarray:
        return x == 0


def binomial_pmf(n: np.ndarray, k: np.ndarray | float, p: np.ndarray | float) -> np.ndarray:
    """P(count ``k`` | ``n`` at risk, per-nerve rate ``p``) as drawn: the atypical mixture ``(1 - eps) Binomial(n, p)
    + eps Uniform{0..n}``, 0 where ``k > n`` (arguments broadcast). The one formula of :class:`Binomial` and of the
    world fit's nerve-count rates (``data._count_rates``)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log = (gammaln(n + 1) - gammaln(k + 1) - gammaln(np.maximum(n - k, 0) + 1)
               + np.where(k > 0, k * np.log(p), 0.0) + np.where(n - k > 0, (n - k) * np.log1p(-p), 0.0))
        eps = atypical_rate()
        mixed = (1.0 - eps) * np.exp(np.where(np.isfinite(log), log, -np.inf)) + eps / (n + 1)
    return np.where(k <= n, mixed, 0.0)


class RoundedContinuous:
    """(Log-)normal, truncated to [lo, hi], reported at ``decimals`` resolution; optional mixture.

    ``lognormal`` may carry an age slope (CSF protein rises with age, [Breiner 2019]).
    """

    def __init__(self, name: str, grid: ReducedGrid, kind: str) -> None:
        self.name = name
        self.log_scale = kind != "truncnorm"
        get = lambda key, default=None: _param_or(grid, name, key, default)  # noqa: E731
        self.lo, self.hi = get("lo").astype(float), get("hi").astype(float)
        self.half = 0.5 * 10.0 ** -get("decimals", 0).astype(float)
        self.decimals = int(get("decimals", 0)[0])
        self.shift = get("shift", 0.0).astype(float)
        self.slope = get("age_slope_per_decade", 0.0).astype(float)
        if kind == "lognormal_mixture":
            pos, neg = grid.param(name, "positive"), grid.param(name, "negative")
            self.weights = np.stack([get("p_positive").astype(float), 1 - get("p_positive").astype(float)], axis=1)
            self.mu = np.log(np.stack([[c["median"] for c in pos], [c["median"] for c in neg]], axis=1))
            self.sigma = np.stack([[c["sigma"] for c in pos], [c["sigma"] for c in neg]], axis=1).astype(float)
        elif kind == "truncnorm":
            self.weights = np.ones((len(grid), 1))
            self.mu, self.sigma = get("mean").astype(float)[:, None], get("sd").astype(float)[:, None]
        else:
            self.weights = np.ones((len(grid), 1))
            self.mu = np.log(get("median").astype(float))[:, None]
            self.sigma = get("sigma").astype(float)[:, None]
        self.set_broad()

    def set_broad(self) -> None:
        """The atypical component: (log-)uniform over the contract's range for this field."""
        low, high = fields()[self.name].range or (0.0, 1.0)
        shift = float(self.shift[0])
        if self.log_scale:
            low = max(low, 10.0 ** -max(self.decimals, 1))
            self.broad = (np.log(low + shift), np.log(high + shift))
        else:
            self.broad = (low, high)
        self.range = (fields()[self.name].range or (0.0, 1.0))

    def _broad_mass(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Probability of the bin [a, b] under the atypical component."""
        lo, hi = self.broad
        if self.log_scale:
            shift = float(self.shift[0])
            with np.errstate(divide="ignore"):
                a, b = np.log(np.maximum(a + shift, 0.0)), np.log(np.maximum(b + shift, 0.0))
        a, b = np.clip(a, lo, hi), np.clip(b, lo, hi)
        return (b - a) / (hi - lo)

    def _z(self, x: np.ndarray, mu: np.ndarray, sigma: np.ndarray, shift: np.ndarray) -> np.ndarray:
        if self.log_scale:
            with np.errstate(divide="ignore"):
                x = np.log(np.maximum(x + shift, 0.0))
        return (x - mu) / sigma

    def _mu(self, age: np.ndarray | None) -> np.ndarray:
        """Location per (patient, state, component): adds the age term where there is one."""
        if age is None:
            return self.mu[None]
        return self.mu[None] + (self.slope[None, :, None] * (age[:, None, None] - 50.0) / 10.0)

    def sample(self, rng: np.random.Generator, r: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray:
        comp = (
            (rng.random(len(r)) > self.weights[r, 0]).astype(int)
            if self.weights.shape[1] == 2
            else np.zeros(len(r), int)
        )
        mu = self._mu(ctx.get("age"))[np.arange(len(r)) if "age" in ctx else 0, r, comp]
        sigma = self.sigma[r, comp]
        shift = self.shift[r]
        f_lo, f_hi = ndtr(self._z(self.lo[r], mu, sigma, shift)), ndtr(self._z(self.hi[r], mu, sigma, shift))
        z = ndtri(f_lo + rng.random(len(r)) * (f_hi - f_lo))
        x = np.exp(mu + sigma * z) - shift if self.log_scale else mu + sigma * z
        x = np.clip(np.round(x, self.decimals), self.lo[r], self.hi[r])
        u = self.broad[0] + rng.random(len(r)) * (self.broad[1] - self.broad[0])
        atypical = np.clip(np.round(np.exp(u) - shift if self.log_scale else u, self.decimals), *self.range)
        return np.where(rng.random(len(r)) < atypical_rate(), atypical, x)

    def log_pmf(self, x: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray:
        x = np.round(np.nan_to_num(x, nan=0.0), self.decimals)[:, None, None]
        mu, sigma = self._mu(ctx.get("age")), self.sigma[None]
        shift = self.shift[None, :, None]
        lo, hi = self.lo[None, :, None], self.hi[None, :, None]
        a, b = np.maximum(x - self.half[None, :, None], lo), np.minimum(x + self.half[None, :, None], hi)
        mass = _interval(self._z(a, mu, sigma, shift), self._z(b, mu, sigma, shift))
        total = _interval(self._z(lo, mu, sigma, shift), self._z(hi, mu, sigma, shift))
        p = (self.weights[None] * np.where(b > a, mass, 0.0) / np.maximum(total, TINY)).sum(axis=2)
        half = self.half[0]
        broad = self._broad_mass(
            np.maximum(x[:, 0, 0] - half, self.range[0]), np.minimum(x[:, 0, 0] + half, self.range[1])
        )
        eps = atypical_rate()
        return np.log(np.maximum((1.0 - eps) * p + eps * broad[:, None], TINY))

    def log_at_least(self, value: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray:
        """(n, R) log P(reported value >= ``value``) for values on the reporting grid: the rounding bins from
        ``value`` up (a word such as "anti-GM1 positive" sums the values above a limit)."""
        v = np.round(value, self.decimals)[:, None, None]
        mu, sigma = self._mu(ctx.get("age") if np.any(self.slope) else None), self.sigma[None]
        shift = self.shift[None, :, None]
        lo, hi = self.lo[None, :, None], self.hi[None, :, None]
        a = np.clip(v - self.half[None, :, None], lo, hi)
        mass = _interval(self._z(a, mu, sigma, shift), self._z(hi, mu, sigma, shift))
        total = _interval(self._z(lo, mu, sigma, shift), self._z(hi, mu, sigma, shift))
        p = (self.weights[None] * np.where(hi > a, mass, 0.0) / np.maximum(total, TINY)).sum(axis=2)
        start = np.clip(v[:, 0, 0] - self.half[0], *self.range)
        broad = self._broad_mass(start, np.full(len(start), self.range[1]))
        eps = atypical_rate()
        return np.log(np.maximum((1.0 - eps) * p + eps * broad[:, None], TINY))

    def p_unremarkable(self, ctx: dict[str, np.ndarray]) -> np.ndarray:
        return np.zeros(len(self.lo))

    def is_unremarkable(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(len(x), dtype=bool)


def _interval(za: np.ndarray, zb: np.ndarray) -> np.ndarray:
    """P(za < Z < zb) for a standard normal, accurate in both tails."""
    return np.where(za > 0, ndtr(-za) - ndtr(-zb), ndtr(zb) - ndtr(za))


def _param_or(grid: ReducedGrid, name: str, key: str, default: Any) -> np.ndarray:
    spec = load_priors()["diseases"]
    present = all(key in spec[d]["fields"][name] for d in spec)
    return grid.param(name, key) if present or default is None else np.full(len(grid), default)


def build(name: str, grid: ReducedGrid, kind: str) -> Distribution:
    if kind == "bernoulli_given":
        return ConditionalBernoulli(name, grid)
    if kind == "binomial":
        return Binomial(name, grid)
    if kind in ("truncnorm", "lognormal", "lognormal_mixture"):
        return RoundedContinuous(name, grid, kind)
    return Categorical(name, grid, kind)


class ConditionalBernoulli:
    """A yes/no finding whose rate depends on another finding's value (``given``): e.g. pathological UMN
    signs are far likelier where the reflexes are brisk. ``p_when`` applies when ``given`` takes one of
    ``when``, ``p_else`` otherwise; the posterior sums over ``given`` when it was not written down."""

    def __init__(self, name: str, grid: ReducedGrid) -> None:
        self.name = name
        self.given = str(grid.param(name, "given")[0])
        spec = fields()[self.given]
        when = grid.raw(name, 0)["when"]
        self.when_codes = np.array([(spec.values or ()).index(v) for v in when], dtype=float)
        eps = atypical_rate()
        self.p = np.stack([grid.param(name, "p_else").astype(float), grid.param(name, "p_when").astype(float)])
        self.p = (1.0 - eps) * self.p + eps * 0.5  # (2, R): P(true | given outside / inside ``when``)

    def _rate(self, ctx: dict[str, np.ndarray]) -> np.ndarray:
        """(n, R) or (1, R): P(true) for each row's value of ``given``."""
        inside = np.isin(ctx[self.given], self.when_codes).astype(int)
        if len(inside) and (inside == inside[0]).all():
            return self.p[inside[0]][None, :]
        return self.p[inside]

    def sample(self, rng: np.random.Generator, r: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray:
        inside = np.isin(ctx[self.given], self.when_codes).astype(int)
        return (rng.random(len(r)) < self.p[inside, r]).astype(float)

    def log_pmf(self, x: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray:
        rate = self._rate(ctx)
        return np.log(np.maximum(np.where(x[:, None] == 1, rate, 1.0 - rate), TINY))

    def p_unremarkable(self, ctx: dict[str, np.ndarray]) -> np.ndarray:
        return 1.0 - self._rate(ctx)

    def is_unremarkable(self, x: np.ndarray) -> np.ndarray:
        return x == 0
