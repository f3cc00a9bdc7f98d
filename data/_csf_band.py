"""'CSF protein raised' read at the age at work-up: its likelihood where the record leaves the age band open.

The generator writes the word against the CSF protein limit of the latent age at work-up (onset + symptom
duration, ``data.workup_age``), as the criteria read a value. A record without its duration leaves the band
open for an onset at most the age limit, so the word's term is summed over the two bands, weighted by
P(lower limit | state) from the duration's distribution. The band is independent of everything else given the
state (the age at onset is in the record, and a duration is written whatever its value), so the sum is exact
and enters once, in the word's term (``_qualitative_likelihood.value_word_term``); the world fit's continuous
step reads the same pieces (``_continuous_findings``).
"""

from __future__ import annotations

import numpy as np

from mmn_ddx.data import qualitative as q
from mmn_ddx.data._field_likelihood import CSF_YOUNG
from mmn_ddx.data.distributions import TINY, RoundedContinuous
from mmn_ddx.data.workup_age import longest_duration_within

BANDS = (True, False)
"""The lower limit applies (age at work-up at most the age limit), or the higher one."""


def young_probability(duration: RoundedContinuous, ctx: dict[str, np.ndarray]) -> np.ndarray:
    """(n, R) P(the lower CSF protein limit applies | state) on ``duration``'s states: the record's band where
    it decides it (``ctx``, ``_field_likelihood.context``), else P(the latent duration is at most the longest
    one that keeps the age at work-up within the age limit)."""
    known = ctx[CSF_YOUNG]
    out = np.broadcast_to(known[:, None], (len(known), len(duration.lo))).copy()
    open_ = np.isnan(known)
    if open_.any():
        longest = longest_duration_within(ctx["age"][open_], q.csf_age_limit_years(), duration.decimals)
        longer = duration.log_at_least(longest + 10.0 ** -duration.decimals, {})
        out[open_] = -np.expm1(np.minimum(longer, 0.0))
    return out


def raised_sides(protein: RoundedContinuous, ctx: dict[str, np.ndarray],
                 young: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, R) log P(the protein is above its limit) and log P(not above), summed over the two bands with
    ``young`` (n, R) = P(lower limit); a decided band (0 or 1) gives its own limit's terms exactly."""
    step = 10.0 ** -protein.decimals
    n = len(ctx["age"])
    low, high = (protein.log_at_least(np.full(n, float(q.csf_upper_limit(band)) + step), ctx) for band in BANDS)
    with np.errstate(divide="ignore"):
        above = np.logaddexp(np.log(young) + low, np.log1p(-young) + high)
    return above, np.log(np.maximum(-np.expm1(np.minimum(above, 0.0)), TINY))


def agreement(value: np.ndarray, code: np.ndarray, young: np.ndarray) -> np.ndarray:
    """(n, R) P(the written word is the one the written protein gives at the patient's band); 1 where no
    protein is written."""
    v = np.nan_to_num(value)
    agree_young, agree_old = (((code == 1) == (q.csf_protein_raised(v, band) == 1))[:, None] for band in BANDS)
    return np.where(np.isnan(value)[:, None], 1.0, young * agree_young + (1.0 - young) * agree_old)


def band_factors(protein: RoundedContinuous, value: np.ndarray, code: np.ndarray,
                 ctx: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(n, R) each: P(the written word | state, its protein's record) under the lower and under the higher
    limit, for rows with the word written; the word's term is ``rho (y F_low + (1 - y) F_high)``, so these are
    what the duration's parameters reach it through (the world fit's duration step)."""
    out = []
    for band in BANDS:
        young = np.full((len(code), 1), float(band))
        above, below = raised_sides(protein, ctx, young)
        side = np.exp(np.where((code == 1)[:, None], above, below))
        out.append(np.where(np.isnan(value)[:, None], side, agreement(value, code, young)))
    return out[0], out[1]
