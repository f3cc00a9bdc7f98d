"""Derived helpers shared by several criteria sets, defined once (criteria.md §0.2).

MRC fields grade the weakest muscle of a region (0-5). A region is weak below grade 5; a limb is weak if
its proximal or its distal region is. All helpers are three-valued: a null grade can make a limb "weak:
unknown", but a known weak region makes the limb weak whatever its other region shows.

The clinical rules shared with the features are written here once and imported there: the age-partitioned
CSF protein limit (Breiner 2019), read at the age at work-up of ``data.workup_age`` (the generator writes its
``csf_protein_raised`` at that age too), and the EFNS/PNS 2010 asymmetry rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mmn_ddx.data import MRC_FIELDS, MRC_REGIONS, WORKUP_AGE_FIELDS, compare, compare_value, workup_age_at_most
from mmn_ddx.data import age_at_workup as data_age_at_workup
from mmn_ddx.features.criteria import thresholds as T
from mmn_ddx.features.criteria._logic import SMALL, Bounds, Columns, Tri, all_of, any_of, from_rows
from mmn_ddx.features.criteria._stated import WEAKNESS_FIELDS as STATED_WEAKNESS_FIELDS
from mmn_ddx.features.criteria._stated import no_weakness_stated, numbers_first, stated_weak_limbs, weak_pair_stated

LIMBS: tuple[str, ...] = ("arm_left", "arm_right", "leg_left", "leg_right")
LEVELS: tuple[str, ...] = ("proximal", "distal")
REGIONS: tuple[str, ...] = MRC_REGIONS
"""The four left/right MRC pairs compared for asymmetry (criteria.md §0.2 ``asymmetric_weakness``)."""

ARM_FIELDS: tuple[str, ...] = tuple(f for f in MRC_FIELDS if f.startswith("mrc_arm"))
LEG_FIELDS: tuple[str, ...] = tuple(f for f in MRC_FIELDS if f.startswith("mrc_leg"))
PROXIMAL_FIELDS: tuple[str, ...] = tuple(f for f in MRC_FIELDS if "_proximal_" in f)
CSF_FIELDS: tuple[str, ...] = ("csf_protein_g_per_l", *WORKUP_AGE_FIELDS)
IMMUNOTHERAPY_FIELDS: tuple[str, ...] = ("ivig_response", "corticosteroid_response")


def region_weak(c: Columns, field: str) -> Tri:
    """One MRC region graded below 5."""
    return c.num(field, "<", T.MRC_NORMAL)


def limb_weak(c: Columns, limb: str) -> Tri:
    """``limb_weak[x]``: the weakest muscle of the limb (proximal or distal) is graded < 5."""
    kind, side = limb.split("_")
    return c.cached(
        f"limb_weak:{limb}",
        lambda: region_weak(c, f"mrc_{kind}_proximal_{side}") | region_weak(c, f"mrc_{kind}_distal_{side}"),
    )


def weak_limb_bounds(c: Columns, kind: str) -> Bounds:
    """How many arms (``kind="arm"``) or legs are weak, 0-2, within bounds: the MRC grades, and the number
    stated in words (``weak_arms`` / ``weak_legs``, ``weakness_symmetry: no_weakness``) where the grades leave
    it open. A grade never yields to a word: a known weak limb stays weak."""

    def compute() -> Bounds:
        grades = Bounds.of([limb_weak(c, f"{kind}_{side}") for side in ("left", "right")])
        return grades.stated(weak_pair_stated(c, kind))  # NaN where not stated: the grades' bounds stay

    return c.cached(f"weak_limb_bounds:{kind}", compute)


def limbs_weak_at_least(c: Columns, k: int) -> Tri:
    """``n_limbs_weak >= k`` without imputing unexamined limbs (grades, then the limbs stated weak)."""
    return (weak_limb_bounds(c, "arm") + weak_limb_bounds(c, "leg")).at_least(k)


def limbs_weak_exactly(c: Columns, k: int) -> Tri:
    """``n_limbs_weak == k`` (grades, then the limbs stated weak)."""
    return (weak_limb_bounds(c, "arm") + weak_limb_bounds(c, "leg")).exactly(k)


def pair_weak(c: Columns, kind: str) -> Tri:
    """At least one arm (``kind="arm"``) or leg is weak."""
    return weak_limb_bounds(c, kind).at_least(1)


def nerve_territories_at_least(c: Columns, k: int) -> Tri:
    """``weak_nerve_territories >= k``; where it is not recorded, k limbs stated weak (``weak_arms`` /
    ``weak_legs``) are k nerve territories and no weakness is none (fewer weak limbs decide nothing: one limb
    holds several territories). The grades are not read here, so v1 records keep their verdicts."""
    stated_weak = stated_weak_limbs(c)
    words = Tri(stated_weak >= k, no_weakness_stated(c))
    return numbers_first(c.num("weak_nerve_territories", ">=", k), words)


def grades_asymmetric(left: np.ndarray, right: np.ndarray) -> Tri:
    """EFNS/PNS 2010 C1 footnote, on MRC *grades* of any shape: a left/right pair is asymmetric with >= 1
    grade difference if the weaker side is > 3, >= 2 if it is <= 3; Unknown where either grade is null.
    The one definition: the weakness features and the wording import it."""
    if left.ndim == 1 and len(left) <= SMALL:  # one patient: value by value, the same arithmetic
        rows = [_asymmetric(a, b) for a, b in zip(left.tolist(), right.tolist(), strict=True)]
        return from_rows([r is True for r in rows], [r is False for r in rows], len(rows))  # lists: cheaper here
    if left.ndim == 2 and len(left) <= SMALL:  # a few patients' pairs (the weakness features): the same, as matrices
        pairs = [_asymmetric(a, b) for a, b in zip(left.ravel().tolist(), right.ravel().tolist(), strict=True)]
        return Tri(np.array([r is True for r in pairs], dtype=bool).reshape(left.shape),
                   np.array([r is False for r in pairs], dtype=bool).reshape(left.shape))
    weaker, diff = np.minimum(left, right), np.abs(left - right)
    above = compare(weaker, ">", T.MRC_ASYMMETRY_GRADE_LIMIT)
    return (above & compare(diff, ">=", T.MRC_ASYMMETRY_DIFF_ABOVE_LIMIT)) | (
        ~above & compare(diff, ">=", T.MRC_ASYMMETRY_DIFF_AT_OR_BELOW_LIMIT)
    )


def _asymmetric(left: float, right: float) -> bool | None:
    """:func:`grades_asymmetric` of one pair of grades (None: Unknown)."""
    if left != left or right != right:  # NaN: not graded
        return None
    limit = T.MRC_ASYMMETRY_DIFF_ABOVE_LIMIT if min(left, right) > T.MRC_ASYMMETRY_GRADE_LIMIT else (
        T.MRC_ASYMMETRY_DIFF_AT_OR_BELOW_LIMIT)
    return compare_value(abs(left - right), ">=", limit)


def pair_asymmetric(c: Columns, region: str) -> Tri:
    """One regional left/right MRC pair, asymmetric by the EFNS/PNS 2010 rule (:func:`grades_asymmetric`)."""
    return grades_asymmetric(c.number(f"mrc_{region}_left"), c.number(f"mrc_{region}_right"))


def asymmetric_weakness(c: Columns) -> Tri:
    """Any of the four regional left/right MRC pairs is asymmetric (criteria.md §0.2)."""
    return c.cached("asymmetric", lambda: any_of(*(pair_asymmetric(c, r) for r in REGIONS)))


WEAKNESS_FIELDS: tuple[str, ...] = (*MRC_FIELDS, *STATED_WEAKNESS_FIELDS)
"""The fields of the weak-limb counts (:func:`weak_limb_bounds`)."""


def symmetric_4limb_prox_dist(c: Columns) -> Tri:
    """All eight proximal and distal grades < 5 and no asymmetric pair: proxy for "symmetric proximal and
    distal weakness of upper and lower limbs" (EAN/PNS 2021 typical CIDP, criteria.md §0.2)."""
    return c.cached(
        "symmetric_4limb",
        lambda: all_of(*(region_weak(c, f) for f in MRC_FIELDS)) & ~asymmetric_weakness(c),
    )


