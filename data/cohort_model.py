"""The generative model shared by the sampler (generator.py) and the exact posterior (posterior.py).

Given the latents, every finding is independent; whether it is written down depends on the work-up
completeness, on whether its test was ordered at all (blocks of fields done together, ordered at
disease-specific rates), and on the value itself: unremarkable findings (MRC 5, "none", 0 nerves,
False) are left out of sparse records more often than abnormal ones. Because that self-masking
depends only on the field's own value, the posterior stays exact and closed-form.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from mmn_ddx.data.contract import DIAGNOSES, MRC_FIELDS, fields
from mmn_ddx.data.distributions import TINY, Distribution, build
from mmn_ddx.data.latents import STAGE_KEYS, FullGrid, ReducedGrid, atypical_rate, full_grid, load_priors, reduced_grid, resolve

ONSET = "onset_region"
DURATION = "symptom_duration_months"
ALWAYS_RECORDED = ("age_at_onset_years", "sex")
GRADES = 6  # MRC 0..5


@dataclass(frozen=True)
class Block:
    """Fields recorded together when their test was done (e.g. all NCS counts)."""

    name: str
    fields: tuple[str, ...]
    log_done: np.ndarray      # (R,) log P(test done | latent)
    log_not_done: np.ndarray  # (R,)


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
        self.dists[DURATION] = _duration(self.reduced)
        self.mrc_table = self._mrc_table()
        self.blocks = self._blocks()
        completeness = self.priors["completeness"]
        c = self.reduced.completeness
        self.record_rate = np.array(completeness["record_rate"], dtype=float)[c]
        self.unremarkable_factor = np.array(completeness["unremarkable_factor"], dtype=float)[c]
        self._record: dict[str, np.ndarray] = {}

    def _kind(self, name: str) -> str | None:
        spec = self.priors["diseases"][DIAGNOSES[0]]["fields"]
        if name in spec:
            return spec[name]["kind"]
        return None  # patient_id, MRC (regional model), onset (a latent), duration (stage model)

    # --- recording ---------------------------------------------------------------------------
    def record_probability(self, name: str) -> np.ndarray:
        """(R,) P(written down | done, notable value); unremarkable values get the completeness factor."""
        if name not in self._record:
            self._record[name] = self._record_probability(name)
        return self._record[name]

    def _record_probability(self, name: str) -> np.ndarray:
        if name in ALWAYS_RECORDED:
            return np.ones(len(self.reduced))
        factor = np.ones(len(self.reduced))
        if name in self.priors["diseases"][DIAGNOSES[0]]["fields"]:
            spec = self.priors["diseases"]
            factor = np.array([
                float(resolve(spec[DIAGNOSES[d]]["fields"][name].get("record", 1.0), p, STAGE_KEYS[s]))
                for d, p, s in zip(self.reduced.diagnosis, self.reduced.phenotype, self.reduced.stage)
            ])
        return self.record_rate * factor

    def _blocks(self) -> list[Block]:
        blocks = []
        test_factor = np.array(self.priors["completeness"]["test_rate_factor"], dtype=float)[self.reduced.completeness]
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
        """(G, 8 regions, 6 grades): P(MRC grade) per full latent state and region."""
        spec = self.priors["diseases"]
        table = np.zeros((len(self.full), len(MRC_FIELDS), GRADES))
        levels = self.priors["severity_levels"]
        for g in range(len(self.full)):
            r = self.full.reduced_index[g]
            d, p, s = DIAGNOSES[self.reduced.diagnosis[r]], self.reduced.phenotype[r], STAGE_KEYS[self.reduced.stage[r]]
            mrc = spec[d]["fields"]["mrc"]
            grades = resolve(mrc["grades"], p, s)[levels[self.full.severity[g]]]
            for j, region in enumerate(MRC_FIELDS):
                role = _mrc_role(region, self.full.onset[g], self.full.side[g])
                p_weak = float(resolve(mrc["p_weak"][role], p, s))
                weak = np.array(grades["affected" if role.endswith("affected") else "other"], dtype=float)
                table[g, j, 5] = 1 - p_weak
                table[g, j, 4::-1] = p_weak * weak / weak.sum()  # grades 4, 3, 2, 1, 0
        eps = atypical_rate()
        return (1.0 - eps) * table + eps / GRADES


def _mrc_role(region: str, onset: str, side: int) -> str:
    """e.g. 'primary_distal_affected': the onset limb, distal level, on the more-affected side."""
    _, limb, level, laterality = region.split("_")
    primary = (onset == "upper_limb" and limb == "arm") or (onset == "lower_limb" and limb == "leg")
    affected = (laterality == "left") == (side == 0)
    return f"{'primary' if primary else 'secondary'}_{level}_{'affected' if affected else 'other'}"


def _duration(grid: ReducedGrid) -> Distribution:
    """Symptom duration: truncated log-normal whose median is set by the disease stage."""
    from mmn_ddx.data.distributions import RoundedContinuous

    stage = load_priors()["diseases"]
    dist = RoundedContinuous.__new__(RoundedContinuous)
    dist.name, dist.log_scale, dist.decimals = DURATION, True, 1
    rows = [stage[DIAGNOSES[d]]["stage"] for d in grid.diagnosis]
    medians = [resolve(row["duration_median_months"], p, "")[s] for row, p, s in zip(rows, grid.phenotype, grid.stage)]
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
    """Canonical frame -> float codes per field (categories by index, booleans 0/1, NaN = null)."""
    out: dict[str, np.ndarray] = {}
    for name, spec in fields().items():
        if name not in frame.columns or spec.type == "string":
            continue
        col = frame[name]
        if spec.type == "category":
            codes = pd.Categorical(col, categories=list(spec.values)).codes.astype(float)
            out[name] = np.where(codes < 0, np.nan, codes)
        else:
            out[name] = col.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    for name in MRC_FIELDS:
        if name in out:
            out[name] = mrc_grade_code(out[name])
    return out


@cache
def cohort_model() -> CohortModel:
    return CohortModel()
