"""One recorded field's term of the exact likelihood, given the latent state: the pieces every section's
likelihood (``data/_section_likelihood.py``), the qualitative words' terms (``data/_qualitative_likelihood.py``)
and the world fit's finding rates (``data/_finding_rates.py``) are built from.

Why a module of its own: those three read the same terms, and the section likelihood reads the qualitative
terms; with the field terms below both, no module imports another inside a function to dodge a cycle.
A recorded value costs the probability of writing it down times its probability; a null one is
marginalised over its value, including the self-masking of unremarkable values (``data/exact_posterior.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import numpy as np

from mmn_ddx.data import qualitative as qw
from mmn_ddx.data.cohort_model import MRC_FIELDS, ONSET, WORDS_CACHE, CohortModel
from mmn_ddx.data.distributions import TINY, Categorical
from mmn_ddx.data.workup_age import WORKUP_AGE_FIELDS


def field_term(model: CohortModel, name: str, x: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray:
    """(n, R) log P(this field's recorded value, or its absence | block done, latent)."""
    dist = recorded_atrophy(model) if name == qw.ATROPHY else model.dists[name]
    rho = model.record_probability(name)[None, :]
    kappa = model.unremarkable_record_factor(name)[None, :]
    observed = ~np.isnan(x)
    q = dist.p_unremarkable(ctx)
    log_missing = np.log(np.maximum(1.0 - rho * ((1.0 - q) + kappa * q), TINY))
    out = np.array(np.broadcast_to(log_missing, (len(x), len(model.reduced))))
    if observed.any():
        seen_ctx = rows_of(ctx, observed)
        unremarkable = dist.is_unremarkable(x[observed])[:, None]
        out[observed] = np.log(rho * np.where(unremarkable, kappa, 1.0)) + dist.log_pmf(x[observed], seen_ctx)
    return out


def recorded_atrophy(model: CohortModel) -> Categorical:
    """muscle_atrophy as written: mild/marked become 'present' at the document's ungraded rate."""
    cache_ = model.__dict__.setdefault(WORDS_CACHE, {})
    if qw.ATROPHY not in cache_:
        dist = copy.copy(model.dists[qw.ATROPHY])
        assert isinstance(dist, Categorical)
        u = qw.per_document("ungraded_atrophy", model.reduced)[:, None]
        table = dist.table.copy()
        graded = [int(qw.code(qw.ATROPHY, v)) for v in ("mild", "marked")]
        present = int(qw.code(qw.ATROPHY, "present"))
        table[:, present] += (u * table[:, graded]).sum(axis=1)
        table[:, graded] *= 1.0 - u
        dist.table, dist.log_table = table, np.log(np.maximum(table, TINY))
        cache_[qw.ATROPHY] = dist
    return cache_[qw.ATROPHY]


def grades_log_lik(model: CohortModel, x: dict[str, np.ndarray], names: list[str], states: np.ndarray) -> np.ndarray:
    """(n, U) log-likelihood of the MRC grades among ``names`` on the full ``states`` (test done)."""
    r = model.full.reduced_index[states]
    n = len(x[ONSET])
    out = np.zeros((n, len(states)))
    for j, name in enumerate(MRC_FIELDS):
        if name not in names:
            continue
        rho = model.record_probability(name)[r][None, :]
        kappa = model.unremarkable_record_factor(name)[r][None, :]
        grade = x[name]
        table = model.mrc_table[states, j, :]  # (U, 6)
        p5 = table[:, 5][None, :]
        seen_code = np.nan_to_num(grade, nan=0).astype(int)
        log_seen = np.log(np.maximum(table.T[seen_code], TINY)) + np.log(
            rho * np.where((grade == 5)[:, None], kappa, 1.0)
        )
        log_missing = np.log(np.maximum(1.0 - rho * ((1.0 - p5) + kappa * p5), TINY))
        out += np.where(np.isnan(grade)[:, None], log_missing, log_seen)
    return out


def rows_of(arrays: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """The same arrays at some rows (a mask or indices)."""
    return {k: v[rows] for k, v in arrays.items()}


CSF_YOUNG = "csf_lower_limit"
"""The context key of whether the lower CSF protein limit applies (:func:`context`)."""


def context(x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What a finding's term may read besides the latent state: the age at onset (the CSF protein's slope) and
    whether the record's age at work-up puts the CSF protein under the lower limit (1, 0, NaN where the record
    leaves it open: a null duration and an onset at most the age limit), which 'CSF protein raised' is read against."""
    onset, duration = (x[f] for f in WORKUP_AGE_FIELDS)
    young = qw.csf_lower_limit_applies(onset, duration)
    return {"age": x["age_at_onset_years"], CSF_YOUNG: young.to_float()}


def nothing_written(x: dict[str, np.ndarray], names: Iterable[str]) -> np.ndarray:
    """Per row, whether no field of ``names`` is recorded: the section or test may then have been omitted."""
    written = np.zeros(len(x["age_at_onset_years"]), dtype=bool)
    for name in names:
        written |= ~np.isnan(x[name])
    return ~written
