"""The weakness a report describes in words (contract v2) as the findings it shares with the MRC grades.

The four fields have three values each, so every combination is worked out once, in plain Python that
reads like the clinical rules (:func:`stated`), and each patient's findings are one table look-up
(:func:`stated_findings`): vectorised, and cheaper than a dozen array operations for one patient.
"""

from __future__ import annotations

import itertools
import math
from functools import cache

import numpy as np

from mmn_ddx.data import Columns, fields

FIELDS: tuple[str, ...] = ("weakness_symmetry", "weakness_predominance", "weak_arms", "weak_legs")
"""The v2 fields describing the weakness in words."""
FINDINGS: tuple[str, ...] = ("arms_weak", "legs_weak", "no_weakness", "weak_arm_count", "weak_leg_count",
                             "asymmetric", "symmetric_four_limb", "distal_predominant")
"""What the words establish, each 1.0 / 0.0 / NaN (``weak_*_count``: 0, 1 or 2 limbs; ``no_weakness``: 0 or NaN)."""

_LIMBS = {"none": 0.0, "one": 1.0, "both": 2.0}


def stated(symmetry: str | None, predominance: str | None, arms: str | None, legs: str | None) -> dict[str, float]:
    """The findings of one combination of words (None = not stated); NaN where the words do not tell."""
    nan = math.nan
    no_weakness = symmetry == "no_weakness"  # normal strength in every limb, e.g. a sensory variant
    nowhere = no_weakness or (arms == "none" and legs == "none")
    return {
        "arms_weak": _limb_weak(arms, no_weakness),
        "legs_weak": _limb_weak(legs, no_weakness),
        "no_weakness": 0.0 if nowhere else nan,  # the worst weakness, 5 - MRC, is 0
        "weak_arm_count": _LIMBS[arms] if arms else 0.0 if no_weakness else nan,
        "weak_leg_count": _LIMBS[legs] if legs else 0.0 if no_weakness else nan,
        "asymmetric": 1.0 if symmetry == "asymmetric" or "one" in (arms, legs)  # one arm or one leg weak
        else 0.0 if symmetry in ("symmetric", "no_weakness") else nan,
        "symmetric_four_limb": 0.0 if symmetry in ("asymmetric", "no_weakness") or arms in ("none", "one")
        or legs in ("none", "one") else 1.0 if (symmetry, predominance, arms, legs) == ("symmetric", "both", "both",
                                                                                       "both") else nan,
        "distal_predominant": 1.0 if predominance == "distal"
        else 0.0 if predominance in ("proximal", "both") or nowhere else nan,
    }


def _limb_weak(limbs: str | None, no_weakness: bool) -> float:
    return 1.0 if limbs in ("one", "both") else 0.0 if limbs == "none" or no_weakness else math.nan


def stated_findings(columns: Columns) -> dict[str, np.ndarray]:
    """Each finding of :data:`FINDINGS` for every patient, from the words alone (one look-up)."""
    def compute() -> dict[str, np.ndarray]:
        rows = _table()[tuple(columns[name] for name in FIELDS)]  # a null code (-1) reads the trailing "None" slot
        return {name: rows[:, j] for j, name in enumerate(FINDINGS)}

    return columns.cached("stated_weakness", compute)


@cache
def _table() -> np.ndarray:
    """(symmetry, predominance, arms, legs, finding): every value of each field, then None, in contract order."""
    values = [(*(fields()[name].values or ()), None) for name in FIELDS]
    table = np.empty((*(len(v) for v in values), len(FINDINGS)))
    for index in itertools.product(*(range(len(v)) for v in values)):
        findings = stated(*(v[i] for v, i in zip(values, index, strict=True)))
        table[index] = [findings[name] for name in FINDINGS]
    table.flags.writeable = False
    return table
