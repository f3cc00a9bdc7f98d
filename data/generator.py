"""Synthetic cohort generator: samples patients from the latent-class model in ``priors.yaml``.

No real MMN/MND/CIDP/MADSAM cohort is openly available (literature-priors.md section 11), so models
are trained on patients drawn from this documented model; ``data.exact_posterior.posterior`` gives the
exact Bayes-optimal p(diagnosis | recorded findings) under the same model, the ceiling for every
trained model.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mmn_ddx.data.cohort_model import ALWAYS_RECORDED, BLOCK_COUNTS, BLOCK_FLAG, MRC_FIELDS, ONSET, cohort_model
from mmn_ddx.data.contract import DIAGNOSES, ID_FIELD, LABEL, fields, to_canonical
from mmn_ddx.data.latents import CLASS_PRIOR_PRESETS as CLASS_PRIOR_PRESETS  # re-exported: defined beside the reader
from mmn_ddx.data.latents import atypical_rate, load_priors, normalise_class_priors
from mmn_ddx.data.qualitative import draw_silenced, ungrade_atrophy, word_fields, write_words
from mmn_ddx.data.world import World, WorldMixture

GENERATOR_VERSION: str = str(load_priors()["generator_version"])

# Sampling order: age before CSF protein (age term); nerves studied before the counts among them, the
# demyelinating nerves before the counts of each parameter among them; the reflexes before the UMN signs.
_FIRST = ("age_at_onset_years", "motor_nerves_studied", "sensory_nerves_studied", "nerves_any_demyelinating",
          "reflexes_affected_limbs")


def sample_latents(n: int, rng: np.random.Generator, class_priors: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Draw each patient's latent state: indices into the reduced and full grids."""
    model = cohort_model()
    priors = normalise_class_priors(class_priors)
    diagnosis = rng.choice(len(DIAGNOSES), size=n, p=priors)
    reduced = np.empty(n, dtype=int)
    full = np.empty(n, dtype=int)
    for d in range(len(DIAGNOSES)):
        who = np.flatnonzero(diagnosis == d)
        states = np.flatnonzero(model.reduced.diagnosis == d)
        w = np.exp(model.reduced.log_weight[states])
        reduced[who] = rng.choice(states, size=len(who), p=w / w.sum())
    for r in np.unique(reduced):
        who = np.flatnonzero(reduced == r)
        states = np.flatnonzero(model.full.reduced_index == r)
        w = np.exp(model.full.log_weight[states])
        full[who] = rng.choice(states, size=len(who), p=w / w.sum())
    return pd.DataFrame({"diagnosis": diagnosis, "reduced": reduced, "full": full})


def _sample_values(latents: pd.DataFrame, rng: np.random.Generator, complete: bool = False) -> dict[str, np.ndarray]:
    model = cohort_model()
    r, g = latents["reduced"].to_numpy(), latents["full"].to_numpy()
    values: dict[str, np.ndarray] = {}
    ctx: dict[str, np.ndarray] = {}
    order = list(_FIRST) + [name for name in model.dists if name not in _FIRST]
    for name in order:
        values[name] = model.dists[name].sample(rng, r, ctx)
        if name == "age_at_onset_years":
            ctx["age"] = values[name]
        elif name in _FIRST:
            ctx[name] = values[name]
    no_block = sum(values[name] for name in BLOCK_COUNTS) == 0
    values[BLOCK_FLAG] = np.where(no_block, np.nan, values[BLOCK_FLAG])  # nothing to be normal across
    for j, name in enumerate(MRC_FIELDS):
        cdf = np.cumsum(model.mrc_table[g, j], axis=1)
        values[name] = (rng.random(len(g))[:, None] > cdf[:, :-1]).sum(axis=1).astype(float)
    onsets = fields()[ONSET].values or ()
    onset = np.array([onsets.index(o) for o in model.full.onset], dtype=float)[g]
    atypical = rng.integers(0, len(onsets), size=len(g)).astype(float)
    values[ONSET] = np.where(rng.random(len(g)) < atypical_rate(), atypical, onset)
    write_words(values, r, model.reduced, rng, complete, model.full.onset[g])
    return values


