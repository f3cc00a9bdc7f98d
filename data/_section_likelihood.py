"""The exact likelihood of one report section given the latent state, summed over how it may be written.

A reported section is a product over its test blocks: each was done (its fields recorded or left null) or
not done (all null). Nerve counts are nested binomials (studied -> counts -> sub-counts), summed over any
count not written down; a finding conditional on another is summed over the other when it is null; the MRC
grades and the onset region live on the full latent grid. The qualitative words (contract v2) have their
terms in ``data/_qualitative_likelihood.py``, a single field's in ``data/_field_likelihood.py``.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
from scipy.special import logsumexp

from mmn_ddx.data import _qualitative_likelihood as ql
from mmn_ddx.data import qualitative as qw
from mmn_ddx.data._field_likelihood import CSF_YOUNG, field_term, grades_log_lik, nothing_written, rows_of
from mmn_ddx.data.cohort_model import BLOCK_COUNTS, BLOCK_FLAG, MRC_FIELDS, ONSET, CohortModel, Section
from mmn_ddx.data.contract import fields
from mmn_ddx.data.distributions import LOG_TINY, TINY, Binomial, ConditionalBernoulli
from mmn_ddx.data.latents import atypical_rate


def styled_section_log_lik(model: CohortModel, section: Section, names: list[str], x: dict[str, np.ndarray],
                           ctx: dict[str, np.ndarray]) -> tuple[np.ndarray, bool]:
    """log P(the section's records | reported), summed over the styles it may be written in (numbers,
    words, both); a style is impossible for a row that has a field it never writes. Returns the (n, R)
    or, when on the full grid, (n, G) log-likelihood and which. Rows with the same records in the
    section (and the same age where a finding depends on it) share one computation."""
    first, inverse = _shared_rows(model, names, x, ctx)
    if len(first) < 0.8 * len(ctx["age"]):
        lik, on_full = _styled_section_log_lik_rows(model, section, names, rows_of(x, first), rows_of(ctx, first))
        return lik[inverse], on_full
    return _styled_section_log_lik_rows(model, section, names, x, ctx)


def _styled_section_log_lik_rows(model: CohortModel, section: Section, names: list[str], x: dict[str, np.ndarray],
                                 ctx: dict[str, np.ndarray]) -> tuple[np.ndarray, bool]:
    styles = qw.section_styles(section.name, model.reduced)
    if len(styles) == 1 and not styles[0].silenced:
        return _section_log_lik(model, section, names, x, ctx)
    n = len(ctx["age"])
    parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, bool]] = []
    for style in styles:
        written = [~np.isnan(x[f]) for f in style.silenced if f in names]
        possible = ~np.logical_or.reduce([*written, np.zeros(n, dtype=bool)])
        if possible.any():
            sub_x = rows_of(x, possible)
            sub_ctx = rows_of(ctx, possible)
            with np.errstate(divide="ignore"):
                lik, on_full = _section_log_lik(ql.styled(model, style.silenced), section, names, sub_x, sub_ctx)
            parts.append((style.name, np.log(np.maximum(style.weight, TINY)), possible, lik, on_full))
    on_full = any(part[4] for part in parts)
    index = model.full.reduced_index
    out = np.full((n, len(model.full) if on_full else len(model.reduced)), -np.inf)
    for _, log_weight, possible, lik, lik_full in parts:
        if on_full and not lik_full:
            lik = lik[:, index]
        out[possible] = np.logaddexp(out[possible], (log_weight[index] if on_full else log_weight)[None, :] + lik)
    return out, on_full


def _section_log_lik(model: CohortModel, section: Section, names: list[str], x: dict[str, np.ndarray],
                     ctx: dict[str, np.ndarray]) -> tuple[np.ndarray, bool]:
    """log P(the section's records | reported, one style): (n, R), or (n, G) with regional fields."""
    within = np.zeros((len(ctx["age"]), len(model.reduced)))
    for block in section.blocks:
        kept = [f for f in block.fields if f in names]
        if kept:
            within = within + _block_log_lik(model, block.log_done, block.log_not_done, kept, x, ctx)
    limb = [w for w in qw.LIMB_WORDS if w in names]
    seen = np.logical_or.reduce([*(~np.isnan(x[w]) for w in limb), np.zeros(len(within), dtype=bool)])
    if seen.any():  # which limbs take the affected-limb reflexes depends on the onset: the full grid
        (block,) = section.blocks
        out = within[:, model.full.reduced_index]
        rows = rows_of(x, seen)
        kept = [f for f in block.fields if f in names]
        out[seen] = ql.reflex_block_term(model, block.log_done, block.log_not_done, kept, rows,
                                         rows_of(ctx, seen))
        return out, True
    regional = [f for f in names if f in MRC_FIELDS or f == ONSET]
    words = [w for w in qw.STRENGTH_WORDS if w in names and model.record_probability(w).any()]
    if not regional and not words:
        return within, False
    extra = ql.strength_term(model, x, names) if words else _regional_log_lik(model, x, regional)
    return within[:, model.full.reduced_index] + extra, True


def _children(model: CohortModel, parent: str) -> list[str]:
    """The counts drawn among ``parent`` (e.g. the nerve counts among the demyelinating nerves)."""
    return [n for n, d in model.dists.items() if isinstance(d, Binomial) and d.n_from == parent]


def _count_group(model: CohortModel, studied: str, names: list[str], x: dict[str, np.ndarray],
                 ctx: dict[str, np.ndarray]) -> np.ndarray:
    """Nerves studied plus the counts among them (a two-level tree: studied -> counts -> sub-counts),
    summed over the number studied and over a parent count whenever they were not recorded.

    ``names``: the fields kept; a structural field that is excluded is marginalised out with its recording.
    """
    included = set(names)
    n = len(ctx["age"])
    n_obs = x[studied] if studied in included else np.full(n, np.nan)
    parents = {c: [g for g in _children(model, c) if g in included] for c in _children(model, studied)}
    if BLOCK_FLAG in included:
        holder = model.dists[BLOCK_COUNTS[0]].n_from  # type: ignore[attr-defined]
        if holder in parents:
            parents[holder].append(BLOCK_FLAG)
    unwritten = np.zeros(len(model.reduced))  # words no row states: a constant, no sum needed
    for word, count in qw.TREE_WORDS.items():  # a word about a count is summed with that count
        if word in included and count in parents:
            if np.isnan(x[word]).all():
                unwritten = unwritten + np.log(np.maximum(1.0 - model.record_probability(word), TINY))
            else:
                parents[count].append(word)
    support = np.flatnonzero(model.dists[studied].table.max(axis=0) > 0)  # type: ignore[attr-defined]
    needed = np.fmax(
        np.nan_to_num(n_obs, nan=0.0), np.nanmax(np.stack([x[c] for c in parents] + [np.zeros(n)]), axis=0)
    )
    base = int(support.max())
    top = int(min(max(base, needed.max()), 40))
    tables = {
        c: _given_each_parent_value(model, c, kids, x, ctx, top, base, needed) for c, kids in parents.items() if kids
    }
    below = {c: _scaled(table, ~np.isnan(x[c]) if c in included else np.zeros(n, dtype=bool))
             for c, table in tables.items()}
    out = np.empty((n, len(model.reduced)))
    seen = ~np.isnan(n_obs)
    if seen.any():  # the number studied is known: no sum needed
        term = field_term(model, studied, n_obs, ctx)[seen]
        out[seen] = term + _children_given_studied(model, parents, _below_rows(below, seen), included,
                                                   rows_of(x, seen), rows_of(ctx, seen), n_obs[seen])
    if (~seen).any():  # the rows taken once, not once per hypothesised number studied
        free_below, free_x, free_ctx = _below_rows(below, ~seen), rows_of(x, ~seen), rows_of(ctx, ~seen)
        terms = []
        for value in support:
            log_p = np.log(np.maximum(model.dists[studied].table[:, int(value)], TINY))  # type: ignore[attr-defined]
            if studied in included:
                log_p = log_p + np.log(np.maximum(1.0 - model.record_probability(studied), TINY))
            s = np.full(int((~seen).sum()), float(value))
            terms.append(log_p[None, :] + _children_given_studied(model, parents, free_below, included, free_x,
                                                                  free_ctx, s))
        out[~seen] = logsumexp(np.stack(terms), axis=0)
    return out + unwritten[None, :]


def _given_each_parent_value(model: CohortModel, parent: str, kids: list[str], x: dict[str, np.ndarray],
                             ctx: dict[str, np.ndarray], top: int, base: int, needed: np.ndarray) -> np.ndarray:
    """(top + 1, n, R): log P(the sub-counts' records | parent count = a) for a = 0..top.

    Values above ``base`` (the generator's support) matter only for rows whose recorded counts reach
    them (``needed``: the largest value each row can take); elsewhere they are left at log(TINY).
    """
    n = len(ctx["age"])
    out = np.full((top + 1, n, len(model.reduced)), LOG_TINY)
    out[: base + 1] = 0.0
    for group in _kid_groups(kids):  # each group's records take few distinct values: one term per value
        first, inverse = _shared_rows(model, group, x, ctx)
        rows_x = {k: x[k][first] for k in group}
        rows_ctx = rows_of(ctx, first)
        for a in range(min(top, base) + 1):
            out[a] += _kids_term(model, group, rows_x, rows_ctx | {parent: np.full(len(first), float(a))})[inverse]
    for a in range(base + 1, top + 1):
        rows = needed >= a
        if rows.any():
            sctx = rows_of(ctx, rows) | {parent: np.full(int(rows.sum()), float(a))}
            out[a, rows] = _kids_term(model, kids, {k: x[k][rows] for k in kids if k in x}, sctx)
    return out


def _kid_groups(kids: list[str]) -> list[list[str]]:
    """The sub-counts whose records :func:`_kids_term` sums jointly (the block counts with the block flag and
    the block word), then every other one alone: the term is the sum of the groups' terms."""
    if qw.BLOCK_WORD in kids:
        joint = set(qw.BLOCK_WORD_COUNTS) | {BLOCK_FLAG, qw.BLOCK_WORD}
    else:
        joint = {BLOCK_FLAG, *BLOCK_COUNTS} if BLOCK_FLAG in kids else set()
    together = [k for k in kids if k in joint]
    return ([together] if together else []) + [[k] for k in kids if k not in joint]


def _shared_rows(model: CohortModel, names: Collection[str], x: dict[str, np.ndarray],
                 ctx: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each distinct record of ``names``, each row's one): rows with the same records (and
    the same age, and age band at work-up, where a finding depends on it) have the same likelihood."""
    worded = qw.CSF_WORD in names  # read against the limit of the age at work-up
    aged = worded or any(np.any(getattr(model.dists.get(f), "slope", 0.0)) for f in names)
    columns = [x[f] for f in names] + ([ctx["age"]] if aged else []) + ([ctx[CSF_YOUNG]] if worded else [])
    _, first, inverse = np.unique(np.nan_to_num(np.column_stack(columns), nan=-1e9), axis=0,
                                  return_index=True, return_inverse=True)
    return first, inverse.ravel()


def _kids_term(model: CohortModel, kids: list[str], x: dict[str, np.ndarray], ctx: dict[str, np.ndarray]) -> np.ndarray:
    """(n, R) log P(the sub-counts' records | their parent's value in ``ctx``), with the block flag
    (which exists only where a definite or probable block does) summed over "block or not"."""
    flagged = BLOCK_FLAG in kids
    if qw.BLOCK_WORD in kids:  # the block word and the flag, summed over 0, 1, >= 2 blocked nerves
        joint = set(qw.BLOCK_WORD_COUNTS) | {BLOCK_FLAG, qw.BLOCK_WORD}
        out = ql.blocks_term(model, kids, x, ctx)
        for kid in kids:
            if kid in qw.TREE_WORDS and kid not in joint:
                out = out + ql.word_given_count(model, kid, x[kid], ctx[qw.TREE_WORDS[kid]])
            elif kid not in joint:
                out = out + field_term(model, kid, x[kid], ctx)
        return out
    plain = [k for k in kids if k != BLOCK_FLAG and not (flagged and k in BLOCK_COUNTS)]
    out = np.zeros((len(ctx["age"]), len(model.reduced)))
    for kid in plain:
        if kid in qw.TREE_WORDS:
            out = out + ql.word_given_count(model, kid, x[kid], ctx[qw.TREE_WORDS[kid]])
        else:
            out = out + field_term(model, kid, x[kid], ctx)
    if not flagged:
        return out
    with_block = np.zeros_like(out)  # log P(counts' records), any value
    no_block = np.zeros_like(out)    # log P(counts' records and every count 0)
    for name in BLOCK_COUNTS:
        dist = model.dists[name]
        zero = dist.log_pmf(np.zeros(len(out)), ctx)
        if name in kids:
            value = x[name]
            with_block = with_block + field_term(model, name, value, ctx)
            kappa = model.unremarkable_record_factor(name)[None, :]
            rho = model.record_probability(name)[None, :]
            recorded = np.log(rho * kappa) + zero
            left_out = np.log(np.maximum(1.0 - rho * kappa, TINY)) + zero
            no_block = no_block + np.where(np.isnan(value)[:, None], left_out,
                                           np.where((value == 0)[:, None], recorded, -np.inf))
        else:
            no_block = no_block + zero
    ratio = np.exp(np.minimum(no_block - with_block, 0.0))
    with np.errstate(divide="ignore"):
        block = with_block + np.log1p(-np.minimum(ratio, 1.0))
    flag = x[BLOCK_FLAG]
    flag_if_block = field_term(model, BLOCK_FLAG, flag, ctx)
    flag_if_none = np.where(np.isnan(flag)[:, None], 0.0, LOG_TINY)  # nothing to be normal across
    return out + np.logaddexp(no_block + flag_if_none, block + flag_if_block)


def _scaled(table: np.ndarray, recorded: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sub-count table (A, n, R), its max over the parent's values and its exponential shifted by that max,
    these two only where the parent count was not ``recorded`` (the rows that sum over it; 0 elsewhere)."""
    free = ~recorded
    shift = np.zeros(table.shape[1:])
    scaled = np.zeros_like(table)
    shift[free] = table[:, free].max(axis=0)
    scaled[:, free] = np.exp(table[:, free] - shift[free][None])
    return table, shift, scaled


def _below_rows(below: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                rows: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The sub-count tables of :func:`_count_group` for some rows (their second axis; the shift's first)."""
    return {c: (table[:, rows], shift[rows], scaled[:, rows]) for c, (table, shift, scaled) in below.items()}


def _children_given_studied(model: CohortModel, parents: dict[str, list[str]],
                            below: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                            included: set[str], x: dict[str, np.ndarray], ctx: dict[str, np.ndarray],
                            s: np.ndarray) -> np.ndarray:
    """(n, R): log P(the counts among the nerves studied and their sub-counts | s nerves studied)."""
    studied = next(iter({model.dists[c].n_from for c in parents}))  # type: ignore[attr-defined]
    sctx = ctx | {studied: s}
    term = np.zeros((len(s), len(model.reduced)))
    for count, kids in parents.items():
        if count not in included and not kids:
            continue
        if not kids:
            term += field_term(model, count, x[count], sctx)
            continue
        table, shift, full_scaled = below[count]  # (A, n, R): log P(sub-counts | parent = a), its row max, exp
        value = x[count] if count in included else np.full(len(term), np.nan)
        seen = ~np.isnan(value)
        if seen.any():  # the parent count is recorded: its own term plus the sub-counts given it
            seen_ctx = rows_of(sctx, seen)
            picked = table[np.clip(value[seen].astype(int), 0, len(table) - 1), np.flatnonzero(seen)]
            term[seen] += field_term(model, count, value[seen], seen_ctx) + picked
        if (~seen).any():  # summed over the parent count (in linear space, shifted per row), times P(left out)
            free_s = sctx[studied][~seen]
            same = bool(np.all(free_s == free_s[0]))  # one hypothesised s for every row: compute once
            free_ctx = {studied: free_s[:1]} if same else rows_of(sctx, ~seen)
            dist = model.dists[count]
            rho = model.record_probability(count)[None, :]
            kappa = model.unremarkable_record_factor(count)[None, :]
            a_top = min(len(table) - 1, int(free_s.max()))
            weights = []
            for a in range(a_top + 1):
                a_values = np.full(len(free_ctx[studied]), float(a))
                log_w = dist.log_pmf(a_values, free_ctx)
                if count in included:
                    unremarkable = bool(dist.is_unremarkable(a_values[:1])[0])
                    log_w = log_w + np.log(np.maximum(1.0 - rho * (kappa if unremarkable else 1.0), TINY))
                weights.append(np.exp(log_w))
            scaled = full_scaled[: a_top + 1, ~seen] if seen.any() else full_scaled[: a_top + 1]
            total = np.einsum("amr,amr->mr", np.broadcast_to(np.stack(weights), scaled.shape), scaled)
            term[~seen] += np.log(np.maximum(total, TINY)) + shift[~seen]
    return term


def _conditional_pair(model: CohortModel, given: str, name: str, names: list[str], x: dict[str, np.ndarray],
                      ctx: dict[str, np.ndarray]) -> np.ndarray:
    """(n, R) log P(``given`` and the finding conditional on it), summed over ``given`` where not recorded."""
    parent = model.dists[given]
    value = x[given] if given in names else np.full(len(x[name]), np.nan)
    out = np.empty((len(value), len(model.reduced)))
    seen = ~np.isnan(value)
    if seen.any():
        sub = rows_of(ctx, seen)
        own = field_term(model, given, value[seen], sub) if given in names else 0.0
        out[seen] = own + field_term(model, name, x[name][seen], sub | {given: value[seen]})
    if (~seen).any():
        sub = rows_of(ctx, ~seen)
        rho = model.record_probability(given)[None, :]
        kappa = model.unremarkable_record_factor(given)[None, :]
        terms = []
        for code in range(parent.table.shape[1]):  # type: ignore[attr-defined]
            codes = np.full(int((~seen).sum()), float(code))
            term = np.log(np.maximum(parent.table[:, code], TINY))[None, :]  # type: ignore[attr-defined]
            if given in names:
                factor = kappa if parent.is_unremarkable(codes[:1])[0] else 1.0
                term = term + np.log(np.maximum(1.0 - rho * factor, TINY))
            terms.append(term + field_term(model, name, x[name][~seen], sub | {given: codes}))
        out[~seen] = logsumexp(np.stack(terms), axis=0)
    return out


def _block_log_lik(model: CohortModel, log_done: np.ndarray, log_not_done: np.ndarray, names: list[str],
                   x: dict[str, np.ndarray], ctx: dict[str, np.ndarray]) -> np.ndarray:
    """(n, R) log-likelihood of one test block: done (fields recorded or not) or not done at all."""
    n = len(ctx["age"])
    any_observed = ~nothing_written(x, names)
    done = np.broadcast_to(log_done[None, :], (n, len(log_done))).copy()
    roots = {model.dists[c].n_from for c in names if isinstance(model.dists.get(c), Binomial)}  # type: ignore[attr-defined]
    if BLOCK_FLAG in names:  # the flag is summed with the block counts it depends on
        roots.add(model.dists[BLOCK_COUNTS[0]].n_from)  # type: ignore[attr-defined]
    roots |= {model.dists[qw.TREE_WORDS[w]].n_from for w in names if w in qw.TREE_WORDS}  # type: ignore[attr-defined]
    roots = {root if not isinstance(model.dists.get(root), Binomial) else model.dists[root].n_from for root in roots}  # type: ignore[attr-defined]
    in_trees = set(roots) | {BLOCK_FLAG} | set(qw.TREE_WORDS) | set(qw.STRENGTH_WORDS) | set(qw.LIMB_WORDS)
    for word in qw.LIMB_WORDS:  # unwritten here (rows with one use ql.reflex_block_term): a constant
        if word in names:
            done += np.log(np.maximum(1.0 - model.record_probability(word), TINY))[None, :]
    for root in roots:
        done += _count_group(model, root, names, x, ctx)
        in_trees |= {c for c in model.dists if isinstance(model.dists[c], Binomial)}
    for name in names:
        dist = model.dists.get(name)
        if isinstance(dist, ConditionalBernoulli):
            done += _conditional_pair(model, dist.given, name, names, x, ctx)
            in_trees |= {name, dist.given}
    for word, value in qw.VALUE_WORDS.items():
        if word in names:
            done += ql.value_word_term(model, word, names, x, ctx)
            in_trees |= {word, value}
    for name in names:
        if name in MRC_FIELDS or name == ONSET or name in in_trees:
            continue  # regional terms are added on the full grid; counts were added with their tree
        done += field_term(model, name, x[name], ctx)
    not_done = np.where(any_observed[:, None], -np.inf, log_not_done[None, :])
    return np.logaddexp(done, not_done)


def _regional_log_lik(model: CohortModel, x: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """(n, G) log-likelihood of the given MRC grades and/or onset region on the full grid (test done)."""
    states, expand = ql.strength_states(model)
    out = grades_log_lik(model, x, names, states)[:, expand]
    if ONSET not in names:
        return out
    rho = model.record_probability(ONSET)[model.full.reduced_index][None, :]
    onset_codes = np.array([(fields()[ONSET].values or ()).index(o) for o in model.full.onset])
    n_onsets = len(fields()[ONSET].values or ())
    recorded = np.arange(n_onsets)[:, None]  # each recordable onset, then none recorded: a table (n_onsets + 1, G)
    eps = atypical_rate()
    match = np.log(np.where(recorded == onset_codes[None, :], 1.0 - eps, 0.0) + eps / n_onsets)
    table = np.concatenate([np.log(rho) + match, np.log(np.maximum(1.0 - rho, TINY))])
    o = x[ONSET]
    out += table[np.where(np.isnan(o), n_onsets, np.nan_to_num(o)).astype(int)]
    return out
