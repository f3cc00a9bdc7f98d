"""Lower and upper motor neuron burden: EMG denervation, UMN signs, bulbar/respiratory, reflexes, wasting.

These are the findings that point to MND: UMN signs (an exclusion for MMN, EFNS/PNS 2010 E8), brisk
reflexes in weak wasted limbs, bulbar and respiratory weakness (E9), fasciculations, and denervation
in several body regions (Gold Coast 2020; LMN dysfunction = weakness *and* wasting, or EMG
denervation). Weakness *without* wasting is, conversely, typical of MMN early on (Slee 2007: 67 %),
hence ``atrophy_vs_weakness``.

Reports describe reflexes by limb more often than by "affected / unaffected limbs" (contract v2:
``reflexes_arms``, ``reflexes_legs``). Where the affected / unaffected fields are null they are read from
the limb fields, the weak limbs (MRC grades or the words, :func:`features.weakness.arms_weak`) being the
affected ones, so the same reflex columns hold the same finding whichever way it was written. The reverse
holds too: the reflexes of the arms and of the legs are columns of their own (an ordered grade), read from the
limb fields or else from the affected / unaffected fields and the weak limbs. Without them the limb words were
lost whenever the record did not say which limbs are weak (no strength section: a third of the records), and
areflexia in arms and legs, or brisk leg reflexes, is what the exact posterior leans on there
(benchmarks/ceiling_gap.py, issue #12).
"""

from __future__ import annotations

import itertools
from functools import cache
from typing import ClassVar

import numpy as np

from mmn_ddx.data import fields
from mmn_ddx.features._base import (
    ContractTransformer,
    Features,
    above,
    at_least,
    column_matrix,
    kleene_and,
    kleene_or,
    not_done,
    one_hot,
    ordinal,
)
from mmn_ddx.features._columns import NULL_CODE, Columns
from mmn_ddx.features.weakness import MRC_FIELDS, WORDS, arms_weak, legs_weak, limb_weakness, weakness_matrix

REFLEX_FIELDS: tuple[str, ...] = ("reflexes_affected_limbs", "reflexes_unaffected_limbs", "reflexes_arms",
                                  "reflexes_legs")
REFLEX_VALUES: tuple[str, ...] = fields()["reflexes_affected_limbs"].values or ()
_NORMAL_REFLEX = REFLEX_VALUES.index("normal")
REFLEX_GRADES: tuple[float, ...] = tuple(float(code) for code in range(len(REFLEX_VALUES)))
"""Reflexes as an ordered grade: the dictionary's order, absent 0 < reduced 1 < normal 2 < brisk 3."""
assert REFLEX_VALUES == ("absent", "reduced", "normal", "brisk"), "REFLEX_GRADES follow the dictionary's order"

ATROPHY_GRADES: dict[str, float] = {"none": 0.0, "mild": 1.0, "marked": 2.0, "present": 1.0}
"""``muscle_atrophy`` as an ordinal grade; ``present`` (wasting stated without a grade) is at least mild."""
ATROPHY_SCORES: tuple[float, ...] = tuple(ATROPHY_GRADES[v] for v in fields()["muscle_atrophy"].values or ())
MAX_ATROPHY, MAX_WEAKNESS = 2.0, 5.0

_PASSTHROUGH: dict[str, str] = {
    "emg_fasciculation_potentials": "emg_fasciculation_potentials",
    "umn_signs": "upper_motor_neuron_signs",
    "bulbar_weakness": "bulbar_weakness",
    "respiratory_weakness": "respiratory_weakness",
    "cranial_nerve_palsy": "cranial_nerve_palsy",
    "fasciculations": "fasciculations",
    "cramps": "cramps",
}
"""Output column -> boolean contract field copied as 1/0/NaN."""


