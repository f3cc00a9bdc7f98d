"""The findings' Bernoulli and categorical rates as Beta/Dirichlet vectors, and their exact expected counts.

A field's value is one draw per record from its row of the state's table, ``(1 - eps) theta + eps broad``
(``distributions.Categorical``: eps the atypical rate, ``theta`` the rates ``priors.yaml`` resolves for the
state's diagnosis/phenotype/stage). The record's likelihood is therefore linear in that row:
``L = sum_c table_c A_c``, where ``A_c`` is the likelihood with the value forced to ``c``. So the posterior
probability that the value was a typical draw of category ``c`` is ``(1 - eps) theta_c A_c / L``: exact,
whatever the reporting model does with a null ("section omitted", "not done", "not written down", the
self-masking of unremarkable values), because ``A_c`` is the same likelihood code with a one-hot table.
Only the field's own section changes with the forcing, so only that section is recomputed, and only for
the records where the field is null (a recorded value is the value; a word written for several values, atrophy
'present', is summed over like a null). In a :data:`FACTORED_SECTIONS` section only the field's own factor is.

Which rates: the ``p`` of ``bernoulli`` fields and the ``probs`` of ``categorical`` fields outside
:data:`COSTLY_SECTIONS`, as ``latents.resolve`` finds them (a key shared by several states is one vector).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from mmn_ddx.data import qualitative as qw
from mmn_ddx.data._field_likelihood import context, field_term, nothing_written, rows_of
from mmn_ddx.data._latent_weights import resolved_slot
from mmn_ddx.data.cohort_model import DURATION, CohortModel, Section
from mmn_ddx.data.contract import DIAGNOSES, fields
from mmn_ddx.data.distributions import TINY, Categorical
from mmn_ddx.data.exact_posterior import log_section_likelihoods
from mmn_ddx.data.latents import STAGE_KEYS, FullGrid, ReducedGrid, atypical_rate, parameters_in_use
from mmn_ddx.data.uncertainty import uncertainties

FITTED_KINDS = {"bernoulli": "p", "categorical": "probs"}
COSTLY_SECTIONS = ("nerve_conduction",)
"""Sections whose fields' rates are not fitted: their exact counts need the section (the nerve-count trees)
recomputed once per category and iteration, seconds per value for 500 records. (Recomputed so, the strength
section took the 500-record fit from ~29 s to ~62 s; as a :data:`FACTORED_SECTIONS` section it costs ~1 s.) The
section's binomial nerve-count rates are fitted apart, from the records that write a count and its nerves at
risk (``_count_rates``)."""
FACTORED_SECTIONS = ("strength",)
"""Sections whose fitted fields (muscle atrophy, fasciculations, weak nerve territories) are each one factor of
the section's likelihood: the test is always done, no writing style silences them and no word copies them. So
``A_c`` needs only the field's own term, not the section (the MRC grades) again (:func:`_factored_shares`)."""
Parts = tuple[np.ndarray, np.ndarray | None]
"""A log-likelihood as its (n, R) reduced-grid part and its (n, G) full-grid part (None if none)."""
_FIT_KEY = "world-fit"
"""Cache key while the fit builds its tables (nothing is cached under it: the tables are rebuilt each step)."""


@dataclass
class FindingVector:
    """One fitted rate vector of one field: a Bernoulli ``p`` (categories False/True) or a ``probs`` mapping."""

    path: str
    field: str
    categories: list[str]
    keys: list[Any]             # the mapping's keys (``probs``), or [] for a Bernoulli p
    codes: np.ndarray           # the table column (value code) of each category
    container: Any
    key: Any
    states: np.ndarray          # (R,) bool: the reduced states that use this vector
    kappa: float = 0.0
    group: str = "finding rates"

    def values(self) -> np.ndarray:
        node = self.container[self.key]
        if not self.keys:
            return np.array([1.0 - float(node), float(node)])
        return np.array([float(node[k]) for k in self.keys])

    def write(self, theta: np.ndarray) -> None:
        """Set the rates in the (copied) parameter tree, in place."""
        if not self.keys:
            self.container[self.key] = float(theta[1])
            return
        node = self.container[self.key]
        for k, value in zip(self.keys, theta, strict=True):
            node[k] = float(value)


