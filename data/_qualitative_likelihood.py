"""The exact likelihood of findings written in words (``data.qualitative``): each word's probability is
the sum over the latent values consistent with it, e.g. P('multiple' | state) = P(two or more blocked
nerves | state), summed with the counts' own records; P('asymmetric' | state) sums the eight MRC grades.

Words are written at a value-independent rate, so an unwritten word is a constant factor; a written
one needs the sum. Used by ``data._section_likelihood``.
"""

from __future__ import annotations

import copy
from functools import cache

import numpy as np

from mmn_ddx.data import _csf_band as csf
from mmn_ddx.data import qualitative as q
from mmn_ddx.data._field_likelihood import field_term, grades_log_lik
from mmn_ddx.data.cohort_model import BLOCK_FLAG, DURATION, GRADES, STRENGTH_CACHE, STYLED_CACHE, CohortModel
from mmn_ddx.data.contract import MRC_FIELDS, fields
from mmn_ddx.data.distributions import LOG_TINY, TINY, RoundedContinuous


def styled(model: CohortModel, silenced: frozenset[str]) -> CohortModel:
    """The model as seen by one record style: the silenced fields are never written down."""
    cache_ = model.__dict__.setdefault(STYLED_CACHE, {})
    if silenced not in cache_:
        view = copy.copy(model)
        view.__dict__.pop(STRENGTH_CACHE, None)  # its record rates differ
        view._record = {name: np.zeros(len(model.reduced)) for name in silenced}
        cache_[silenced] = view
    return cache_[silenced]