def _min_bounds(c: Columns) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the minimum grade of the arms (row 0) and of the legs (row 1) when some grades are null
    (0 <= grade <= 5): (2, patients) each, both groups in one pass."""
    grades = np.array([[c.number(f) for f in ARM_FIELDS], [c.number(f) for f in LEG_FIELDS]])  # (2, 4, n)
    missing = np.isnan(grades)
    known_min = np.where(missing, T.MRC_NORMAL, grades).min(axis=1)
    return np.where(missing.any(axis=1), T.MRC_MIN, known_min), known_min


def upper_limb_predominant(c: Columns) -> Tri:
    """min(arm grades) < min(leg grades); on a tie of the minima, upper-limb onset decides (criteria.md §0.2).

    Three-valued through bounds on each minimum: a null grade can only lower the minimum of its group. The
    arms are weaker for certain when their highest possible minimum is below the legs' lowest, and not when
    their lowest is at least the legs' highest (never both: a lower bound is at most its upper bound).
    """
    if len(c) <= SMALL:  # one patient: value by value, the same arithmetic
        arms = zip(*(c.number(f).tolist() for f in ARM_FIELDS), strict=True)
        legs = zip(*(c.number(f).tolist() for f in LEG_FIELDS), strict=True)
        rows = [_predominance(*_min_bounds_of(a), *_min_bounds_of(b)) for a, b in zip(arms, legs, strict=True)]
        arms_weaker = from_rows((r[0] for r in rows), (r[1] for r in rows), len(rows))
        tie = from_rows((r[2] for r in rows), (r[3] for r in rows), len(rows))
    else:
        (arm_lo, leg_lo), (arm_hi, leg_hi) = _min_bounds(c)
        weaker, not_weaker, exact_tie, no_tie = _predominance(arm_lo, arm_hi, leg_lo, leg_hi)
        arms_weaker, tie = Tri(weaker, not_weaker), Tri(exact_tie, no_tie)
    return arms_weaker | (tie & c.isin("onset_region", ("upper_limb",)))


def _min_bounds_of(grades: tuple[float, ...]) -> tuple[float, float]:
    """:func:`_min_bounds` of one patient's group of grades (lower, upper)."""
    known_min = min(T.MRC_NORMAL if g != g else g for g in grades)
    return (T.MRC_MIN if any(g != g for g in grades) else known_min), known_min