def finding_vectors(parameters: dict[str, Any], reduced: ReducedGrid, model: CohortModel) -> list[FindingVector]:
    """Every free rate vector (two or more non-zero categories) of the fitted fields of ``parameters``."""
    names = [f for s in model.sections if s.name not in COSTLY_SECTIONS for f in s.fields
             if isinstance(model.dists.get(f), Categorical)]
    found: dict[tuple[int, Any], FindingVector] = {}
    for r in range(len(reduced)):
        d = DIAGNOSES[reduced.diagnosis[r]]
        phenotype, stage = str(reduced.phenotype[r]), STAGE_KEYS[reduced.stage[r]]
        for name in names:
            spec = parameters["diseases"][d]["fields"][name]
            key = FITTED_KINDS.get(spec["kind"])
            if key is None:
                continue
            (container, slot), path = resolved_slot(spec, key, f"diseases.{d}.fields.{name}.{key}", phenotype, stage)
            identity = (id(container), slot)
            if identity not in found:
                found[identity] = _vector(name, path, container, slot, len(reduced))
            found[identity].states[r] = True
    vectors = [v for v in found.values() if (v.values() > 0).sum() >= 2]
    _set_strengths(vectors, parameters)
    return vectors


def _vector(name: str, path: str, container: Any, key: Any, states: int) -> FindingVector:
    node = container[key]
    if not isinstance(node, dict):
        return FindingVector(path, name, ["False", "True"], [], np.array([0, 1]), container, key,
                             np.zeros(states, bool))
    spec = fields()[name]
    codes = [(spec.values or ()).index(k) if spec.type == "category" else int(k) for k in node]
    return FindingVector(path, name, [str(k) for k in node], list(node), np.array(codes), container, key,
                         np.zeros(states, bool))


def _set_strengths(vectors: list[FindingVector], parameters: dict[str, Any]) -> None:
    """kappa from the stated uncertainty (``data/uncertainty.py``): a ``probs`` mapping by its identity, a
    Bernoulli ``p`` by its path."""
    found = uncertainties(parameters)
    by_node = {id(u.value): u.strength for u in found if u.role == "dirichlet" and isinstance(u.value, dict)}
    by_path = {u.path: u.strength for u in found if u.role == "beta"}
    for vector in vectors:
        strength = by_node.get(id(vector.container[vector.key])) if vector.keys else by_path.get(vector.path)
        if strength is None:
            raise ValueError(f"{vector.path}: no stated uncertainty found for this finding rate")
        vector.kappa = float(strength)


def sections_of(fitted: set[str], model: CohortModel) -> list[tuple[str, ...]]:
    """The fields of each section holding a fitted field (what each refresh recomputes); a fitted symptom
    duration moves the section of 'CSF protein raised' too (an open age band is summed with its distribution)."""
    moved = fitted | ({qw.CSF_WORD} if DURATION in fitted else set())
    return [s.fields for s in model.sections if moved & set(s.fields)]


def current_model(model: CohortModel, parameters: dict[str, Any], vectors: list[FindingVector]) -> CohortModel:
    """``model`` with the fitted fields' tables rebuilt from the current rates in ``parameters``."""
    with parameters_in_use(_FIT_KEY, parameters):
        dists = {name: Categorical(name, model.reduced, "") for name in {v.field for v in vectors}}
    return model.with_distributions(dists)  # type: ignore[arg-type]


def on_full_grid(parts: Parts, full: FullGrid) -> np.ndarray:
    """(n, G) log-likelihood from its reduced-grid and full-grid parts."""
    reduced, on_full = parts
    expanded = reduced[:, full.reduced_index]
    return expanded if on_full is None else expanded + on_full


