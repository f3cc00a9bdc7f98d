"""Exact p(diagnosis | recorded findings) under the generator: the Bayes-optimal ceiling.

The latent states are few (diagnosis x phenotype x stage x document x onset x side x severity x weakness
pattern, a few thousand), so the posterior is an exact sum over them. For each state the likelihood of a record is a
product over the document's sections: a section not reported leaves all its fields null; in a reported
section each test block was done or not (not done: all its fields null); within a done block every
field is either recorded with its value (probability of writing it down x probability of the value)
or left null (marginalised over its value, including the self-masking of unremarkable values). Nerve
counts are binomials over the nerves studied, summed over that number when it was not written down.
Here: the sum over states, sections and worlds; a section's likelihood is in ``data/_section_likelihood.py``,
one field's term in ``data/_field_likelihood.py``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from mmn_ddx.data._field_likelihood import context, nothing_written
from mmn_ddx.data._section_likelihood import styled_section_log_lik
from mmn_ddx.data.cohort_model import CohortModel, cohort_model, encode
from mmn_ddx.data.contract import DIAGNOSES, fields
from mmn_ddx.data.distributions import TINY
from mmn_ddx.data.latents import normalise_class_priors
from mmn_ddx.data.world import World, WorldMixture, in_use

CHUNK = 2048


def posterior(records: pd.DataFrame, class_priors: Mapping[str, float] | None = None,
              exclude: Iterable[str] = (), world: World | WorldMixture | None = None) -> np.ndarray:
    """p(diagnosis | recorded fields), shape (n, 4) in ``DIAGNOSES`` order.

    ``records``: a canonical cohort frame (missing optional columns count as null).
    ``class_priors``: the population the posterior is for (default balanced, like the generator).
    ``exclude``: fields to ignore entirely, e.g. the treatment responses for "at presentation" use;
    an excluded field is marginalised out (as if the record never had that column).
    ``world``: the world the records come from (default: the literature world); for a
    :class:`WorldMixture` the posterior integrates over its worlds, p(d | x) ∝ π_d Σ_k p_k(x | d) / K.
    """
    if isinstance(world, World):
        with world.active():
            return posterior(records, class_priors, exclude)
    if world is not None:
        log_prior = np.log(np.maximum(normalise_class_priors(class_priors), TINY))
        joint = log_likelihoods(records, exclude, world) + log_prior[None, :]
        return np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
    model = cohort_model()
    codes, excluded = _codes(records, exclude)
    n = len(records)
    log_prior = np.log(np.maximum(normalise_class_priors(class_priors), TINY))
    out = np.empty((n, len(DIAGNOSES)))
    for start in range(0, n, CHUNK):
        chunk = {k: v[start : start + CHUNK] for k, v in codes.items()}
        out[start : start + CHUNK] = _posterior_chunk(model, chunk, log_prior, excluded)
    return out


def log_likelihoods(records: pd.DataFrame, exclude: Iterable[str] = (),
                    world: World | WorldMixture | None = None) -> np.ndarray:
    """log p(recorded fields | diagnosis), shape (n, 4): the class-prior-free part of :func:`posterior`.

    For a :class:`WorldMixture`, log Σ_k p_k(x | d) / K (each world's latent weights normalised within diagnosis).
    """
    if isinstance(world, WorldMixture):
        per_world = np.stack([log_likelihoods(records, exclude, w) for w in world.worlds])
        return logsumexp(per_world, axis=0) - np.log(len(world.worlds))
    with in_use(world):
        model = cohort_model()
        codes, excluded = _codes(records, exclude)
        flat = np.zeros(len(DIAGNOSES))
        out = np.empty((len(records), len(DIAGNOSES)))
        for start in range(0, len(records), CHUNK):
            chunk = {k: v[start : start + CHUNK] for k, v in codes.items()}
            out[start : start + CHUNK] = _log_joint_chunk(model, chunk, flat, excluded)
        return out - _log_latent_mass(model)[None, :]


def growing_mixture_posteriors(records: pd.DataFrame, worlds: Sequence[World], sizes: Iterable[int],
                               exclude: Iterable[str] = ()) -> Iterator[tuple[int, np.ndarray]]:
    """(k, the balanced-class posterior of the mixture of the first k of ``worlds``) for each k of ``sizes``.

    Why: how the mixture's posterior improves with its number of worlds (a training mixture's floor or ceiling as a
    learning curve in k) needs every k; one pass over the worlds, each world's likelihoods computed once, gives
    them all. Equal to ``posterior(records, exclude=exclude, world=WorldMixture(worlds[:k]))``.
    """
    wanted = sorted(set(sizes))
    if not wanted or wanted[0] < 1 or wanted[-1] > len(worlds):
        raise ValueError(f"mixture sizes must lie in 1..{len(worlds)} (the worlds given), got {wanted}")
    per_world: list[np.ndarray] = []
    for k, world in enumerate(worlds[: wanted[-1]], 1):
        per_world.append(log_likelihoods(records, exclude, world))
        if k in wanted:  # + log(1/k) and the balanced prior: constants per row, cancelled by the normalisation
            joint = logsumexp(np.stack(per_world), axis=0)
            yield k, np.exp(joint - logsumexp(joint, axis=1, keepdims=True))


def _codes(records: pd.DataFrame, exclude: Iterable[str]) -> tuple[dict[str, np.ndarray], set[str]]:
    """The records as float codes, an excluded or absent field all null (validated exclusions)."""
    excluded = set(exclude)
    unknown = excluded - set(fields())
    if unknown:
        raise ValueError(f"cannot exclude unknown fields: {sorted(unknown)}")
    for name in ("csf_protein_g_per_l", "csf_protein_raised"):
        if "age_at_onset_years" in excluded and name not in excluded:
            raise ValueError(f"{name} depends on age: exclude both or neither")
    codes = encode(records)
    for name in fields():
        if name not in codes or name in excluded:
            codes[name] = np.full(len(records), np.nan)
    return codes, excluded


def _log_latent_mass(model: CohortModel) -> np.ndarray:
    """(4,) log of each diagnosis' total latent weight (0 when the world's weights are normalised)."""
    index = model.full.reduced_index
    total = model.reduced.log_weight[index] + model.full.log_weight
    return np.array([logsumexp(total[model.reduced.diagnosis[index] == d]) for d in range(len(DIAGNOSES))])


def _posterior_chunk(model: CohortModel, x: dict[str, np.ndarray], log_prior: np.ndarray,
                     excluded: set[str]) -> np.ndarray:
    per_diagnosis = _log_joint_chunk(model, x, log_prior, excluded)
    return np.exp(per_diagnosis - logsumexp(per_diagnosis, axis=1, keepdims=True))


def _log_joint_chunk(model: CohortModel, x: dict[str, np.ndarray], log_prior: np.ndarray,
                     excluded: set[str]) -> np.ndarray:
    """(n, 4) log p(record, diagnosis) with class prior ``log_prior``: the per-state joint summed per diagnosis."""
    index = model.full.reduced_index
    weights = (model.reduced.log_weight + log_prior[model.reduced.diagnosis])[index] + model.full.log_weight
    full = _log_state_chunk(model, x, excluded) + weights[None, :]
    return np.stack(
        [logsumexp(full[:, model.reduced.diagnosis[index] == d], axis=1) for d in range(len(DIAGNOSES))],
        axis=1,
    )


def _log_state_chunk(model: CohortModel, x: dict[str, np.ndarray], excluded: set[str]) -> np.ndarray:
    """(n, G) log p(record | full latent state): the findings and their reporting, without the latent weights
    (the world fit's E-step re-weights these as the weights move, ``data/world_fit.py``)."""
    reduced, full = _log_state_parts(model, x, excluded)
    expanded = reduced[:, model.full.reduced_index]
    return expanded if full is None else full + expanded


def _log_state_parts(model: CohortModel, x: dict[str, np.ndarray],
                     excluded: set[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """The (n, R) part of the log-likelihood on the reduced grid and the (n, G) part on the full grid (None
    when no section needed it): their sum, the reduced part expanded, is :func:`_log_state_chunk`."""
    ctx = context(x)
    index = model.full.reduced_index
    reduced = np.zeros((len(ctx["age"]), len(model.reduced)))
    full: np.ndarray | None = None
    for section in model.sections:
        names = [f for f in section.fields if f not in excluded]
        if not names:
            continue
        within, on_full = styled_section_log_lik(model, section, names, x, ctx)
        if not section.always_reported:  # e.g. the history: no mixture over omitting it
            log_report, log_not_report = ((section.log_report[index], section.log_not_report[index]) if on_full
                                          else (section.log_report, section.log_not_report))
            within = log_report[None, :] + within
            unseen = nothing_written(x, names)  # rows with a record in the section were reported: nothing to add
            within[unseen] = np.logaddexp(within[unseen], log_not_report[None, :])
        if on_full:  # the MRC grades live on the full grid
            full = within if full is None else full + within
        else:
            reduced += within
    return reduced, full


def log_state_likelihoods(records: pd.DataFrame, exclude: Iterable[str] = (), world: World | None = None) -> np.ndarray:
    """(n, G) log p(recorded fields | full latent state) of ``world`` (default: literature), without the latent
    weights: the E-step of the world fit (``data/world_fit.py``) adds its own weights to it."""
    with in_use(world):
        model = cohort_model()
        codes, excluded = _codes(records, exclude)
        out = np.empty((len(records), len(model.full)))
        for start in range(0, len(records), CHUNK):
            chunk = {k: v[start : start + CHUNK] for k, v in codes.items()}
            out[start : start + CHUNK] = _log_state_chunk(model, chunk, excluded)
        return out


def record_codes(records: pd.DataFrame) -> dict[str, np.ndarray]:
    """The records as the float codes the likelihood reads (an absent field all null)."""
    return _codes(records, ())[0]


def log_section_likelihoods(model: CohortModel, codes: dict[str, np.ndarray],
                            kept: Collection[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """log p(the recorded fields in ``kept`` | latent state) under ``model``, without the latent weights, as
    its (n, R) part on the reduced grid and its (n, G) part on the full grid (None when nothing needs it).
    ``kept`` should hold whole sections (the log-likelihood is a sum over sections): the world fit
    recomputes only the sections whose finding rates it moves, on a model with its own tables."""
    excluded = set(fields()) - set(kept)
    n = len(next(iter(codes.values())))
    reduced = np.empty((n, len(model.reduced)))
    parts: list[tuple[int, np.ndarray]] = []
    for start in range(0, n, CHUNK):
        chunk = {k: v[start : start + CHUNK] for k, v in codes.items()}
        reduced[start : start + CHUNK], full = _log_state_parts(model, chunk, excluded)
        if full is not None:
            parts.append((start, full))
    if not parts:
        return reduced, None
    out = np.zeros((n, len(model.full)))
    for start, full in parts:
        out[start : start + len(full)] = full
    return reduced, out
