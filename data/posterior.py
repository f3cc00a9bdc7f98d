"""Exact p(diagnosis | recorded findings) under the generator: the Bayes-optimal ceiling.

The latent states are few (diagnosis x phenotype x stage x completeness x onset x side, a few hundred),
so the posterior is an exact sum over them. For each state the likelihood of a record is a product
over test blocks: a block that was not done leaves all its fields null; within a done block every
field is either recorded with its value (probability of writing it down x probability of the value)
or left null (marginalised over its value, including the self-masking of unremarkable values). Nerve
counts are binomials over the nerves studied, summed over that number when it was not written down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from mmn_ddx.data.cohort_model import ALWAYS_RECORDED, MRC_FIELDS, ONSET, CohortModel, cohort_model, encode
from mmn_ddx.data.contract import DIAGNOSES, fields
from mmn_ddx.data.distributions import TINY, Binomial
from mmn_ddx.data.latents import atypical_rate, normalise_class_priors

CHUNK = 2048
_LOG_TINY = float(np.log(TINY))


def posterior(records: pd.DataFrame, class_priors: Mapping[str, float] | None = None,
              exclude: Iterable[str] = ()) -> np.ndarray:
    """p(diagnosis | recorded fields), shape (n, 4) in ``DIAGNOSES`` order.

    ``records``: a canonical cohort frame (missing optional columns count as null).
    ``class_priors``: the population the posterior is for (default balanced, like the generator).
    ``exclude``: fields to ignore entirely, e.g. the treatment responses for "at presentation" use;
    an excluded field is marginalised out (as if the record never had that column).
    """
    model = cohort_model()
    excluded = set(exclude)
    unknown = excluded - set(fields())
    if unknown:
        raise ValueError(f"cannot exclude unknown fields: {sorted(unknown)}")
    if "age_at_onset_years" in excluded and "csf_protein_g_per_l" not in excluded:
        raise ValueError("csf_protein_g_per_l depends on age: exclude both or neither")
    codes = encode(records)
    n = len(records)
    for name in fields():
        if name not in codes or name in excluded:
            codes[name] = np.full(n, np.nan)
    log_prior = np.log(np.maximum(normalise_class_priors(class_priors), TINY))
    out = np.empty((n, len(DIAGNOSES)))
    for start in range(0, n, CHUNK):
        chunk = {k: v[start : start + CHUNK] for k, v in codes.items()}
        out[start : start + CHUNK] = _posterior_chunk(model, chunk, log_prior, excluded)
    return out


def _posterior_chunk(model: CohortModel, x: dict[str, np.ndarray], log_prior: np.ndarray,
                     excluded: set[str]) -> np.ndarray:
    ctx = {"age": x["age_at_onset_years"]}
    reduced = model.reduced.log_weight[None, :] + log_prior[model.reduced.diagnosis][None, :]
    for name in ALWAYS_RECORDED:
        if name not in excluded:
            reduced = reduced + model.dists[name].log_pmf(x[name], ctx)
    for block in model.blocks:
        names = [f for f in block.fields if f not in excluded]
        if names:
            reduced = reduced + _block_log_lik(model, block.log_done, block.log_not_done, names, x, ctx)
    full = reduced[:, model.full.reduced_index] + model.full.log_weight[None, :]
    full = full + _regional_log_lik(model, x, excluded)
    per_diagnosis = np.stack(
        [logsumexp(full[:, model.reduced.diagnosis[model.full.reduced_index] == d], axis=1) for d in range(len(DIAGNOSES))],
        axis=1,
    )
    return np.exp(per_diagnosis - logsumexp(per_diagnosis, axis=1, keepdims=True))


def _field_term(model: CohortModel, name: str, x: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray:
    """(n, R) log P(this field's recorded value, or its absence | block done, latent)."""
    dist = model.dists[name]
    rho = model.record_probability(name)[None, :]
    kappa = model.unremarkable_factor[None, :]
    observed = ~np.isnan(x)
    q = dist.p_unremarkable(ctx)
    log_missing = np.log(np.maximum(1.0 - rho * ((1.0 - q) + kappa * q), TINY))
    out = np.array(np.broadcast_to(log_missing, (len(x), len(model.reduced))))
    if observed.any():
        seen_ctx = {k: v[observed] for k, v in ctx.items()}
        unremarkable = dist.is_unremarkable(x[observed])[:, None]
        out[observed] = np.log(rho * np.where(unremarkable, kappa, 1.0)) + dist.log_pmf(x[observed], seen_ctx)
    return out


def _count_group(model: CohortModel, studied: str, counts: list[str], x: dict[str, np.ndarray],
                 ctx: dict[str, np.ndarray], studied_included: bool = True) -> np.ndarray:
    """Nerves studied plus the counts among them, summed over the number studied when not recorded.

    With ``studied_included=False`` (the field is excluded) its recording is marginalised out too.
    """
    n_obs = x[studied] if studied_included else np.full(len(ctx["age"]), np.nan)
    out = np.empty((len(n_obs), len(model.reduced)))
    seen = ~np.isnan(n_obs)
    if seen.any():  # the number studied is known: no sum needed
        rows = {k: v[seen] for k, v in x.items()}
        sctx = dict({k: v[seen] for k, v in ctx.items()}, **{studied: n_obs[seen]})
        out[seen] = _counts_given_studied(model, studied, counts, rows, sctx, rows[studied])
    if (~seen).any():
        rows = {k: v[~seen] for k, v in x.items()}
        table = model.dists[studied].table  # type: ignore[attr-defined]
        support = np.flatnonzero(table.max(axis=0) > 0)
        missing = np.full(int((~seen).sum()), np.nan)
        terms = []
        for s in support:
            sctx = dict({k: v[~seen] for k, v in ctx.items()}, **{studied: np.full(len(missing), float(s))})
            terms.append(_counts_given_studied(model, studied, counts, rows, sctx, missing, float(s), studied_included))
        out[~seen] = logsumexp(np.stack(terms), axis=0)
    return out


def _counts_given_studied(model: CohortModel, studied: str, counts: list[str], x: dict[str, np.ndarray],
                          ctx: dict[str, np.ndarray], studied_value: np.ndarray, s_value: float | None = None,
                          studied_included: bool = True) -> np.ndarray:
    """log P(studied, counts | s) for one hypothesised (or recorded) number of nerves studied s."""
    if s_value is None:
        term = _field_term(model, studied, studied_value, ctx)
    else:  # not recorded (or excluded): P(s) times P(not written down), identical for every row
        log_p = np.log(np.maximum(model.dists[studied].table[:, int(s_value)], TINY))  # type: ignore[attr-defined]
        if studied_included:
            log_p = log_p + np.log(np.maximum(1.0 - model.record_probability(studied), TINY))
        term = np.broadcast_to(log_p, (len(studied_value), len(model.reduced)))
    for name in counts:
        term = term + _field_term(model, name, x[name], ctx)
    return term


def _block_log_lik(model: CohortModel, log_done: np.ndarray, log_not_done: np.ndarray, names: list[str],
                   x: dict[str, np.ndarray], ctx: dict[str, np.ndarray]) -> np.ndarray:
    """(n, R) log-likelihood of one test block: done (fields recorded or not) or not done at all."""
    n = len(ctx["age"])
    any_observed = np.zeros(n, dtype=bool)
    for name in names:
        any_observed |= ~np.isnan(x[name])
    done = np.broadcast_to(log_done[None, :], (n, len(log_done))).copy()
    grouped: dict[str, list[str]] = {}
    for name in names:
        dist = model.dists.get(name)
        if isinstance(dist, Binomial):
            grouped.setdefault(dist.n_from, []).append(name)
    for studied, counts in grouped.items():
        done += _count_group(model, studied, counts, x, ctx, studied_included=studied in names)
    for name in names:
        if name in MRC_FIELDS or name == ONSET or name in grouped or isinstance(model.dists.get(name), Binomial):
            continue  # regional terms are added on the full grid; counts were added with their group
        done += _field_term(model, name, x[name], ctx)
    not_done = np.where(any_observed[:, None], -np.inf, log_not_done[None, :])
    return np.logaddexp(done, not_done)


def _regional_log_lik(model: CohortModel, x: dict[str, np.ndarray], excluded: set[str]) -> np.ndarray:
    """(n, G) log-likelihood of the MRC grades and onset region on the full grid."""
    r = model.full.reduced_index
    rho_all = model.record_rate[r][None, :]
    kappa = model.unremarkable_factor[r][None, :]
    n = len(x[ONSET])
    out = np.zeros((n, len(model.full)))
    for j, name in enumerate(MRC_FIELDS):
        if name in excluded:
            continue
        grade = x[name]
        table = model.mrc_table[:, j, :]  # (G, 6)
        p5 = table[:, 5][None, :]
        seen_code = np.nan_to_num(grade, nan=0).astype(int)
        log_seen = np.log(np.maximum(table.T[seen_code], TINY)) + np.log(rho_all * np.where((grade == 5)[:, None], kappa, 1.0))
        log_missing = np.log(np.maximum(1.0 - rho_all * ((1.0 - p5) + kappa * p5), TINY))
        out += np.where(np.isnan(grade)[:, None], log_missing, log_seen)
    if ONSET in excluded:
        return out
    onset_codes = np.array([fields()[ONSET].values.index(o) for o in model.full.onset])
    o = x[ONSET]
    eps = atypical_rate()
    n_onsets = len(fields()[ONSET].values or ())
    match = np.log(np.where(o[:, None] == onset_codes[None, :], 1.0 - eps, 0.0) + eps / n_onsets)
    out += np.where(np.isnan(o)[:, None], np.log(np.maximum(1.0 - rho_all, TINY)), np.log(rho_all) + match)
    return out