def posterior_rates(vectors: list[FindingVector], model: CohortModel, codes: dict[str, np.ndarray],
                    terms: dict[tuple[str, ...], Parts], responsibility: np.ndarray,
                    full: FullGrid) -> Iterator[tuple[FindingVector, np.ndarray]]:
    """Each vector with its (n, K) per-record posterior probability that the record's value was a typical
    draw of each category from this vector (the expected complete-data counts, record by record). A null,
    and a written value that is none of the categories (muscle atrophy 'present': mild or marked, written
    without its grade), are shared among the categories by the forced likelihoods ``A_c``.

    ``terms``: each fitted section's log-likelihood parts under ``model``; ``responsibility``: (n, G)
    posterior over the full latent states. Sections on the reduced grid are worked on the reduced grid.
    """
    eps = atypical_rate()
    section_of = {f: section for section in terms for f in section}
    to_reduced = reduction(full, len(model.reduced))
    on_reduced = _summed(responsibility, to_reduced)                                # (n, R)
    for name in sorted({v.field for v in vectors}):
        mine = [v for v in vectors if v.field == name]
        dist = model.dists[name]
        assert isinstance(dist, Categorical)
        value = codes[name]
        values = {int(c) for v in mine for c in v.codes}
        uses = np.stack([v.states for v in mine], axis=1).astype(float)             # (R, V)
        share = on_reduced @ uses                                                   # (n, V) P(state uses v | record)
        # a null, or a word several values write ('present' atrophy), of a record whose states use a vector
        null = ~np.isin(value, list(values)) & (share.sum(axis=1) > 0)
        forced = _forced_shares(model, name, values, codes, null, terms[section_of[name]], responsibility,
                                on_reduced, to_reduced) if null.any() else {}
        for j, vector in enumerate(mine):
            theta = vector.values()
            table = dist.table[np.flatnonzero(vector.states)[0], vector.codes]
            out = np.zeros((len(value), len(theta)))
            for k, code in enumerate(vector.codes):
                typical = (1.0 - eps) * theta[k]
                out[~null, k] = np.where(value[~null] == code, share[~null, j] * typical / table[k], 0.0)
                if null.any():
                    out[null, k] = typical * (forced[int(code)] @ uses)[:, j]
            yield vector, out


def _forced_shares(model: CohortModel, name: str, values: set[int], codes: dict[str, np.ndarray], rows: np.ndarray,
                   term: Parts, responsibility: np.ndarray, on_reduced: np.ndarray,
                   to_reduced: sparse.csr_array) -> dict[int, np.ndarray]:
    """For each value code c: (rows, R) sum over the full states of each reduced state of resp A_c / L, the
    section recomputed with the field forced to c (only the field's factor in a :data:`FACTORED_SECTIONS`
    section), for the given rows (those where the field is null or a word of several values)."""
    sub = rows_of(codes, rows)
    section = next(s for s in model.sections if name in s.fields)
    base = (term[0][rows], None if term[1] is None else term[1][rows])
    table = model.dists[name].table  # type: ignore[attr-defined]
    spared = int(np.argmax(table.min(axis=0))) if values >= set(range(table.shape[1])) else None
    forced = sorted(values - {spared})
    if section.name in FACTORED_SECTIONS:
        ratios = _factored_shares(model, name, forced, sub, section, on_full_grid(base, model.full))
    else:
        ratios = _recomputed_shares(model, name, forced, sub, section, base)
    out = {}
    for code, ratio in ratios.items():
        if ratio.shape[1] == len(model.reduced):  # the whole section on the reduced grid
            out[code] = np.where(on_reduced[rows] > 0, on_reduced[rows] * ratio, 0.0)
            continue
        weighted = np.where(responsibility[rows] > 0, responsibility[rows] * ratio, 0.0)
        out[code] = _summed(weighted, to_reduced)
    if spared is not None:  # sum_c table_c A_c = L: the last value's share is what the others leave
        rest = sum(table[None, :, c] * out[c] for c in out)
        out[spared] = np.maximum(on_reduced[rows] - rest, 0.0) / table[None, :, spared]
    return out


def _recomputed_shares(model: CohortModel, name: str, values: list[int], codes: dict[str, np.ndarray],
                       section: Section, base: Parts) -> dict[int, np.ndarray]:
    """For each value code c: ``A_c / L`` with the section recomputed with the field forced to c, on the
    reduced grid (rows, R) where the whole section lives there, else on the full grid (rows, G)."""
    out = {}
    for code in values:
        forced = log_section_likelihoods(_forced(model, name, code), codes, section.fields)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if forced[1] is None and base[1] is None:
                out[code] = np.nan_to_num(np.exp(forced[0] - base[0]))
            else:
                out[code] = np.nan_to_num(np.exp(on_full_grid(forced, model.full) - on_full_grid(base, model.full)))
    return out