def _apply_recording(values: dict[str, np.ndarray], latents: pd.DataFrame, rng: np.random.Generator) -> None:
    """The reporting model (in place): blank out the sections the document omits, the tests not done,
    and the findings not written down."""
    model = cohort_model()
    r = latents["reduced"].to_numpy()
    ungrade_atrophy(values, r, model.reduced, rng)
    words = set(word_fields())
    for section in model.sections:
        reported = rng.random(len(r)) < np.exp(section.log_report[r])
        silenced = draw_silenced(section.name, r, model.reduced, rng)
        for block in section.blocks:
            done = reported & (rng.random(len(r)) < np.exp(block.log_done[r]))
            for name in block.fields:
                x = values[name]
                if name in silenced:
                    x = np.where(silenced[name], np.nan, x)
                if name in MRC_FIELDS:
                    unremarkable = x == 5
                elif name == ONSET or name in words:
                    unremarkable = np.zeros(len(x), dtype=bool)
                else:
                    unremarkable = model.dists[name].is_unremarkable(x)
                kappa = model.unremarkable_record_factor(name)[r]
                rho = model.record_probability(name)[r] * np.where(unremarkable, kappa, 1.0)
                values[name] = np.where(done & (rng.random(len(r)) < rho), x, np.nan)


def _decode(values: dict[str, np.ndarray]) -> pd.DataFrame:
    columns: dict[str, object] = {}
    for name, spec in fields().items():
        if name not in values:
            continue
        x = values[name]
        if spec.type == "category":
            codes = np.nan_to_num(x, nan=-1).astype(int)
            columns[name] = pd.Categorical.from_codes(codes, categories=list(spec.values or ()))
        elif spec.type == "bool":
            columns[name] = pd.array(np.where(np.isnan(x), None, x == 1), dtype="boolean")
        else:
            columns[name] = x
    return pd.DataFrame(columns)


def generate_cohort(n: int, seed: int = 0, class_priors: Mapping[str, float] | None = None,
                    return_latents: bool = False, complete: bool = False,
                    world: World | WorldMixture | None = None) -> pd.DataFrame:
    """Generate ``n`` synthetic patients with their diagnosis (canonical contract dtypes).

    ``class_priors`` maps diagnosis to weight (default: balanced, the recommended training prior).
    ``return_latents`` adds the latent phenotype, stage, document, side and weakness pattern (columns
    prefixed ``latent_``) for tests and generator diagnostics; these are not contract fields.
    ``complete`` skips the reporting model: every test done and every finding written down, the
    "complete work-up" on which published figures are compared (data/fidelity.py).
    ``world``: the parameters (default: the literature world); a :class:`WorldMixture` draws each
    patient's world uniformly among its worlds (``latent_world`` with ``return_latents``).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if isinstance(world, WorldMixture):
        return _mixture_cohort(n, seed, class_priors, return_latents, complete, world)
    if world is not None:
        with world.active():
            return generate_cohort(n, seed, class_priors, return_latents, complete)
    rng = np.random.default_rng(seed)
    latents = sample_latents(n, rng, class_priors)
    values = _sample_values(latents, rng, complete)
    if not complete:
        _apply_recording(values, latents, rng)
    frame = _decode(values)
    frame[ID_FIELD] = [f"SYN-{seed}-{i:06d}" for i in range(n)]
    frame[LABEL] = pd.Categorical.from_codes(latents["diagnosis"].to_numpy(), categories=list(DIAGNOSES))
    frame = to_canonical(frame)
    if return_latents:
        model = cohort_model()
        r = latents["reduced"].to_numpy()
        documents = np.array(model.priors["reporting"]["documents"], dtype=object)
        stages = np.array(model.priors["stages"]["levels"], dtype=object)
        frame["latent_phenotype"] = model.reduced.phenotype[r]
        frame["latent_stage"] = stages[model.reduced.stage[r]]
        frame["latent_document"] = documents[model.reduced.document[r]]
        frame["latent_side"] = np.where(model.full.side[latents["full"].to_numpy()] == 0, "left", "right")
        frame["latent_pattern"] = model.full.pattern[latents["full"].to_numpy()]
    assert all(frame[name].notna().all() for name in ALWAYS_RECORDED)
    return frame


def _mixture_cohort(n: int, seed: int, class_priors: Mapping[str, float] | None, return_latents: bool,
                    complete: bool, mixture: WorldMixture) -> pd.DataFrame:
    """Each patient from one world of the mixture, drawn uniformly; identifiers as for one world."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, len(mixture.worlds)]))
    which = rng.integers(len(mixture.worlds), size=n)
    seeds = rng.integers(2**62, size=len(mixture.worlds))
    parts = []
    for k in np.unique(which):
        rows = np.flatnonzero(which == k)
        part = generate_cohort(len(rows), int(seeds[k]), class_priors, return_latents, complete, mixture.worlds[k])
        part.index = rows
        if return_latents:
            part["latent_world"] = int(k)
        parts.append(part)
    frame = pd.concat(parts).sort_index()
    frame[ID_FIELD] = [f"SYN-{seed}-{i:06d}" for i in range(n)]
    return frame.reset_index(drop=True)
