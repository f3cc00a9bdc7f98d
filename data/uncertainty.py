"""The world's own uncertainty: how far the literature lets each generator parameter move.

Why: most parameters of ``priors.yaml`` are published proportions with wide intervals or marked
estimates, so the literature world is one guess among many plausible ones; a model trained on that one
world is over-sure of it (issue #13). Each parameter block carries an effective sample size ``kappa``
(its own ``concentration:`` key where stated, e.g. the n of the cited study, else the default for its
source kind in ``priors.yaml``'s ``uncertainty`` block: a cited figure or an estimate). A redraw replaces

* a probability vector ``p`` (category probabilities, mixture weights) by ``Dirichlet(kappa * p)``;
* a probability ``p`` by ``Beta(kappa p, kappa (1 - p))`` (0 and 1 stay: they are structural);
* a location or scale parameter ``x`` by ``x * exp(N(0, spread))``, ``spread`` per source kind;

with draws kept at least ``floor`` from 0 and 1. The same strengths are the Beta/Dirichlet prior
strengths of a world fitted to a real cohort (issue #14). Which key plays which role is stated in the
``uncertainty`` block itself, so a new parameter key without a stated role is an error, not a silent
constant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import stats

from mmn_ddx.data.latents import STAGE_KEYS, resolve

SOURCE_KINDS = ("cited", "estimate")
ROLES = ("dirichlet", "beta", "relative")


@dataclass(frozen=True)
class Uncertainty:
    """One parameter's stated uncertainty: ``strength`` is kappa (dirichlet, beta) or the log-scale sd."""

    path: str
    role: str
    source_kind: str
    strength: float
    value: Any


@dataclass(frozen=True)
class _Context:
    path: str
    source_kind: str = "estimate"
    concentration: float | None = None
    role: str | None = None


def source_kind(source: str) -> str:
    """'cited' when the source names a reference key in square brackets and is not marked an estimate."""
    text = source.strip().lower()
    return "cited" if "[" in text and not text.startswith("estimate") else "estimate"