def factored_term(model: CohortModel, start: CohortModel, codes: dict[str, np.ndarray], section: tuple[str, ...],
                  term: Parts, moved: set[str]) -> Parts:
    """A :data:`FACTORED_SECTIONS` section's log-likelihood under ``model`` from its ``term`` under ``start``, the
    two differing only in the tables of the ``moved`` fields: each of them is one factor of the section's
    likelihood wherever something in the section is written (the section was reported), so their log factors
    are swapped; the rows with nothing written, where the section may have been omitted, are recomputed (they
    share one record, so this is cheap). Exact, and it spares the MRC grades' sums at every refresh."""
    ctx = context(codes)
    reduced = term[0] + sum((field_term(model, f, codes[f], ctx) - field_term(start, f, codes[f], ctx)
                             for f in sorted(moved)), np.zeros_like(term[0]))
    full = None if term[1] is None else term[1].copy()
    unseen = nothing_written(codes, section)
    if unseen.any():
        again = log_section_likelihoods(model, rows_of(codes, unseen), section)
        reduced[unseen] = again[0]
        if full is not None:
            full[unseen] = 0.0 if again[1] is None else again[1]
        elif again[1] is not None:  # pragma: no cover - a section is on the full grid for every row or none
            raise ValueError(f"{section}: on the full grid for some rows only")
    return reduced, full


def _factored_shares(model: CohortModel, name: str, values: list[int], codes: dict[str, np.ndarray], section: Section,
                     log_lik: np.ndarray) -> dict[int, np.ndarray]:
    """For each value code c: (rows, G) ``A_c / L`` of a field that is one factor ``T`` of its section.

    The section's likelihood is ``L = P(reported) T X + P(not reported)`` (the last only for a record with
    nothing written in the section), ``X`` the rest of the section summed over its writing styles, so with
    the field forced to c: ``A_c / L = r + q (1 - r)``, where ``r = T_c / T`` and ``q`` the record's
    posterior probability that the section was not reported, given the state. ``log_lik``: (rows, G) log L.
    """
    ctx = context(codes)
    index = model.full.reduced_index
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_t = field_term(model, name, codes[name], ctx)
        q = np.zeros_like(log_lik)
        if not section.always_reported:
            unseen = nothing_written(codes, section.fields)
            q[unseen] = np.exp(section.log_not_report[index][None, :] - log_lik[unseen])
        out = {}
        for code in values:
            r = np.nan_to_num(np.exp(field_term(_forced(model, name, code), name, codes[name], ctx) - log_t))[:, index]
            out[code] = np.clip(r + q * (1.0 - r), 0.0, None)
    return out


def reduction(full: FullGrid, n_reduced: int) -> sparse.csr_array:
    """(G, R) 0/1 matrix: the reduced state of each full state."""
    g = len(full.reduced_index)
    return sparse.csr_array((np.ones(g), (np.arange(g), full.reduced_index)), shape=(g, n_reduced))


def on_reduced_grid(values: np.ndarray, full: FullGrid, n_reduced: int) -> np.ndarray:
    """(n, G) -> (n, R): e.g. each record's posterior over the full states, summed per reduced state."""
    return _summed(values, reduction(full, n_reduced))


def _summed(values: np.ndarray, to_reduced: sparse.csr_array) -> np.ndarray:
    """(n, G) -> (n, R): the sum over the full states of each reduced state."""
    return np.asarray(to_reduced.T @ values.T).T


def _forced(model: CohortModel, name: str, code: int) -> CohortModel:
    """``model`` with the field's value forced to ``code`` in every state (the ``A_c`` of the module doc)."""
    dist = copy.copy(model.dists[name])
    assert isinstance(dist, Categorical)
    dist.table = np.zeros_like(dist.table)
    dist.table[:, code] = 1.0
    dist.log_table = np.log(np.maximum(dist.table, TINY))
    return model.with_distributions({name: dist})
