"""Pattern of weakness from the eight regional MRC grades and the count of weak nerve territories.

The distinctions clinicians draw first are all about the *pattern*: MMN is asymmetric, distal and
arm-predominant in individual nerve territories (EFNS/PNS 2010, core criterion C1 and supportive S3);
typical CIDP is symmetric, proximal *and* distal, in all four limbs (EAN/PNS 2021); MADSAM is
multifocal and usually asymmetric; MND weakens by region with contiguous spread (Ravits 2009).

Each MRC field is the weakest muscle of its region (data dictionary), so "weakness" is ``5 - grade``
and a limb's weakness is the larger of its proximal and distal values (criteria.md 0.2). Partial
examinations are common in letters and case reports: every summary is computed over the regions that
were recorded, is NaN when none were, and ``mrc_regions_recorded`` tells the model how many there were.

Reports without grades describe the pattern in words (contract v2: ``weakness_symmetry``,
``weakness_predominance``, ``weak_arms``, ``weak_legs``). Where the same finding is meant, the words feed
the grade-based column (either source establishes it, :func:`features._base.either`): asymmetric weakness,
no weakness (worst weakness 0), the number of weak limbs, symmetric four-limb weakness, distal
predominance and weakness confined to the arms. The magnitudes (grades, differences, indices) stay
grade-only: words give no number.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from mmn_ddx.data import MRC_FIELDS, MRC_REGIONS, Columns
from mmn_ddx.features._base import (
    ContractTransformer,
    Features,
    above,
    at_least,
    column_matrix,
    either,
    fraction,
    row_count,
    row_max,
)
from mmn_ddx.features._stated_weakness import FIELDS as STATED_FIELDS
from mmn_ddx.features._stated_weakness import stated_findings
from mmn_ddx.features.criteria import thresholds as T
from mmn_ddx.features.criteria._derived import grades_asymmetric

REGIONS: tuple[str, ...] = MRC_REGIONS
SIDES: tuple[str, ...] = ("left", "right")
_DISTAL = np.array(["distal" in name for name in MRC_FIELDS])
_ARM = np.array(["_arm_" in name for name in MRC_FIELDS])
_COLUMNS = {True: (np.flatnonzero(_DISTAL), np.flatnonzero(~_DISTAL)),
            False: (np.flatnonzero(_ARM), np.flatnonzero(~_ARM))}
"""For :meth:`WeaknessFeatures._difference`: the distal and the proximal columns, the arm and the leg columns (index
arrays: a mask is turned into one on every use)."""

LIMBS: dict[str, tuple[str, str]] = {
    "arm_left": ("mrc_arm_proximal_left", "mrc_arm_distal_left"),
    "arm_right": ("mrc_arm_proximal_right", "mrc_arm_distal_right"),
    "leg_left": ("mrc_leg_proximal_left", "mrc_leg_distal_left"),
    "leg_right": ("mrc_leg_proximal_right", "mrc_leg_distal_right"),
}

FULL_STRENGTH = T.MRC_NORMAL

WORDS = STATED_FIELDS
"""The contract v2 fields describing the weakness in words (weakness_symmetry, weakness_predominance, weak_arms,
weak_legs)."""


def weakness_matrix(columns: Columns) -> np.ndarray:
    """``5 - MRC grade`` for the eight regions (n x 8, region-major), NaN where not recorded."""
    return columns.cached("weakness", lambda: FULL_STRENGTH - column_matrix([columns[name] for name in MRC_FIELDS]))


def limb_weakness(columns: Columns) -> np.ndarray:
    """Weakness of each limb (n x 4: arm L/R, leg L/R) = worst recorded region of the limb."""
    return columns.cached("limb_weakness", lambda: _limb_weakness(columns))


def _limb_weakness(columns: Columns) -> np.ndarray:
    weakness = weakness_matrix(columns)
    index = {name: j for j, name in enumerate(MRC_FIELDS)}
    return column_matrix([np.fmax(weakness[:, index[prox]], weakness[:, index[dist]]) for prox, dist in LIMBS.values()])


def pair_asymmetric(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """EFNS/PNS 2010 asymmetry of left/right pairs of MRC *grades*, False where either is null (the
    criteria's rule, :func:`features.criteria._derived.grades_asymmetric`, known to hold)."""
    return grades_asymmetric(left, right).true


def _pairs_weak(columns: Columns) -> tuple[np.ndarray, np.ndarray]:
    """Whether an arm is weak and whether a leg is (1 / 0 / NaN each), from the grades or the words; NaN if
    neither tells. Both pairs in one pass (the limbs' weakness as arms/legs x sides), read once per read."""

    def compute() -> tuple[np.ndarray, np.ndarray]:
        limbs = limb_weakness(columns).reshape(-1, 2, 2)  # (n, arms/legs, left/right): LIMBS' order
        graded = np.where((limbs > 0).any(axis=2), 1.0, np.where((limbs == 0).all(axis=2), 0.0, np.nan))
        stated = stated_findings(columns)
        return either(graded[:, 0], stated["arms_weak"]), either(graded[:, 1], stated["legs_weak"])

    return columns.cached("pairs_weak", compute)


def arms_weak(columns: Columns) -> np.ndarray:
    """Whether any arm is weak (1 / 0 / NaN), from the MRC grades, ``weak_arms`` or "no weakness"."""
    return _pairs_weak(columns)[0]


def legs_weak(columns: Columns) -> np.ndarray:
    """Whether any leg is weak (1 / 0 / NaN), from the MRC grades, ``weak_legs`` or "no weakness"."""
    return _pairs_weak(columns)[1]


class WeaknessFeatures(ContractTransformer):
    """Regional weakness, asymmetry (incl. the EFNS rule), predominance and a multifocal-pattern score."""

    input_fields: ClassVar[tuple[str, ...]] = (*MRC_FIELDS, "weak_nerve_territories", *WORDS)

    def _compute(self, columns: Columns) -> Features:
        weakness, stated = weakness_matrix(columns), stated_findings(columns)
        out: Features = {f"weakness_{name[4:]}": weakness[:, j] for j, name in enumerate(MRC_FIELDS)}
        out["mrc_regions_recorded"] = row_count(weakness)
        graded_max = row_max(weakness)
        stated_weak = (stated["arms_weak"] == 1) | (stated["legs_weak"] == 1)
        # a limb stated weak beside full grades elsewhere: weak, by how much the grades do not say
        out["weakness_max"] = np.where(stated_weak & (graded_max == 0), np.nan,
                                       np.fmax(graded_max, stated["no_weakness"]))
        out["weakness_mean"] = fraction(_sum_known(weakness), out["mrc_regions_recorded"])
        out["weak_regions"] = self._weak_count(weakness)
        out["weak_limbs"] = self._weak_limbs(limb_weakness(columns), stated)
        out.update(self._asymmetry(weakness))
        out["distal_predominance"] = self._difference(weakness, distal=True)
        out["arm_predominance"] = self._difference(weakness, distal=False)
        out["distal_predominant"] = either(above(out["distal_predominance"], 0), stated["distal_predominant"])
        out["arms_only"] = self._arms_only(columns)
        graded_symmetric = self._symmetric_four_limb(weakness, out["efns_asymmetric_pairs"])
        out["symmetric_four_limb_weakness"] = either(graded_symmetric, stated["symmetric_four_limb"])
        out["weak_nerve_territories"] = columns["weak_nerve_territories"]
        out["multifocal_pattern_score"] = self._multifocal_score(columns, out["efns_asymmetric"])
        out["efns_asymmetric"] = either(out["efns_asymmetric"], stated["asymmetric"])
        return out

    @staticmethod
    def _arms_only(columns: Columns) -> np.ndarray:
        """Weakness confined to the arms: an arm weak and no leg weak (1), no arm weak or a leg weak (0)."""
        arms, legs = arms_weak(columns), legs_weak(columns)
        return np.where((arms == 0) | (legs == 1), 0.0, np.where((arms == 1) & (legs == 0), 1.0, np.nan))

    @classmethod
    def _weak_limbs(cls, limbs: np.ndarray, stated: dict[str, np.ndarray]) -> np.ndarray:
        """Weak limbs, arms and legs each from their grades or their words (the larger where both tell): a
        report may grade the arms and describe the legs; NaN when neither pair is known."""
        arms = np.fmax(cls._weak_count(limbs[:, :2]), stated["weak_arm_count"])
        legs = np.fmax(cls._weak_count(limbs[:, 2:]), stated["weak_leg_count"])
        return np.where(np.isnan(arms) & np.isnan(legs), np.nan, np.nan_to_num(arms) + np.nan_to_num(legs))

    @staticmethod
    def _weak_count(weakness: np.ndarray) -> np.ndarray:
        """Recorded regions (or limbs) with any weakness; NaN when none was recorded."""
        recorded = row_count(weakness)
        count = (weakness > 0).sum(axis=1).astype(np.float64)
        return np.where(recorded > 0, count, np.nan)

    @staticmethod
    def _asymmetry(weakness: np.ndarray) -> Features:
        """Per-pair |left - right| grades, EFNS-asymmetric pairs, and a 0-1 asymmetry index.

        The index is sum |L - R| / sum (weakness L + weakness R) over recorded pairs: 0 for perfectly
        symmetric weakness (typical CIDP), 1 when every weak region is weak on one side only.
        """
        left, right = weakness[:, 0::2], weakness[:, 1::2]  # n x 4 each, regions in REGIONS order
        both = ~np.isnan(left) & ~np.isnan(right)
        difference = np.abs(left - right)
        out: Features = {f"asymmetry_{region}": difference[:, j] for j, region in enumerate(REGIONS)}
        asymmetric = pair_asymmetric(FULL_STRENGTH - left, FULL_STRENGTH - right)
        out["efns_asymmetric_pairs"] = np.where(both.any(axis=1), asymmetric.sum(axis=1), np.nan)
        out["efns_asymmetric"] = at_least(out["efns_asymmetric_pairs"], 1)
        totals = np.where(both, left + right, 0.0).sum(axis=1)
        out["asymmetry_index"] = fraction(np.where(both, difference, 0.0).sum(axis=1), totals)
        return out

    @staticmethod
    def _difference(weakness: np.ndarray, *, distal: bool) -> np.ndarray:
        """Worst distal minus worst proximal weakness (or worst arm minus worst leg)."""
        first, second = _COLUMNS[distal]
        return row_max(weakness[:, first]) - row_max(weakness[:, second])

    @staticmethod
    def _symmetric_four_limb(weakness: np.ndarray, asymmetric_pairs: np.ndarray) -> np.ndarray:
        """Symmetric proximal and distal weakness of all four limbs (criteria.md 0.2, typical CIDP).

        0 as soon as one recorded region is at full strength or one pair is EFNS-asymmetric; 1 only if
        all eight regions are recorded and weak; NaN otherwise.
        """
        refuted = (weakness == 0).any(axis=1) | (asymmetric_pairs > 0)
        confirmed = (weakness > 0).all(axis=1) & (asymmetric_pairs == 0)
        return np.where(refuted, 0.0, np.where(confirmed, 1.0, np.nan))

    @staticmethod
    def _multifocal_score(columns: Columns, asymmetric: np.ndarray) -> np.ndarray:
        """Share of the known multifocal signs among: EFNS asymmetry, patchy limbs, >= 2 nerve territories.

        Patchy = at least one weak limb and at least one recorded limb at full strength (1), or all four
        limbs recorded and either all or none weak (0). The mean runs over the known signs only, so a
        partial examination is scored on what was examined; NaN when none is known.
        """
        limbs = limb_weakness(columns)
        weak_limb = (limbs > 0).any(axis=1)
        patchy = np.where(weak_limb & (limbs == 0).any(axis=1), 1.0, np.where(row_count(limbs) == 4, 0.0, np.nan))
        territories = at_least(columns["weak_nerve_territories"], 2)
        signs = column_matrix([asymmetric, patchy, territories])
        return fraction(_sum_known(signs), row_count(signs))


def _sum_known(matrix: np.ndarray) -> np.ndarray:
    """Row sums over the recorded entries: ``np.nansum(matrix, axis=1)`` (zeros in place of NaN, then the same
    sum), without its Python-level checks, which cost several times the sum on a few rows."""
    return np.where(np.isnan(matrix), 0.0, matrix).sum(axis=1)
