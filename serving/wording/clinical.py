"""The examination in words: age and course, weakness and its distribution, reflexes, signs and sensation."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from mmn_ddx.features import (
    MRC_FIELDS,
    REGIONS,
    STRENGTH_WORDS,
    Known,
    WeaknessFeatures,
    derived_features,
    pair_asymmetric,
    record_value,
)
from mmn_ddx.serving.wording._phrases import Record, num, plural, region, words, yes_no

UNGRADED = "(stated without MRC grades)"
LIMB_WORDS: dict[str, str] = {"none": "{limbs} not weak", "one": "one {limb} weak", "both": "both {limbs} weak"}
PREDOMINANCE_WORDS: dict[str, str] = {"distal": "distal > proximal", "proximal": "proximal > distal",
                                      "both": "proximal and distal alike"}
SYMMETRY_WORDS: dict[str, str] = {"no_weakness": f"no weakness {UNGRADED}",
                                  "symmetric": f"symmetric weakness {UNGRADED}",
                                  "asymmetric": f"asymmetric weakness {UNGRADED}"}
WASTING_WORDS: dict[str, str] = {"none": "no wasting", "mild": "mild wasting", "marked": "marked wasting",
                                 "present": "wasting (grade not stated)"}


def age_sex(record: Record) -> str:
    age, sex = record_value(record, "age_at_onset_years"), record_value(record, "sex")
    onset = "age at onset not recorded" if age is None else f"onset at {num(age)} years"
    return f"{onset}, {words(sex, 'sex not recorded')}"


def course(record: Record) -> str:
    duration = record_value(record, "symptom_duration_months")
    evolution = record_value(record, "course")
    first = "course not recorded" if evolution is None else f"{evolution} course"
    if duration is None:
        return f"{first}, duration not recorded"
    years = f" ({num(duration / 12)} years)" if duration >= 24 else ""
    return f"{first}, symptoms for {num(duration)} months{years}"


def onset_region(record: Record) -> str:
    onset = record_value(record, "onset_region")
    phrases = {"upper_limb": "onset in an arm", "lower_limb": "onset in a leg", "bulbar": "bulbar onset",
               "generalized": "generalised onset"}
    return phrases.get(onset, "region of onset not recorded") if onset else "region of onset not recorded"


def weakness_distribution(record: Record, known: Known = None) -> str:
    f = derived_features(record, WeaknessFeatures, known)
    recorded = int(f["mrc_regions_recorded"])
    if recorded == 0:
        return _stated_distribution(record)
    # a report may grade some limbs and describe the others in words: both are said
    worded = any(record_value(record, name) is not None for name in STRENGTH_WORDS)
    stated = f"; {_stated_distribution(record)}" if worded else ""
    if f["weak_regions"] == 0:
        return f"full strength in the {recorded} examined regions{stated}"
    grades = {name: record_value(record, name) for name in MRC_FIELDS}
    worst = min(g for g in grades.values() if g is not None)
    where = [region(name[4:]) for name, g in grades.items() if g == worst]
    limbs = "" if worded else f" ({plural(f['weak_limbs'], 'limb')})"  # with words, not the grades' count alone
    parts = [f"weakest MRC {num(worst)} ({', '.join(where)})",
             f"weak in {num(f['weak_regions'])} of {plural(recorded, 'examined region')}{limbs}"]
    for key, more, less in (("distal_predominance", "distal > proximal", "proximal > distal"),
                            ("arm_predominance", "arms > legs", "legs > arms")):
        if not math.isnan(f[key]) and f[key] != 0:
            parts.append(more if f[key] > 0 else less)
    return "; ".join(parts) + stated


def _stated_distribution(record: Record) -> str:
    """The weakness as the report words it, when no MRC grade is recorded."""
    if record_value(record, "weakness_symmetry") == "no_weakness":
        return SYMMETRY_WORDS["no_weakness"]
    arms, legs, where = (record_value(record, name) for name in ("weak_arms", "weak_legs", "weakness_predominance"))
    parts = [*([LIMB_WORDS[arms].format(limb="arm", limbs="arms")] if arms else []),
             *([LIMB_WORDS[legs].format(limb="leg", limbs="legs")] if legs else []),
             *([PREDOMINANCE_WORDS[where]] if where else [])]
    return f"{', '.join(parts)} {UNGRADED}" if parts else "strength not recorded"


def asymmetry(record: Record, known: Known = None) -> str:
    f = derived_features(record, WeaknessFeatures, known)
    if math.isnan(f["efns_asymmetric_pairs"]):
        return _stated_asymmetry(record, f)
    if f["symmetric_four_limb_weakness"] == 1:
        return "symmetric proximal and distal weakness of all four limbs"
    pairs = {r: (record_value(record, f"mrc_{r}_left"), record_value(record, f"mrc_{r}_right")) for r in REGIONS}
    compared = {r: lr for r, lr in pairs.items() if None not in lr}
    grades = np.array(list(compared.values()), dtype=np.float64).reshape(-1, 2)  # one rule call for every pair
    asymmetric = [r for r, flag in zip(compared, pair_asymmetric(grades[:, 0], grades[:, 1]).tolist(), strict=True)
                  if flag]
    if not asymmetric:
        return f"no left-right asymmetry in {plural(len(compared), 'compared region pair')}"
    largest = max(asymmetric, key=lambda r: abs(compared[r][0] - compared[r][1]))
    difference = abs(compared[largest][0] - compared[largest][1])
    return (f"asymmetric by the EFNS/PNS rule in {len(asymmetric)} of {plural(len(compared), 'region pair')}, "
            f"largest difference {plural(difference, 'MRC grade')} ({region(largest)})")


def _stated_asymmetry(record: Record, f: Mapping[str, float]) -> str:
    """Asymmetry as the report words it, when no left-right MRC pair is recorded."""
    if f["symmetric_four_limb_weakness"] == 1:
        return f"symmetric proximal and distal weakness of all four limbs {UNGRADED}"
    symmetry = record_value(record, "weakness_symmetry")
    if symmetry:
        return SYMMETRY_WORDS[symmetry]
    one = [limb for limb, name in (("arm", "weak_arms"), ("leg", "weak_legs")) if record_value(record, name) == "one"]
    if one:
        return f"asymmetric: one {' and one '.join(one)} weak {UNGRADED}"
    return "asymmetry not assessable (no left-right pair recorded)"


def nerve_territories(record: Record) -> str:
    count = record_value(record, "weak_nerve_territories")
    if count is None:
        return "weakness by nerve territory not recorded"
    return "no weakness in an individual nerve territory" if count == 0 else (
        f"weakness in {plural(count, 'individual nerve territory', 'individual nerve territories')}")


def wasting(record: Record, known: Known = None) -> str:
    atrophy = record_value(record, "muscle_atrophy")
    worst = derived_features(record, WeaknessFeatures, known)["weakness_max"]
    if atrophy is None:
        return "muscle wasting not recorded"
    wasting_words = WASTING_WORDS[atrophy]
    if math.isnan(worst):
        return wasting_words
    return f"{wasting_words}, weakest muscle MRC {num(5 - worst)}"


def reflexes(record: Record) -> str:
    affected, unaffected, arms, legs = (record_value(record, name) for name in (
        "reflexes_affected_limbs", "reflexes_unaffected_limbs", "reflexes_arms", "reflexes_legs"))
    if affected is None and unaffected is None and arms is None and legs is None:
        return "reflexes not recorded"
    parts = []
    if affected is not None or unaffected is not None:
        parts.append(f"reflexes {words(affected, 'not recorded')} in affected limbs, "
                     f"{words(unaffected, 'not recorded')} in unaffected limbs")
    if arms is not None or legs is not None:
        parts.append(f"reflexes {words(arms, 'not recorded')} in the arms, {words(legs, 'not recorded')} in the legs")
    return "; ".join(parts)


def umn_signs(record: Record) -> str:
    return yes_no(record, "upper_motor_neuron_signs", "upper motor neuron signs present",
                   "no upper motor neuron signs", "upper motor neuron signs not recorded")


def bulbar_respiratory(record: Record) -> str:
    return ", ".join((
        yes_no(record, "bulbar_weakness", "bulbar weakness", "no bulbar weakness", "bulbar function not recorded"),
        yes_no(record, "respiratory_weakness", "respiratory weakness", "no respiratory weakness",
                "respiratory function not recorded"),
    ))


def cranial_nerves(record: Record) -> str:
    return yes_no(record, "cranial_nerve_palsy", "cranial nerve palsy (non-bulbar)", "no cranial nerve palsy",
                   "cranial nerves not recorded")


def fasciculations_cramps(record: Record) -> str:
    return ", ".join((
        yes_no(record, "fasciculations", "visible fasciculations", "no fasciculations", "fasciculations not recorded"),
        yes_no(record, "cramps", "cramps", "no cramps", "cramps not recorded"),
    ))


def emg_denervation(record: Record) -> str:
    regions, potentials = (
        record_value(record, "emg_regions_denervated"),
        record_value(record, "emg_fasciculation_potentials"),
    )
    if regions is None and potentials is None:
        return "needle EMG not recorded"
    first = "regions with denervation not recorded" if regions is None else (
        f"active and chronic denervation in {regions} of 4 body regions" if regions else "no denervation")
    return ", ".join((first, yes_no(record, "emg_fasciculation_potentials", "fasciculation potentials",
                                     "no fasciculation potentials", "fasciculation potentials not recorded")))


def sensory_signs(record: Record) -> str:
    loss = record_value(record, "sensory_loss")
    loss_words = {None: "sensory examination not recorded", "none": "no objective sensory loss",
                  "minor_vibration": "only minor vibration loss in the legs", "multifocal": "multifocal sensory loss",
                  "symmetric": "symmetric sensory loss"}[loss]
    return ", ".join((
        yes_no(record, "sensory_symptoms", "sensory symptoms", "no sensory symptoms", "sensory symptoms not recorded"),
        loss_words,
        yes_no(record, "sensory_ataxia", "sensory ataxia", "no sensory ataxia", "ataxia not recorded"),
    ))
