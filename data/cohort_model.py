"""The generative model shared by the sampler (generator.py) and the exact posterior (posterior.py).

Given the latents, every finding is independent. Whether it is written down is the reporting model:
the document the record comes from (tertiary work-up, referral letter, case report) decides which
sections of the work-up are reported at all; within a reported section a test may not have been done
(blocks of fields done together, ordered at disease-specific rates); within a done test each finding
is written down at the document's rate, unremarkable values (MRC 5, "none", 0 nerves, False) less
often - except the pertinent negatives and the things nearly always stated, whose recording does not
depend on their value. Every decision depends only on the latents and the field's own value, so the
posterior stays exact: it sums them out section by section.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data._column_checks import NULL_CODE
from mmn_ddx.data.column_readers import read_frame
from mmn_ddx.data.contract import DIAGNOSES, FEATURE_FIELDS, MRC_FIELDS, fields
from mmn_ddx.data.distributions import LOG_TINY, TINY, Distribution, build
from mmn_ddx.data.latents import (
    STAGE_KEYS,
    WORLD_CACHE_SIZE,
    FullGrid,
    ReducedGrid,
    full_grid,
    load_priors,
    mrc_atypical_rate,
    pattern_scale,
    reduced_grid,
    resolve,
    world_key,
)
from mmn_ddx.data.qualitative import per_document, word_fields
from mmn_ddx.data.workup_age import DURATION

ONSET = "onset_region"
ALWAYS_RECORDED = ("age_at_onset_years", "sex")
BLOCK_FLAG = "sensory_normal_across_cb"
BLOCK_COUNTS = ("nerves_definite_cb", "nerves_probable_cb")
"""The flag exists only where there is a block (EFNS/PNS 2010 N3): at least one definite or probable CB."""
GRADES = 6  # MRC 0..5
STYLED_CACHE, WORDS_CACHE = "_styled", "_qualitative"
"""Per-model caches that ``data/_qualitative_likelihood.py`` derives from the distributions (record styles,
findings as written in words): a view with other distributions starts without them."""
STRENGTH_CACHE = "_strength_states"
"""Per-model cache of ``_qualitative_likelihood.strength_states`` (from the MRC table and record rates: a
record style's view, whose rates differ, starts without it)."""
P_WEAK_MAX = 0.995
"""A weakness pattern may raise a region's p_weak up to this (or its own cited value), never to certainty."""


@dataclass(frozen=True)
class Block:
    """Fields recorded together when their test was done (e.g. all NCS counts)."""

    name: str
    fields: tuple[str, ...]
    log_done: np.ndarray      # (R,) log P(test done | latent)
    log_not_done: np.ndarray  # (R,)


@dataclass(frozen=True)
class Section:
    """A part of the work-up that a document reports or omits as a whole (e.g. the laboratory)."""

    name: str
    blocks: tuple[Block, ...]
    log_report: np.ndarray      # (R,) log P(section reported | document)
    log_not_report: np.ndarray  # (R,)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for block in self.blocks for name in block.fields)

    @property
    def always_reported(self) -> bool:
        return bool(np.all(self.log_report == 0.0))


class CohortModel:
    """All distributions, recording probabilities and blocks, resolved onto the latent grids."""

    def __init__(self) -> None:
        self.priors = load_priors()
        self.reduced: ReducedGrid = reduced_grid()
        self.full: FullGrid = full_grid()
        self.dists: dict[str, Distribution] = {}
        for name in fields():
            kind = self._kind(name)
            if kind is not None:
                self.dists[name] = build(name, self.reduced, kind)
        self.dists[DURATION] = duration_distribution(self.reduced)
        _nest_counts(self.dists)
        self.mrc_table = self._mrc_table()
        reporting = self.priors["reporting"]
        c = self.reduced.document
        self.record_rate = np.array(reporting["record_rate"], dtype=float)[c]
        self.unremarkable_factor = np.array(reporting["unremarkable_factor"], dtype=float)[c]
        self.sections = self._sections()
        self.blocks = [block for section in self.sections for block in section.blocks]
        self._record: dict[str, np.ndarray] = {}

    def _kind(self, name: str) -> str | None:
        spec = self.priors["diseases"][DIAGNOSES[0]]["fields"]
        if name in spec:
            return spec[name]["kind"]
        return None  # patient_id, MRC (regional model), onset (a latent), duration (stage model)

    def with_distributions(self, dists: dict[str, Distribution]) -> CohortModel:
        """A view of this model with some findings' distributions replaced (the world fit's E-step moves the
        finding rates); the views derived from the model (record styles, recorded words, strength states) start
        empty."""
        view = copy.copy(self)
        view.__dict__ = {k: v for k, v in self.__dict__.items() if k not in (STYLED_CACHE, WORDS_CACHE, STRENGTH_CACHE)}
        view.dists = {**self.dists, **dists}
        return view

    # --- recording ---------------------------------------------------------------------------
    def record_probability(self, name: str) -> np.ndarray:
        """(R,) P(written down | section reported, test done, notable value)."""
        if name not in self._record:
            self._record[name] = self._record_probability(name)
        return self._record[name]

    def unremarkable_record_factor(self, name: str) -> np.ndarray:
        """(R,) relative rate of writing down an unremarkable value; 1 where recording ignores the value
        (pertinent negatives, the things nearly always stated)."""
        reporting = self.priors["reporting"]
        if name in reporting["field_record"] or name in reporting["pertinent_negatives"] or name in word_fields():
            return np.ones(len(self.reduced))
        return self.unremarkable_factor

    def _record_probability(self, name: str) -> np.ndarray:
        if name in word_fields():  # a sentence in words states the finding whichever way it went
            return per_document("record", self.reduced)
        stated = self.priors["reporting"]["field_record"]
        rate = np.array(stated[name], dtype=float)[self.reduced.document] if name in stated else self.record_rate
        factor = np.ones(len(self.reduced))
        if name in self.priors["diseases"][DIAGNOSES[0]]["fields"]:
            spec = self.priors["diseases"]
            factor = np.array([
                float(resolve(spec[DIAGNOSES[d]]["fields"][name].get("record", 1.0), p, STAGE_KEYS[s]))
                for d, p, s in zip(self.reduced.diagnosis, self.reduced.phenotype, self.reduced.stage, strict=True)
            ])
        return rate * factor

    def _sections(self) -> list[Section]:
        blocks = {block.name: block for block in self._blocks()}
        sections = []
        for name, spec in self.priors["reporting"]["sections"].items():
            report = np.array(spec["report"], dtype=float)[self.reduced.document]
            with np.errstate(divide="ignore"):
                sections.append(Section(name, tuple(blocks.pop(b) for b in spec["blocks"]),
                                        np.log(np.maximum(report, TINY)), np.log(np.maximum(1.0 - report, TINY))))
        assert not blocks, f"blocks in no reporting section: {sorted(blocks)}"
        for section in sections:
            assert ONSET not in section.fields or np.all(section.log_not_report <= LOG_TINY), \
                "the onset region is stated in the history, a section every document reports"
        return sections

    def _blocks(self) -> list[Block]:
        blocks = []
        test_factor = np.array(self.priors["reporting"]["test_rate_factor"], dtype=float)[self.reduced.document]
        for name, spec in self.priors["blocks"].items():
            regional = set(spec["fields"]) & (set(MRC_FIELDS) | {ONSET})
            assert not regional or spec.get("always_done"), "the posterior adds MRC/onset terms outside their block"
            if spec.get("always_done"):
                done = np.ones(len(self.reduced))
            else:
                rate = np.array([spec["rate"][DIAGNOSES[d]] for d in self.reduced.diagnosis], dtype=float)
                done = np.clip(rate * test_factor, 0.0, 1.0)
            with np.errstate(divide="ignore"):
                blocks.append(Block(name, tuple(spec["fields"]), np.log(np.maximum(done, TINY)),
                                    np.log(np.maximum(1.0 - done, TINY))))
        return blocks

    # --- regional MRC pattern ---------------------------------------------------------------------
    def _mrc_table(self) -> np.ndarray:
        """(G, 8 regions, 6 grades): P(MRC grade) per full latent state and region.

        A state's rows depend only on its diagnosis, phenotype, stage, severity, onset, side and pattern;
        many states share them (they differ in latents the MRC grades ignore), so each distinct key is
        computed once: building a world's cohort model is then cheap enough to draw many worlds."""
        spec = self.priors["diseases"]
        table = np.zeros((len(self.full), len(MRC_FIELDS), GRADES))
        levels = self.priors["severity_levels"]
        rows: dict[tuple[Any, ...], np.ndarray] = {}
        for g in range(len(self.full)):
            r = self.full.reduced_index[g]
            d, p, s = DIAGNOSES[self.reduced.diagnosis[r]], self.reduced.phenotype[r], STAGE_KEYS[self.reduced.stage[r]]
            key = (d, p, s, self.full.severity[g], self.full.onset[g], self.full.side[g], self.full.pattern[g])
            if key not in rows:
                rows[key] = self._mrc_rows(spec[d]["fields"]["mrc"], p, s, levels[self.full.severity[g]],
                                           self.full.onset[g], self.full.side[g], self.full.pattern[g])
            table[g] = rows[key]
        eps = mrc_atypical_rate()
        return (1.0 - eps) * table + eps / GRADES

    @staticmethod
    def _mrc_rows(mrc: Mapping[str, Any], p: str, s: str, level: str, onset: str, side: int,
                  pattern: str) -> np.ndarray:
        """(8 regions, 6 grades) for one key of :meth:`_mrc_table`, before the atypical-grade floor."""
        grades = resolve(mrc["grades"], p, s)[level]
        out = np.zeros((len(MRC_FIELDS), GRADES))
        for j, region in enumerate(MRC_FIELDS):
            role = _mrc_role(region, onset, side)
            p_weak = float(resolve(mrc["p_weak"][role], p, s))
            scale = pattern_scale(mrc, pattern, role, p, s)
            p_weak = min(max(p_weak, P_WEAK_MAX), p_weak * scale) if scale > 1 else p_weak * scale
            weak = np.array(grades["affected" if role.endswith("affected") else "other"], dtype=float)
            out[j, 5] = 1 - p_weak
            out[j, 4::-1] = p_weak * weak / weak.sum()  # grades 4, 3, 2, 1, 0
        return out


def _nest_counts(dists: dict[str, Distribution]) -> None:
    """A count drawn among another count (``n_from`` a count) gets rate p / p_parent, so its cited
    per-nerve rate ``p`` is kept while it never exceeds its parent (in place)."""
    from mmn_ddx.data.distributions import Binomial

    for name, dist in dists.items():
        if isinstance(dist, Binomial) and isinstance(dists.get(dist.n_from), Binomial):
            parent = dists[dist.n_from]
            assert isinstance(parent, Binomial) and not isinstance(dists.get(parent.n_from), Binomial), name
            assert np.all(dist.p <= parent.p + 1e-12), f"{name}: per-nerve rate above {dist.n_from}'s"
            dist.p = np.where(parent.p > 0, dist.p / np.maximum(parent.p, TINY), 0.0)


def _mrc_role(region: str, onset: str, side: int) -> str:
    """e.g. 'primary_distal_affected': the onset limb, distal level, on the more-affected side."""
    _, limb, level, laterality = region.split("_")
    primary = (onset == "upper_limb" and limb == "arm") or (onset == "lower_limb" and limb == "leg")
    affected = (laterality == "left") == (side == 0)
    return f"{'primary' if primary else 'secondary'}_{level}_{'affected' if affected else 'other'}"


def duration_distribution(grid: ReducedGrid) -> Distribution:
    """Symptom duration: truncated log-normal whose median is set by the disease stage."""
    from mmn_ddx.data.distributions import RoundedContinuous

    stage = load_priors()["diseases"]
    dist = RoundedContinuous.__new__(RoundedContinuous)
    dist.name, dist.log_scale, dist.decimals = DURATION, True, 1
    rows = [stage[DIAGNOSES[d]]["stage"] for d in grid.diagnosis]
    medians = [resolve(row["duration_median_months"], p, "")[s]
               for row, p, s in zip(rows, grid.phenotype, grid.stage, strict=True)]
    dist.mu = np.log(np.array(medians, dtype=float))[:, None]
    dist.sigma = np.array([row["duration_sigma"] for row in rows], dtype=float)[:, None]
    dist.lo = np.array([row["duration_range"][0] for row in rows], dtype=float)
    dist.hi = np.array([row["duration_range"][1] for row in rows], dtype=float)
    dist.half = np.full(len(grid), 0.05)
    dist.shift = np.zeros(len(grid))
    dist.slope = np.zeros(len(grid))
    dist.weights = np.ones((len(grid), 1))
    dist.set_broad()
    return dist


def mrc_grade_code(values: np.ndarray) -> np.ndarray:
    """Map a recorded MRC grade onto the generator's integer grades; any value below 5 is weak.

    4.5 ("4+") counts as 4, 3.5 as 4, 2.5 as 3 (round half up), 5 stays 5.
    """
    graded = np.minimum(np.floor(values + 0.5), 4.0)
    return np.where(values >= 5, 5.0, graded)


def encode(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Canonical frame -> float codes per field present (categories by index, booleans 0/1, NaN = null).

    Read by :func:`data.column_readers.read_frame`, the one checked reader of a cohort frame, so a value
    outside the dictionary is refused naming its field and rows rather than read as a null; only the
    category codes' null (-1 there) becomes NaN here, the likelihood's one null.
    """
    present = [name for name in FEATURE_FIELDS if name in frame.columns]
    arrays = read_frame(frame.loc[:, present], present).arrays
    out = {name: np.where(array == NULL_CODE, np.nan, array) if array.dtype.kind == "i" else array
           for name, array in arrays.items()}
    for name in MRC_FIELDS:
        if name in out:
            out[name] = mrc_grade_code(out[name])
    return out


def cohort_model() -> CohortModel:
    """The model of the world in use (by default the literature world), built once per world."""
    return _cohort_model(world_key())


@lru_cache(maxsize=WORLD_CACHE_SIZE)
def _cohort_model(key: str) -> CohortModel:
    return CohortModel()