class MotorNeuronFeatures(ContractTransformer):
    """EMG regions, UMN and bulbar signs, fasciculations/cramps, reflexes, and wasting against weakness."""

    input_fields: ClassVar[tuple[str, ...]] = (
        "emg_regions_denervated",
        *_PASSTHROUGH.values(),
        *REFLEX_FIELDS,
        "muscle_atrophy",
        *MRC_FIELDS,
        *WORDS,
    )

    def _compute(self, columns: Columns) -> Features:
        out: Features = {
            "emg_regions_denervated": columns["emg_regions_denervated"],
            "emg_not_done": not_done(columns["emg_regions_denervated"], columns["emg_fasciculation_potentials"]),
        }
        out.update({name: columns[field] for name, field in _PASSTHROUGH.items()})
        affected, unaffected = self._reflexes(columns)
        out.update(one_hot(affected, REFLEX_VALUES, "reflexes_affected"))
        out.update(one_hot(unaffected, REFLEX_VALUES, "reflexes_unaffected"))
        arms, legs = self._limb_reflexes(columns)
        out["reflexes_arms_grade"] = ordinal(arms, REFLEX_GRADES)
        out["reflexes_legs_grade"] = ordinal(legs, REFLEX_GRADES)
        atrophy = ordinal(columns["muscle_atrophy"], ATROPHY_SCORES)
        out["atrophy_grade"] = atrophy
        out["atrophy_vs_weakness"] = self._atrophy_vs_weakness(columns, atrophy)
        lmn_regions, lmn_any = self._clinical_lmn(columns, atrophy)
        out["lmn_regions_clinical"] = lmn_regions
        emg_lmn = at_least(columns["emg_regions_denervated"], 1)
        out["umn_with_lmn"] = kleene_and(columns["upper_motor_neuron_signs"], kleene_or(lmn_any, emg_lmn))
        return out

    @staticmethod
    def _reflexes(columns: Columns) -> tuple[np.ndarray, np.ndarray]:
        """Reflex codes in the affected and in the unaffected limbs: the recorded ones, else the arms' and
        legs' reflexes of the limbs known to be weak (affected) or not weak (unaffected)."""
        weak = [np.where(np.isnan(flag), -1, flag).astype(np.intp) for flag in (arms_weak(columns), legs_weak(columns))]
        by_limb = _limb_reflex_table()[columns["reflexes_arms"], columns["reflexes_legs"], weak[0], weak[1]]
        recorded = columns["reflexes_affected_limbs"], columns["reflexes_unaffected_limbs"]
        return (np.where(recorded[0] != NULL_CODE, recorded[0], by_limb[:, 0]),
                np.where(recorded[1] != NULL_CODE, recorded[1], by_limb[:, 1]))

    @staticmethod
    def _limb_reflexes(columns: Columns) -> tuple[np.ndarray, np.ndarray]:
        """Reflex codes in the arms and in the legs: the recorded ones, else the affected-limb reflexes of a
        limb known to be weak, the unaffected-limb reflexes of one known not to be (the reverse of
        :meth:`_reflexes`)."""
        affected, unaffected = columns["reflexes_affected_limbs"], columns["reflexes_unaffected_limbs"]
        out = []
        for field, weak in (("reflexes_arms", arms_weak(columns)), ("reflexes_legs", legs_weak(columns))):
            from_roles = np.where(weak == 1, affected, np.where(weak == 0, unaffected, NULL_CODE))
            out.append(np.where(columns[field] != NULL_CODE, columns[field], from_roles))
        return out[0], out[1]

    @staticmethod
    def _atrophy_vs_weakness(columns: Columns, atrophy: np.ndarray) -> np.ndarray:
        """Wasting (0-2, scaled to 0-1) minus worst weakness (0-5, scaled to 0-1).

        Negative: weak but not wasted (MMN, conduction block); around 0: wasting in proportion
        (axonal loss, MND); positive: wasting beyond the weakness. NaN if either is unknown.
        """
        worst = np.fmax.reduce(weakness_matrix(columns), axis=1)
        return atrophy / MAX_ATROPHY - worst / MAX_WEAKNESS

    @staticmethod
    def _clinical_lmn(columns: Columns, atrophy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Body regions with clinical LMN signs (criteria.md 3.4), as a lower bound, and "any" (1/0/NaN).

        Bulbar: bulbar weakness. Cervical / lumbosacral: a weak arm / leg with wasting (wasting is not
        localised in the contract - an approximation). The thoracic region is not counted.
        """
        limbs = limb_weakness(columns)
        wasted = above(atrophy, 0)
        cervical = kleene_and(above(np.fmax(limbs[:, 0], limbs[:, 1]), 0), wasted)
        lumbar = kleene_and(above(np.fmax(limbs[:, 2], limbs[:, 3]), 0), wasted)
        regions = column_matrix([columns["bulbar_weakness"], cervical, lumbar])
        known_any = ~np.isnan(regions).all(axis=1)
        count = np.where(known_any, (regions == 1).sum(axis=1).astype(np.float64), np.nan)
        return count, kleene_or(*regions.T)


def limb_reflexes(arms: int, legs: int, arms_weak: int, legs_weak: int) -> tuple[int, int]:
    """Reflex codes (affected limbs, unaffected limbs) from the arms' and the legs' codes and whether each is
    weak (1, 0, -1 unknown): the weak limbs are the affected ones, the limbs known not weak the unaffected."""
    return (_worst(arms if arms_weak == 1 else NULL_CODE, legs if legs_weak == 1 else NULL_CODE),
            _worst(arms if arms_weak == 0 else NULL_CODE, legs if legs_weak == 0 else NULL_CODE))


def _worst(first: int, second: int) -> int:
    """One reflex code for two groups of limbs: the one known, else the further from normal when both lie on
    the same side of it (reduced and absent: absent), else null (reduced arms with brisk legs is no one value)."""
    if NULL_CODE in (first, second):
        return max(first, second)
    low, high = min(first, second), max(first, second)
    return low if high <= _NORMAL_REFLEX else high if low >= _NORMAL_REFLEX else NULL_CODE


@cache
def _limb_reflex_table() -> np.ndarray:
    """:func:`limb_reflexes` for every combination, indexed like the arrays (a trailing slot for -1)."""
    codes, weak = (*range(len(REFLEX_VALUES)), NULL_CODE), (0, 1, NULL_CODE)
    table = np.empty((len(codes), len(codes), len(weak), len(weak), 2), dtype=np.int64)
    for index in itertools.product(codes, codes, weak, weak):
        table[index] = limb_reflexes(*index)
    table.flags.writeable = False
    return table