def _predominance(arm_lo: Any, arm_hi: Any, leg_lo: Any, leg_hi: Any) -> tuple[Any, Any, Any, Any]:
    """From the bounds of the arms' and the legs' minimum grades (arrays, or one patient's floats): arms weaker
    for certain, arms not weaker for certain, an exact tie of the minima, no tie for certain."""
    exact_tie = (arm_lo == arm_hi) & (leg_lo == leg_hi) & (arm_lo == leg_lo)  # an exact tie is no "no tie"
    return arm_hi < leg_lo, arm_lo >= leg_hi, exact_tie, (arm_hi < leg_lo) | (leg_hi < arm_lo)


def age_at_workup(c: Columns) -> np.ndarray:
    """Age at the work-up (:func:`data.age_at_workup`: onset + duration / 12, criteria.md §0.2); NaN if either
    is null."""
    onset, duration = (c.number(f) for f in WORKUP_AGE_FIELDS)
    return data_age_at_workup(onset, duration)


def age_at_workup_at_most(c: Columns, years: float) -> Tri:
    """``age at work-up <= years`` (:func:`data.workup_age_at_most`): a missing duration only matters when the
    age at onset alone does not already exceed the limit."""
    onset, duration = (c.number(f) for f in WORKUP_AGE_FIELDS)
    return workup_age_at_most(onset, duration, years)


def csf_lower_limit_applies(c: Columns) -> Tri:
    """Breiner 2019 age band: the lower CSF protein limit applies up to and including age 50 at work-up."""
    return c.cached("csf_young", lambda: age_at_workup_at_most(c, T.CSF_AGE_LIMIT_YEARS))


def csf_protein_uln(c: Columns) -> np.ndarray:
    """Age-partitioned upper limit of CSF protein (g/L): 0.50 up to age 50, 0.60 above (Breiner 2019,
    criteria.md §0.2); NaN when the age band cannot be known (duration null, onset at most 50)."""
    young = csf_lower_limit_applies(c)
    return np.where(young.true, T.CSF_PROTEIN_ULN_UP_TO_AGE_LIMIT_G_PER_L,
                    np.where(young.false, T.CSF_PROTEIN_ULN_ABOVE_AGE_LIMIT_G_PER_L, np.nan))


def csf_protein_elevated(c: Columns) -> Tri:
    """CSF protein above its age-partitioned upper limit (:func:`csf_protein_uln`); decided without the
    age when the protein is above both limits or at most the lower one."""

    def compute() -> Tri:
        above_high = c.num("csf_protein_g_per_l", ">", T.CSF_PROTEIN_ULN_ABOVE_AGE_LIMIT_G_PER_L)
        above_low = c.num("csf_protein_g_per_l", ">", T.CSF_PROTEIN_ULN_UP_TO_AGE_LIMIT_G_PER_L)
        return above_high | (above_low & csf_lower_limit_applies(c))

    return c.cached("csf_elevated", compute)


STATED_CSF_FIELDS: tuple[str, ...] = (*CSF_FIELDS, "csf_protein_raised")


def csf_protein_raised(c: Columns) -> Tri:
    """CSF protein raised: the value against its age-partitioned limit (:func:`csf_protein_elevated`), else
    the statement ``csf_protein_raised`` ("albuminocytological dissociation" without a value)."""
    return numbers_first(csf_protein_elevated(c), c.flag("csf_protein_raised"))


def immunotherapy_improved(c: Columns) -> Tri:
    """IVIg or corticosteroids improved the patient; ``not_given`` is known information (False, not Unknown)."""
    return c.isin("ivig_response", (T.IMMUNOTHERAPY_IMPROVED,)) | c.isin(
        "corticosteroid_response", (T.IMMUNOTHERAPY_IMPROVED,)
    )