class _Walker:
    """One pass over the parameter tree; ``act(uncertainty)`` returns the (possibly redrawn) value.

    Shared nodes (YAML anchors such as the MRC grade tables) are visited once, so they stay shared.
    """

    def __init__(self, rules: Mapping[str, Any], act: Callable[[Uncertainty], Any]) -> None:
        self.rules = rules
        self.roles = {key: role for role in ROLES for key in rules[role]}
        self.across: dict[str, str] = dict(rules["dirichlet_across"])
        self.columns = set(rules.get("dirichlet_columns", ()))
        self.fixed = set(rules["fixed"])
        self.act = act
        self.memo: dict[int, Any] = {}

    def walk(self, node: Any, ctx: _Context) -> Any:
        if isinstance(node, (dict, list)) and id(node) in self.memo:
            return self.memo[id(node)]
        out = self._walk(node, ctx)
        if isinstance(node, (dict, list)):
            self.memo[id(node)] = out
        return out

    def _walk(self, node: Any, ctx: _Context) -> Any:
        if isinstance(node, (bool, str)) or node is None:
            return node
        if ctx.role == "dirichlet" and _is_vector(node):
            return self.act(self._uncertainty(ctx, node))
        if isinstance(node, (int, float)):
            if ctx.role in ("beta", "relative"):
                return self.act(self._uncertainty(ctx, node))
            raise ValueError(f"{ctx.path}: parameter without a stated uncertainty: give its key a role "
                             f"({', '.join(ROLES)}) or list it as fixed in priors.yaml's `uncertainty` block")
        if isinstance(node, list):
            return [self.walk(v, replace(ctx, path=f"{ctx.path}[{i}]")) for i, v in enumerate(node)]
        return self._walk_mapping(node, ctx)

    def _walk_mapping(self, node: dict[Any, Any], ctx: _Context) -> dict[Any, Any]:
        if isinstance(node.get("source"), str):
            ctx = replace(ctx, source_kind=source_kind(node["source"]))
        if "concentration" in node:
            ctx = replace(ctx, concentration=float(node["concentration"]))
        out: dict[Any, Any] = {}
        for key, value in node.items():
            name = str(key)
            if name == "source" or name.endswith("_source") or name == "concentration" or name in self.fixed:
                out[key] = value
                continue
            child = replace(ctx, path=f"{ctx.path}.{name}" if ctx.path else name)
            sibling = next((s for k, s in node.items() if str(k).endswith("_source") and isinstance(s, str)
                            and name.startswith(str(k)[: -len("_source")])), None)
            if sibling is not None:
                child = replace(child, source_kind=source_kind(sibling))
            if ctx.role is None and name in self.roles:
                child = replace(child, role=self.roles[name])
            if ctx.role is None and name in self.across:
                out[key] = self._across(value, child, self.across[name])
            elif ctx.role is None and name in self.columns:
                out[key] = self._columns(value, child)
            else:
                out[key] = self.walk(value, child)
        return out

    def _across(self, members: dict[str, Any], ctx: _Context, weight: str) -> dict[str, Any]:
        """A Dirichlet over one key of sibling mappings (the phenotype weights within a diagnosis)."""
        vector = {name: member[weight] for name, member in members.items()}
        drawn = self.act(self._uncertainty(replace(ctx, path=f"{ctx.path}.*.{weight}", role="dirichlet"), vector))
        out = {}
        for name, member in members.items():
            rest = self.walk({k: v for k, v in member.items() if k != weight}, replace(ctx, path=f"{ctx.path}.{name}"))
            out[name] = {k: (drawn[name] if k == weight else rest[k]) for k in member}
        return out

    def _columns(self, lists: dict[str, list[float]], ctx: _Context) -> dict[str, list[float]]:
        """A Dirichlet per position across sibling lists (the writing style per document: numbers / words /
        both sum to 1 at each document index)."""
        width = {len(values) for values in lists.values()}
        if len(width) != 1:
            raise ValueError(f"{ctx.path}: the lists of a per-position Dirichlet must have one length, got {lists}")
        out: dict[str, list[float]] = {name: [] for name in lists}
        for j in range(width.pop()):
            column = {name: values[j] for name, values in lists.items()}
            drawn = self.act(self._uncertainty(replace(ctx, path=f"{ctx.path}[{j}]", role="dirichlet"), column))
            for name in lists:
                out[name].append(drawn[name])
        return out

    def _uncertainty(self, ctx: _Context, value: Any) -> Uncertainty:
        assert ctx.role is not None
        if ctx.role == "relative":
            strength = float(self.rules["relative_spread"][ctx.source_kind])
        else:
            strength = ctx.concentration or float(self.rules["concentration"][ctx.source_kind])
        return Uncertainty(ctx.path, ctx.role, ctx.source_kind, strength, value)


def _is_vector(node: Any) -> bool:
    values = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
    return values is not None and len(values) > 0 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def uncertainties(parameters: Mapping[str, Any]) -> list[Uncertainty]:
    """Every parameter's stated uncertainty (raises for a numeric parameter without one)."""
    found: list[Uncertainty] = []

    def record(u: Uncertainty) -> Any:
        found.append(u)
        return u.value

    _Walker(parameters["uncertainty"], record).walk(dict(parameters), _Context(""))
    return found


