"""Derived helpers shared by several criteria sets, defined once (criteria.md §0.2).

MRC fields grade the weakest muscle of a region (0-5). A region is weak below grade 5; a limb is weak if
its proximal or its distal region is. All helpers are three-valued: a null grade can make a limb "weak:
unknown", but a known weak region makes the limb weak whatever its other region shows.

The clinical rules shared with the features are written here once and imported there: age at work-up,
the age-partitioned CSF protein limit (Breiner 2019) and the EFNS/PNS 2010 asymmetry rule.
"""

from __future__ import annotations

import numpy as np

from mmn_ddx.data import MRC_FIELDS, MRC_REGIONS, compare
from mmn_ddx.features.criteria import thresholds as T
from mmn_ddx.features.criteria._logic import Columns, Tri, all_of, any_of
from mmn_ddx.features.criteria._stated import WEAKNESS_FIELDS as STATED_WEAKNESS_FIELDS
from mmn_ddx.features.criteria._stated import no_weakness_stated, numbers_first, stated_weak_limbs, weak_pair_stated

LIMBS: tuple[str, ...] = ("arm_left", "arm_right", "leg_left", "leg_right")
LEVELS: tuple[str, ...] = ("proximal", "distal")
REGIONS: tuple[str, ...] = MRC_REGIONS
"""The four left/right MRC pairs compared for asymmetry (criteria.md §0.2 ``asymmetric_weakness``)."""

ARM_FIELDS: tuple[str, ...] = tuple(f for f in MRC_FIELDS if f.startswith("mrc_arm"))
LEG_FIELDS: tuple[str, ...] = tuple(f for f in MRC_FIELDS if f.startswith("mrc_leg"))
PROXIMAL_FIELDS: tuple[str, ...] = tuple(f for f in MRC_FIELDS if "_proximal_" in f)
AGE_FIELDS: tuple[str, ...] = ("age_at_onset_years", "symptom_duration_months")
"""The fields of the age at work-up (:func:`age_at_workup`)."""
CSF_FIELDS: tuple[str, ...] = ("csf_protein_g_per_l", *AGE_FIELDS)
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


def weak_limb_bounds(c: Columns, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bound of the weak arms (``kind="arm"``) or legs, 0-2: the MRC grades, and the number
    stated in words (``weak_arms`` / ``weak_legs``, ``weakness_symmetry: no_weakness``) where the grades leave
    it open. A grade never yields to a word: a known weak limb stays weak."""

    def compute() -> tuple[np.ndarray, np.ndarray]:
        left, right = (limb_weak(c, f"{kind}_{side}") for side in ("left", "right"))
        lower = np.add(left.true, right.true, dtype=np.float64)
        upper = np.add(~left.false, ~right.false, dtype=np.float64)
        words = weak_pair_stated(c, kind)  # NaN where not stated: fmax / fmin then keep the grades' bounds
        lower = np.fmax(lower, words)
        return lower, np.fmax(lower, np.fmin(upper, words))

    return c.cached(f"weak_limb_bounds:{kind}", compute)


def limbs_weak_at_least(c: Columns, k: int) -> Tri:
    """``n_limbs_weak >= k`` without imputing unexamined limbs (grades, then the limbs stated weak)."""
    (arm_lo, arm_hi), (leg_lo, leg_hi) = weak_limb_bounds(c, "arm"), weak_limb_bounds(c, "leg")
    return Tri(arm_lo + leg_lo >= k, arm_hi + leg_hi < k)


def limbs_weak_exactly(c: Columns, k: int) -> Tri:
    """``n_limbs_weak == k`` (grades, then the limbs stated weak)."""
    (arm_lo, arm_hi), (leg_lo, leg_hi) = weak_limb_bounds(c, "arm"), weak_limb_bounds(c, "leg")
    lower, upper = arm_lo + leg_lo, arm_hi + leg_hi
    return Tri((lower == k) & (upper == k), (lower > k) | (upper < k))


def pair_weak(c: Columns, kind: str) -> Tri:
    """At least one arm (``kind="arm"``) or leg is weak."""
    lower, upper = weak_limb_bounds(c, kind)
    return Tri(lower >= 1, upper < 1)


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
    weaker, diff = np.minimum(left, right), np.abs(left - right)
    above = compare(weaker, ">", T.MRC_ASYMMETRY_GRADE_LIMIT)
    return (above & compare(diff, ">=", T.MRC_ASYMMETRY_DIFF_ABOVE_LIMIT)) | (
        ~above & compare(diff, ">=", T.MRC_ASYMMETRY_DIFF_AT_OR_BELOW_LIMIT)
    )


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
    (arm_lo, leg_lo), (arm_hi, leg_hi) = _min_bounds(c)
    arms_weaker = Tri(arm_hi < leg_lo, arm_lo >= leg_hi)
    exact_tie = (arm_lo == arm_hi) & (leg_lo == leg_hi) & (arm_lo == leg_lo)  # an exact tie is no "no tie"
    tie = Tri(exact_tie, (arm_hi < leg_lo) | (leg_hi < arm_lo))
    return arms_weaker | (tie & c.isin("onset_region", ("upper_limb",)))


def age_at_workup(c: Columns) -> np.ndarray:
    """Age at the work-up = age at onset + symptom duration / 12 (criteria.md §0.2); NaN if either is null."""
    return c.number("age_at_onset_years") + c.number("symptom_duration_months") / T.MONTHS_PER_YEAR


def age_at_workup_at_most(c: Columns, years: float) -> Tri:
    """``age at work-up <= years``; a missing duration only matters when the age at onset alone does not
    already exceed the limit (the age at work-up is at least the age at onset)."""
    return c.compare(age_at_workup(c), "<=", years) & ~c.num("age_at_onset_years", ">", years)


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