def _observed(model: CohortModel, word: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(observed rows, log rho (1, R), log(1 - rho) (1, R)) of a word."""
    rho = model.record_probability(word)[None, :]
    with np.errstate(divide="ignore"):
        return ~np.isnan(x), np.log(rho), np.log(np.maximum(1.0 - rho, TINY))


def word_given_count(model: CohortModel, word: str, x: np.ndarray, count: np.ndarray) -> np.ndarray:
    """(n, R) log P(the word's record | its count's value ``count`` (n,)): sensory_ncs, motor_ncs_pattern."""
    seen, log_rho, log_missing = _observed(model, word, x)
    if word == "sensory_ncs":
        p = (q.sensory_ncs(count) == x).astype(float)[:, None]
    else:  # the pattern: the demyelinating part is fixed by the count, the axonal part is a latent
        axonal = q.axonal_loss(model.reduced)[None, :]
        demyelinating = (count >= 1).astype(float)
        code = np.nan_to_num(x, nan=0.0)
        p = np.where((code // 2 == demyelinating)[:, None], np.where((code % 2 == 1)[:, None], axonal, 1 - axonal), 0.0)
    return np.where(seen[:, None], log_rho + np.log(np.maximum(p, TINY)), log_missing)


def blocks_term(model: CohortModel, kids: list[str], x: dict[str, np.ndarray],
                ctx: dict[str, np.ndarray]) -> np.ndarray:
    """(n, R) log P(the block counts' records, the block flag and the block word | demyelinating count).

    Both the flag (exists only where a definite or probable block does) and the word (none / single /
    multiple / present) depend on the counts only through 0, 1 or >= 2 blocked nerves, so each count's
    record is split into its value 0, 1 and the rest, and the classes are summed exactly.
    """
    counts = q.BLOCK_WORD_COUNTS if q.BLOCK_WORD in kids else q.BLOCK_WORD_COUNTS[:2]
    n = len(ctx["age"])
    split = {}
    for name in counts:
        split[name] = _split_count(model, name, x[name] if name in kids else None, ctx, n)
    (d0, d1, dt), (p0, p1, pt) = split["nerves_definite_cb"], split["nerves_probable_cb"]
    s_total = dt + pt
    with np.errstate(invalid="ignore", over="ignore"):
        s = _fractions(d0 + p0, np.logaddexp(d1 + p0, d0 + p1), s_total)
        if "nerves_cidp_cb" in split:
            c0, c1, c_total = split["nerves_cidp_cb"]
            c = _fractions(c0, c1, c_total)
        else:
            c_total = np.zeros_like(s_total)
            c = np.stack([np.ones_like(s_total), np.zeros_like(s_total), np.zeros_like(s_total)])
    flag = _flag_factors(model, x, ctx, kids, n)
    word = _block_word_factors(model, x, kids, n)
    total = np.zeros_like(s_total)
    for i in range(3):
        for j in range(3):
            total = total + s[i] * c[j] * flag[min(i, 1)] * word[max(i, j)]
    with np.errstate(divide="ignore"):
        out = s_total + c_total + np.log(np.maximum(total, 0.0))
    return np.where(np.isfinite(s_total + c_total), np.maximum(out, LOG_TINY + s_total + c_total), LOG_TINY)


def _split_count(model: CohortModel, name: str, value: np.ndarray | None, ctx: dict[str, np.ndarray],
                 n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log P(count = 0 and its record), log P(count = 1 and its record), log P(its record) — (n, R) each."""
    dist = model.dists[name]
    lp0, lp1 = dist.log_pmf(np.zeros(n), ctx), dist.log_pmf(np.ones(n), ctx)
    if value is None:
        return lp0, lp1, np.zeros_like(lp0)
    rho = model.record_probability(name)[None, :]
    kappa = model.unremarkable_record_factor(name)[None, :]
    total = field_term(model, name, value, ctx)
    with np.errstate(divide="ignore"):
        rec0, rec1 = np.log(rho * kappa) + lp0, np.log(rho) + lp1
    miss0, miss1 = np.log(np.maximum(1 - rho * kappa, TINY)) + lp0, np.log(np.maximum(1 - rho, TINY)) + lp1
    missing = np.isnan(value)[:, None]
    w0 = np.where(missing, miss0, np.where((value == 0)[:, None], rec0, -np.inf))
    w1 = np.where(missing, miss1, np.where((value == 1)[:, None], rec1, -np.inf))
    return w0, w1, total


def _fractions(log0: np.ndarray, log1: np.ndarray, log_total: np.ndarray) -> np.ndarray:
    """(3, n, R): the shares of class 0, 1 and >= 2 in a total, in linear space."""
    f0 = np.nan_to_num(np.exp(log0 - log_total))
    f1 = np.nan_to_num(np.exp(log1 - log_total))
    return np.stack([f0, f1, np.clip(1.0 - f0 - f1, 0.0, 1.0)])


def _flag_factors(model: CohortModel, x: dict[str, np.ndarray], ctx: dict[str, np.ndarray], kids: list[str],
                  n: int) -> list[np.ndarray]:
    """[no block, block]: P(flag record), 1 when the flag is not among the fields."""
    if BLOCK_FLAG not in kids:
        return [np.ones((n, 1)), np.ones((n, 1))]
    flag = x[BLOCK_FLAG]
    if_none = np.where(np.isnan(flag)[:, None], 1.0, TINY)  # nothing to be normal across
    return [if_none, np.exp(field_term(model, BLOCK_FLAG, flag, ctx))]


def _block_word_factors(model: CohortModel, x: dict[str, np.ndarray], kids: list[str], n: int) -> list[np.ndarray]:
    """[0, 1, >= 2 blocked nerves]: P(block word record)."""
    if q.BLOCK_WORD not in kids:
        return [np.ones((n, 1))] * 3
    value = x[q.BLOCK_WORD]
    rho = model.record_probability(q.BLOCK_WORD)[None, :]
    u = q.per_document("uncounted_block", model.reduced)[None, :]
    seen = ~np.isnan(value)[:, None]
    out = []
    for k, counted in enumerate(("none", "single", "multiple")):
        if k == 0:
            p = np.where(value == q.code(q.BLOCK_WORD, "none"), 1.0, 0.0)[:, None]
        else:
            p = (np.where(value == q.code(q.BLOCK_WORD, counted), 1.0, 0.0)[:, None] * (1 - u)
                 + np.where(value == q.code(q.BLOCK_WORD, "present"), 1.0, 0.0)[:, None] * u)
        out.append(np.where(seen, rho * p, 1.0 - rho))
    return out


def value_word_term(model: CohortModel, word: str, names: list[str], x: dict[str, np.ndarray],
                    ctx: dict[str, np.ndarray]) -> np.ndarray:
    """(n, R) log P(a continuous finding's record and its word's record), e.g. the anti-GM1 ratio and
    'anti-GM1 positive': the word is fixed by a written value, else summed over the values above its limit.
    'CSF protein raised' is read at the age at work-up, summed over both age bands where the record leaves
    the band open (``data/_csf_band.py``)."""
    parent = q.VALUE_WORDS[word]
    dist = model.dists[parent]
    assert isinstance(dist, RoundedContinuous)
    value = x[parent] if parent in names else np.full(len(x[word]), np.nan)
    seen_w, log_rho, log_missing = _observed(model, word, x[word])
    own = field_term(model, parent, value, ctx) if parent in names else np.zeros((len(value), 1))
    young = csf_young_probability(model, ctx) if word == q.CSF_WORD else None
    code = x[word]
    if young is None:
        agrees = np.where(np.isnan(value), True, (code == 1) == (q.anti_gm1_igm(np.nan_to_num(value)) == 1))
        written = np.where(agrees[:, None], log_rho, LOG_TINY)
    else:  # P(the written word is the value's) at the patient's band: 0 or 1 where the band is known
        agrees = csf.agreement(value, code, young)
        with np.errstate(divide="ignore"):
            written = np.where(agrees > 0, log_rho + np.log(agrees), LOG_TINY)
    above, below = word_sides(dist, word, ctx, young)
    summed = log_rho + np.where((code == 1)[:, None], above, below)
    word_term = np.where(seen_w[:, None], np.where(np.isnan(value)[:, None], summed, written), log_missing)
    return own + word_term


def csf_young_probability(model: CohortModel, ctx: dict[str, np.ndarray]) -> np.ndarray:
    """(n, R) P(the lower CSF protein limit applies | state) under ``model`` (``_csf_band.young_probability``)."""
    duration = model.dists[DURATION]
    assert isinstance(duration, RoundedContinuous)
    return csf.young_probability(duration, ctx)


def word_sides(dist: RoundedContinuous, word: str, ctx: dict[str, np.ndarray],
               young: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(n, R) log P(the value is on the word's side of its limit) for the word stated (positive / raised) and
    for its negation: what a word written without its number tells (the world fit's continuous step too).
    ``young``: for 'CSF protein raised', (n, R) P(the lower limit applies), :func:`csf_young_probability`."""
    if word == q.CSF_WORD:
        assert young is not None, "'CSF protein raised' is read against the limit of the age at work-up"
        return csf.raised_sides(dist, ctx, young)
    above = dist.log_at_least(np.full(len(ctx["age"]), 1.0), ctx)
    return above, np.log(np.maximum(-np.expm1(np.minimum(above, 0.0)), TINY))


# --- strength in words: the eight MRC grades summed per left/right pair, then per limb ---------------------
def strength_states(model: CohortModel) -> tuple[np.ndarray, np.ndarray]:
    """(U,) one full state per distinct strength section (its MRC grade table and the grades' and words'
    record rates) and (G,) each full state's one: most full states differ only in latents the section
    ignores (1 224 distinct of 4 050 in the literature world), so its likelihood is worked out on U."""
    if STRENGTH_CACHE not in model.__dict__:
        r = model.full.reduced_index
        rates = [model.record_probability(f)[r] for f in (*MRC_FIELDS, *q.STRENGTH_WORDS)]
        kappas = [model.unremarkable_record_factor(f)[r] for f in MRC_FIELDS]
        key = np.column_stack([model.mrc_table.reshape(len(r), -1), *rates, *kappas])
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        model.__dict__[STRENGTH_CACHE] = (first, inverse.ravel())
    states: tuple[np.ndarray, np.ndarray] = model.__dict__[STRENGTH_CACHE]
    return states


@cache
def _masks() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-hot maps: a pair of grades -> (left weak, right weak, asymmetric) (36, 8); a proximal and a
    distal pair -> (weak sides 0-2, asymmetric, proximal weak, distal weak) (64, 24); arms' and legs'
    (asymmetric, proximal weak, distal weak) -> the same for the four limbs (64, 8)."""
    pair = np.zeros((GRADES * GRADES, 8))
    for a in range(GRADES):
        for b in range(GRADES):
            asym = bool(q.pair_asymmetric(np.array([a]), np.array([b]))[0])
            pair[a * GRADES + b, 4 * (a < 5) + 2 * (b < 5) + asym] = 1
    limb = np.zeros((64, 24))
    both = np.zeros((64, 8))
    for s in range(8):
        for t in range(8):
            wl, wr, a1 = s >> 2 & 1, s >> 1 & 1, s & 1
            vl, vr, a2 = t >> 2 & 1, t >> 1 & 1, t & 1
            sides = (wl | vl) + (wr | vr)
            limb[8 * s + t, 8 * sides + 4 * (a1 | a2) + 2 * (wl | wr) + (vl | vr)] = 1
            both[8 * s + t, s | t] = 1  # (asymmetric, proximal, distal) bits combine by "or"
    return pair, limb, both


def _pattern_factor(sym: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(..., 8): P(symmetry and predominance records | asymmetric, proximal weak, distal weak) from the
    per-value factors (..., 3) and (..., 4) (predominance 3 = no value: no weakness)."""
    out = []
    for bits in range(8):
        asym, prox, dist = bits >> 2 & 1, bits >> 1 & 1, bits & 1
        weak = prox | dist
        symmetry = 0 if not weak else (2 if asym else 1)
        predominance = 3 if not weak else (2 if prox and dist else (0 if dist else 1))
        out.append(sym[..., symmetry] * pred[..., predominance])
    return np.stack(out, axis=-1)


def _limbs(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arms and legs, each (..., 3 weak sides, 8 (asymmetric, proximal weak, distal weak)), from the
    per-region weights ``f`` (..., 8, 6): the grades summed per left/right pair, then per limb."""
    pair, limb, _ = _masks()
    pairs = [_map(_outer(f[..., j, :], f[..., j + 1, :]), pair) for j in range(0, 8, 2)]
    arms = _map(_outer(pairs[0], pairs[1]), limb).reshape(*f.shape[:-2], 3, 8)
    legs = _map(_outer(pairs[2], pairs[3]), limb).reshape(*f.shape[:-2], 3, 8)
    return arms, legs


def _outer(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a[..., :, None] * b[..., None, :]).reshape(*a.shape[:-1], -1)


def _map(a: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``a @ mask`` over the last axis as one 2-D product (a stacked matmul is several times slower)."""
    return (a.reshape(-1, a.shape[-1]) @ mask).reshape(*a.shape[:-1], mask.shape[1])


def _strength_lik(arms: np.ndarray, legs: np.ndarray, factors: list[np.ndarray]) -> np.ndarray:
    """(n, G): P(written words) summed over the limbs' summaries."""
    _, _, both = _masks()
    sym, pred, arms_f, legs_f = factors
    arms = (arms * arms_f[..., :, None]).sum(axis=-2)
    legs = (legs * legs_f[..., :, None]).sum(axis=-2)
    return (_map(_outer(arms, legs), both) * _pattern_factor(sym, pred)).sum(axis=-1)


def _word_factors(model: CohortModel, codes: np.ndarray, names: list[str], states: np.ndarray) -> list[np.ndarray]:
    """Per strength word, (n, U, values) on the full ``states``: P(its record | its value), 1 for a word not
    among ``names`` (marginalised); predominance gets a 4th value, 'none to state' (no weakness), which is
    never written."""
    index = model.full.reduced_index[states]
    out = []
    for k, word in enumerate(q.STRENGTH_WORDS):
        included = word in names
        rho = model.record_probability(word)[index][None, :, None] * included
        value = codes[:, k][:, None, None]
        levels = np.arange(4 if k == 1 else 3)[None, None, :]
        applicable = levels < 3
        out.append(np.where(np.isnan(value), np.where(applicable, 1.0 - rho, 1.0),
                            np.where(applicable & (levels == value), rho, 0.0)))
    return out


def strength_term(model: CohortModel, x: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """(n, G) log P(the MRC grades' records and the strength words' records | full latent state).

    Rows without written grades (always so when the section is written in words only) share the limb
    sums; rows with grades and no written word have a closed form (only the predominance, unwritten
    without weakness, depends on the grades); rows with both sum their grades row by row. All of it on
    :func:`strength_states`, expanded to the full grid at the end.
    """
    states, expand = strength_states(model)
    n = len(x[MRC_FIELDS[0]])
    kept = [m for m in MRC_FIELDS if m in names]
    words = np.stack([x[w] if w in names else np.full(n, np.nan) for w in q.STRENGTH_WORDS], axis=1)
    grades = np.stack([x[m] if m in kept else np.full(n, np.nan) for m in MRC_FIELDS], axis=1)
    out = np.empty((n, len(states)))
    no_grades, no_words = np.isnan(grades).all(axis=1), np.isnan(words).all(axis=1)
    if no_grades.any():
        arms, legs = _limbs(_region_weights(model, grades[:1] * np.nan, kept, states))
        keys = np.nan_to_num(words, nan=-1.0)
        for key in np.unique(keys[no_grades], axis=0):
            rows = no_grades & (keys == key).all(axis=1)
            lik = _strength_lik(arms, legs, _word_factors(model, words[rows][:1], names, states))
            out[rows] = np.log(np.maximum(lik, TINY))
    closed = ~no_grades & no_words
    if closed.any():
        index = model.full.reduced_index[states]
        rho = {w: model.record_probability(w)[index][None, :] for w in q.STRENGTH_WORDS}
        sub = {k: v[closed] for k, v in x.items()}
        log_all = grades_log_lik(model, sub, kept, states)  # log P(grade records), any grades
        log_none_weak = _log_all_full_strength(model, grades[closed], kept, states)
        ratio = np.exp(np.minimum(log_none_weak - log_all, 0.0))
        unwritten = sum(np.log(np.maximum(1 - rho[w], TINY))
                        for w in q.STRENGTH_WORDS if w != "weakness_predominance" and w in names)
        pred = rho["weakness_predominance"] * ("weakness_predominance" in names)
        out[closed] = log_all + unwritten + np.log(np.maximum(1.0 - pred * (1.0 - ratio), TINY))
    graded = np.flatnonzero(~no_grades & ~no_words)
    for start in range(0, len(graded), 64):
        rows = graded[start : start + 64]
        arms, legs = _limbs(_region_weights(model, grades[rows], kept, states))
        lik = _strength_lik(arms, legs, _word_factors(model, words[rows], names, states))
        out[rows] = np.log(np.maximum(lik, TINY))
    return out[:, expand]


def _log_all_full_strength(model: CohortModel, grades: np.ndarray, kept: list[str], states: np.ndarray) -> np.ndarray:
    """(n, U) log P(every grade 5 and the grade records) on the full ``states``."""
    r = model.full.reduced_index[states]
    out = np.zeros((len(grades), len(states)))
    for j, name in enumerate(MRC_FIELDS):
        p5 = model.mrc_table[states, j, 5][None, :]
        if name in kept:
            rate = (model.record_probability(name) * model.unremarkable_record_factor(name))[r][None, :]
            grade = grades[:, j][:, None]
            p5 = p5 * np.where(np.isnan(grade), 1.0 - rate, np.where(grade == 5, rate, 0.0))
        out += np.log(np.maximum(p5, TINY))
    return out


def _region_weights(model: CohortModel, grades: np.ndarray, kept: list[str], states: np.ndarray) -> np.ndarray:
    """(n, U, 8, 6) on the full ``states``: P(grade) x P(its record) per region, as
    ``_field_likelihood.grades_log_lik`` writes it."""
    r = model.full.reduced_index[states]
    table = model.mrc_table[states]
    f = np.broadcast_to(table[None], (len(grades), *table.shape)).copy()
    levels = np.arange(GRADES)[None, None, :]
    for j, name in enumerate(MRC_FIELDS):
        if name not in kept:
            continue
        rho = model.record_probability(name)[r][None, :, None]
        kappa = model.unremarkable_record_factor(name)[r][None, :, None]
        rate = rho * np.where(levels == 5, kappa, 1.0)
        grade = grades[:, j][:, None, None]
        f[:, :, j, :] *= np.where(np.isnan(grade), 1.0 - rate, np.where(levels == grade, rate, 0.0))
    return f


# --- reflexes by limb: each word is the affected- or unaffected-limb reflex, by the limbs involved --------
def reflex_block_term(model: CohortModel, log_done: np.ndarray, log_not_done: np.ndarray, names: list[str],
                      x: dict[str, np.ndarray], ctx: dict[str, np.ndarray]) -> np.ndarray:
    """(n, G) log-likelihood of the reflex block with written limb words: for each of the four ways the
    arms and legs can be involved (a function of the full state's onset region), the two reflex findings
    are summed with the words that copy them (and the UMN signs that depend on the affected limbs)."""
    affected, unaffected = q.LIMB_ROLES
    umn = next(name for name, d in model.dists.items() if getattr(d, "given", None) == affected)
    n, levels = len(ctx["age"]), len(_field_values(affected))
    terms: dict[str, list[np.ndarray]] = {affected: [], unaffected: []}
    for role in q.LIMB_ROLES:
        dist = model.dists[role]
        for v in range(levels):
            codes = np.full(n, float(v))
            term = dist.log_pmf(codes, ctx) + (_recorded_as(model, role, x[role], v) if role in names else 0.0)
            if role == affected and umn in names:
                term = term + field_term(model, umn, x[umn], ctx | {affected: codes})
            terms[role].append(term)
    words = {w: [_word_copy(model, w, x[w], v) if w in names else np.zeros((1, 1)) for v in range(levels)]
             for w in q.LIMB_WORDS}
    involved = q.limbs_affected(model.reduced.diagnosis[model.full.reduced_index], model.full.onset)
    out = np.empty((n, len(model.full)))
    for arms in (True, False):
        for legs in (True, False):
            role_of = {"reflexes_arms": affected if arms else unaffected,
                       "reflexes_legs": affected if legs else unaffected}
            total = np.zeros((n, len(model.reduced)))
            for role in q.LIMB_ROLES:
                copies = [w for w, r in role_of.items() if r == role]
                total = total + np.logaddexp.reduce(
                    np.stack([terms[role][v] + sum(words[w][v] for w in copies) for v in range(levels)]), axis=0)
            states = np.flatnonzero((involved["arms"] == arms) & (involved["legs"] == legs))
            out[:, states] = total[:, model.full.reduced_index[states]]
    written = np.logical_or.reduce([~np.isnan(x[f]) for f in names])[:, None]
    index = model.full.reduced_index
    return np.logaddexp(log_done[index][None, :] + out, np.where(written, -np.inf, log_not_done[index][None, :]))


def _field_values(name: str) -> tuple[str, ...]:
    """A categorical field's allowed values, in code order."""
    return tuple(fields()[name].values or ())


def _recorded_as(model: CohortModel, name: str, x: np.ndarray, v: int) -> np.ndarray:
    """(n, R) log P(the field's record | its value is ``v``)."""
    dist = model.dists[name]
    rate = model.record_probability(name)[None, :]
    if bool(dist.is_unremarkable(np.array([float(v)]))[0]):
        rate = rate * model.unremarkable_record_factor(name)[None, :]
    with np.errstate(divide="ignore"):
        return np.where(np.isnan(x)[:, None], np.log(np.maximum(1.0 - rate, TINY)),
                        np.where((x == v)[:, None], np.log(rate), -np.inf))


def _word_copy(model: CohortModel, word: str, x: np.ndarray, v: int) -> np.ndarray:
    """(n, R) log P(a word's record | the finding it copies is ``v``)."""
    seen, log_rho, log_missing = _observed(model, word, x)
    return np.where(seen[:, None], np.where((x == v)[:, None], log_rho, LOG_TINY), log_missing)