def check_parameters(parameters: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first parameter outside its domain (a world file written by hand)."""
    for u in uncertainties(parameters):
        values = np.array(list(u.value.values()) if isinstance(u.value, dict) else u.value, dtype=float).ravel()
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{u.path}: not a finite number ({u.value!r})")
        if u.role == "beta" and not np.all((values >= 0) & (values <= 1)):
            raise ValueError(f"{u.path}: a probability must lie in [0, 1], got {u.value!r}")
        if u.role == "dirichlet" and (np.any(values < 0) or abs(values.sum() - 1.0) > 1e-3):
            raise ValueError(f"{u.path}: probabilities must be non-negative and sum to 1, got {u.value!r}")


def redraw(parameters: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """A new parameter tree, every parameter drawn within its uncertainty (structure and fixed keys kept, but
    nested nerve counts, which are written per phenotype and stage: :func:`_nest_drawn_counts`)."""
    rules = parameters["uncertainty"]
    floor = float(rules["floor"])
    strengths: dict[str, float] = {}  # each probability's kappa, as the walk meets it (the nested counts need it)

    def draw(u: Uncertainty) -> Any:
        if u.role == "relative":
            return float(u.value * np.exp(rng.normal(0.0, u.strength)))
        if u.role == "beta":
            strengths[u.path] = u.strength
            p = float(u.value)
            if p <= 0.0 or p >= 1.0:
                return u.value
            return float(np.clip(rng.beta(u.strength * p, u.strength * (1.0 - p)), floor, 1.0 - floor))
        keys = list(u.value) if isinstance(u.value, dict) else list(range(len(u.value)))
        nominal = np.array([float(u.value[k]) for k in keys])
        nominal = nominal / nominal.sum()
        positive = nominal > 0
        g = np.zeros_like(nominal)
        g[positive] = rng.gamma(u.strength * nominal[positive])
        q = np.where(positive, np.maximum(g / max(g.sum(), np.finfo(float).tiny), floor), 0.0)
        q = q / q.sum()
        if isinstance(u.value, dict):
            return {k: float(v) for k, v in zip(keys, q, strict=True)}
        return [float(v) for v in q]

    out = _Walker(rules, draw).walk(dict(parameters), _Context(""))
    _nest_drawn_counts(out, parameters, strengths, rng)
    return out


def nested_counts(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(count, parent) of every nerve count drawn among another count (``n_from`` a binomial) in one diagnosis's
    ``fields``."""
    return [(name, field["n_from"]) for name, field in spec.items()
            if field.get("kind") == "binomial" and spec.get(field.get("n_from"), {}).get("kind") == "binomial"]


def _nest_drawn_counts(drawn: dict[str, Any], nominal: Mapping[str, Any], strength: Mapping[str, float],
                       rng: np.random.Generator) -> None:
    """A count drawn among another count (``n_from`` a count) is redrawn as a share of its parent, in place.

    ``cohort_model._nest_counts`` needs the child's per-nerve rate at most its parent's in every latent state.
    Drawn independently the two cross, and capping the child at the parent took a rare finding's rate away
    on average (capped at the parent's smallest draw, MND's block rate in the phenotype that carries blocks
    fell from 0.30 to ~0.005): randomised worlds were not centred on the literature. Here the child's share
    of its parent, q0 = p / p_parent in each (phenotype, stage), is drawn as Beta(kappa q0, kappa (1 - q0))
    with the child's kappa, and the child's rate is q * p_parent(drawn): never above the parent, and on
    average the literature's rate (the two draws are independent). One uniform quantile per literature
    value keeps the states that share a value moving together. A drawn world therefore writes the child's
    rate per phenotype and stage. ``strength``: each probability's kappa by path (the redraw's walk)."""
    for name, disease in drawn["diseases"].items():
        spec, literature = disease["fields"], nominal["diseases"][name]["fields"]
        states = [(phenotype, stage) for phenotype in disease["phenotypes"] for stage in STAGE_KEYS]
        for field_name, parent in nested_counts(literature):
            field = spec[field_name]
            leaves = _leaf_paths(literature[field_name]["p"], ("diseases", name, "fields", field_name, "p"))
            quantile: dict[tuple[str, ...], float] = {}
            u, share, kappa, parent_drawn = [], [], [], []
            for phenotype, stage in states:
                leaf = resolve(leaves, phenotype, stage)
                u.append(quantile.setdefault(leaf, float(rng.uniform())))
                parent_nominal = float(resolve(literature[parent]["p"], phenotype, stage))
                child_nominal = float(resolve(literature[field_name]["p"], phenotype, stage))
                share.append(child_nominal / parent_nominal if parent_nominal > 0 else 0.0)
                kappa.append(strength[".".join(leaf)])
                parent_drawn.append(float(resolve(spec[parent]["p"], phenotype, stage)))
            q, k = np.array(share), np.array(kappa)
            inside = (q > 0) & (q < 1)  # a share of 0 or 1 is structural: it stays
            q[inside] = stats.beta.ppf(np.array(u)[inside], k[inside] * q[inside], k[inside] * (1 - q[inside]))
            rate: dict[str, dict[str, float]] = {}
            for (phenotype, stage), value in zip(states, q * np.array(parent_drawn), strict=True):
                rate.setdefault(phenotype, {})[stage] = float(value)
            field["p"] = rate


def _leaf_paths(value: Any, path: tuple[str, ...]) -> Any:
    """The tree with each leaf replaced by its key path (so ``resolve`` tells which value a state uses)."""
    if isinstance(value, dict):
        return {k: _leaf_paths(v, (*path, str(k))) for k, v in value.items()}
    return path
