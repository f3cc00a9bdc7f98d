"""Findings in words: each finding group for one patient as a short phrase stating the actual values.

Each describer takes a record (contract field -> value) and returns a noun phrase that states the
patient's actual values, e.g. "definite conduction block in 3 of 8 motor nerves"; the explanation appends
the direction (": towards MMN"). Derived quantities (worst weakness, EFNS asymmetry, age-adjusted CSF
limit, ...) are the feature transformers' own (:func:`features.findings.derived_features`), so the words
can never disagree with what the model saw. Null is always worded as "not recorded" / "not done", never
as normal. Which feature belongs to which finding is :mod:`features.findings`' business, not this one's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mmn_ddx.data.contract import FEATURE_FIELDS
from mmn_ddx.features.conduction import BLOCK_FIELDS, ConductionFeatures
from mmn_ddx.features.findings import (
    FINDING_GROUPS,
    PARAMETER_LABELS,
    Known,
    csf_protein_limit,
    derived_features,
    record_value,
)
from mmn_ddx.features.laboratory import (
    ANTI_GM1_HIGH_TITRE,
    ANTI_GM1_POSITIVE,
    CSF_PLEOCYTOSIS_PER_UL,
    CSF_ULN_OLD_G_PER_L,
    CSF_ULN_YOUNG_G_PER_L,
)
from mmn_ddx.features.modes import MODES, check_mode, fields_for_mode
from mmn_ddx.features.weakness import MRC_FIELDS, REGIONS, WeaknessFeatures, pair_asymmetric

Record = Mapping[str, Any]
_get = record_value
_features = derived_features


def _num(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def _plural(count: float, word: str, plural: str | None = None) -> str:
    return f"{_num(count)} {word if count == 1 else plural or word + 's'}"


def _region(name: str) -> str:
    """'arm_distal_left' -> 'left distal arm'; 'arm_distal' -> 'distal arm'."""
    limb, level, *side = name.split("_")
    return " ".join([*side, level, limb])


def _yes_no(record: Record, name: str, present: str, absent: str, unknown: str) -> str:
    value = _get(record, name)
    return unknown if value is None else present if value else absent


def _words(value: str | None, unknown: str) -> str:
    return unknown if value is None else value.replace("_", " ")


def age_sex(record: Record) -> str:
    age, sex = _get(record, "age_at_onset_years"), _get(record, "sex")
    onset = "age at onset not recorded" if age is None else f"onset at {_num(age)} years"
    return f"{onset}, {_words(sex, 'sex not recorded')}"


def course(record: Record) -> str:
    duration = _get(record, "symptom_duration_months")
    evolution = _get(record, "course")
    first = "course not recorded" if evolution is None else f"{evolution} course"
    if duration is None:
        return f"{first}, duration not recorded"
    years = f" ({_num(duration / 12)} years)" if duration >= 24 else ""
    return f"{first}, symptoms for {_num(duration)} months{years}"


def onset_region(record: Record) -> str:
    region = _get(record, "onset_region")
    phrases = {"upper_limb": "onset in an arm", "lower_limb": "onset in a leg", "bulbar": "bulbar onset",
               "generalized": "generalised onset"}
    return phrases.get(region, "region of onset not recorded") if region else "region of onset not recorded"


def weakness_distribution(record: Record, known: Known = None) -> str:
    f = _features(record, WeaknessFeatures, known)
    recorded = int(f["mrc_regions_recorded"])
    if recorded == 0:
        return "strength not recorded"
    if f["weakness_max"] == 0:
        return f"full strength in the {recorded} examined regions"
    grades = {name: _get(record, name) for name in MRC_FIELDS}
    worst = min(g for g in grades.values() if g is not None)
    where = [_region(name[4:]) for name, g in grades.items() if g == worst]
    parts = [f"weakest MRC {_num(worst)} ({', '.join(where)})",
             f"weak in {_num(f['weak_regions'])} of {_plural(recorded, 'examined region')} "
             f"({_plural(f['weak_limbs'], 'limb')})"]
    for key, more, less in (("distal_predominance", "distal > proximal", "proximal > distal"),
                            ("arm_predominance", "arms > legs", "legs > arms")):
        if not math.isnan(f[key]) and f[key] != 0:
            parts.append(more if f[key] > 0 else less)
    return "; ".join(parts)


def asymmetry(record: Record, known: Known = None) -> str:
    f = _features(record, WeaknessFeatures, known)
    if math.isnan(f["efns_asymmetric_pairs"]):
        return "asymmetry not assessable (no left-right pair recorded)"
    if f["symmetric_four_limb_weakness"] == 1:
        return "symmetric proximal and distal weakness of all four limbs"
    pairs = {r: (_get(record, f"mrc_{r}_left"), _get(record, f"mrc_{r}_right")) for r in REGIONS}
    compared = {r: lr for r, lr in pairs.items() if None not in lr}
    asymmetric = [r for r, (left, right) in compared.items() if pair_asymmetric(np.float64(left), np.float64(right))]
    if not asymmetric:
        return f"no left-right asymmetry in {_plural(len(compared), 'compared region pair')}"
    largest = max(asymmetric, key=lambda r: abs(compared[r][0] - compared[r][1]))
    difference = abs(compared[largest][0] - compared[largest][1])
    return (f"asymmetric by the EFNS/PNS rule in {len(asymmetric)} of {_plural(len(compared), 'region pair')}, "
            f"largest difference {_plural(difference, 'MRC grade')} ({_region(largest)})")


def nerve_territories(record: Record) -> str:
    count = _get(record, "weak_nerve_territories")
    if count is None:
        return "weakness by nerve territory not recorded"
    return "no weakness in an individual nerve territory" if count == 0 else (
        f"weakness in {_plural(count, 'individual nerve territory', 'individual nerve territories')}")


def wasting(record: Record, known: Known = None) -> str:
    atrophy = _get(record, "muscle_atrophy")
    worst = _features(record, WeaknessFeatures, known)["weakness_max"]
    if atrophy is None:
        return "muscle wasting not recorded"
    wasting_words = {"none": "no wasting", "mild": "mild wasting", "marked": "marked wasting"}[atrophy]
    if math.isnan(worst):
        return wasting_words
    return f"{wasting_words}, weakest muscle MRC {_num(5 - worst)}"


def reflexes(record: Record) -> str:
    affected, unaffected = _get(record, "reflexes_affected_limbs"), _get(record, "reflexes_unaffected_limbs")
    if affected is None and unaffected is None:
        return "reflexes not recorded"
    return (f"reflexes {_words(affected, 'not recorded')} in affected limbs, "
            f"{_words(unaffected, 'not recorded')} in unaffected limbs")


def umn_signs(record: Record) -> str:
    return _yes_no(record, "upper_motor_neuron_signs", "upper motor neuron signs present",
                   "no upper motor neuron signs", "upper motor neuron signs not recorded")


def bulbar_respiratory(record: Record) -> str:
    return ", ".join((
        _yes_no(record, "bulbar_weakness", "bulbar weakness", "no bulbar weakness", "bulbar function not recorded"),
        _yes_no(record, "respiratory_weakness", "respiratory weakness", "no respiratory weakness",
                "respiratory function not recorded"),
    ))


def cranial_nerves(record: Record) -> str:
    return _yes_no(record, "cranial_nerve_palsy", "cranial nerve palsy (non-bulbar)", "no cranial nerve palsy",
                   "cranial nerves not recorded")


def fasciculations_cramps(record: Record) -> str:
    return ", ".join((
        _yes_no(record, "fasciculations", "visible fasciculations", "no fasciculations", "fasciculations not recorded"),
        _yes_no(record, "cramps", "cramps", "no cramps", "cramps not recorded"),
    ))


def emg_denervation(record: Record) -> str:
    regions, potentials = _get(record, "emg_regions_denervated"), _get(record, "emg_fasciculation_potentials")
    if regions is None and potentials is None:
        return "needle EMG not done"
    first = "regions with denervation not recorded" if regions is None else (
        f"active and chronic denervation in {regions} of 4 body regions" if regions else "no denervation")
    return ", ".join((first, _yes_no(record, "emg_fasciculation_potentials", "fasciculation potentials",
                                     "no fasciculation potentials", "fasciculation potentials not recorded")))


def sensory_signs(record: Record) -> str:
    loss = _get(record, "sensory_loss")
    loss_words = {None: "sensory examination not recorded", "none": "no objective sensory loss",
                  "minor_vibration": "only minor vibration loss in the legs", "multifocal": "multifocal sensory loss",
                  "symmetric": "symmetric sensory loss"}[loss]
    return ", ".join((
        _yes_no(record, "sensory_symptoms", "sensory symptoms", "no sensory symptoms", "sensory symptoms not recorded"),
        loss_words,
        _yes_no(record, "sensory_ataxia", "sensory ataxia", "no sensory ataxia", "ataxia not recorded"),
    ))


def _studied(record: Record, name: str, kind: str) -> str:
    value = _get(record, name)
    return f"{kind} nerve conduction not done" if not value else f"{_plural(value, kind + ' nerve')} studied"


def ncs_extent(record: Record) -> str:
    return ", ".join((_studied(record, "motor_nerves_studied", "motor"), _studied(record, "sensory_nerves_studied", "sensory")))


def _nerve_counts(record: Record, names: tuple[str, ...], known: Known) -> str:
    f = _features(record, ConductionFeatures, known)
    if f["motor_ncs_not_done"] == 1:
        return "motor nerve conduction not done"
    studied = _get(record, "motor_nerves_studied")
    parts = []
    for name in names:
        count = _get(record, name)
        if count is None:
            parts.append(f"{PARAMETER_LABELS[name]} not recorded")
        elif parts:  # the denominator is said once, in the first phrase
            parts.append(f"{PARAMETER_LABELS[name]} in {count}")
        elif studied:
            parts.append(f"{PARAMETER_LABELS[name]} in {count} of {_plural(studied, 'motor nerve')}")
        else:
            parts.append(f"{PARAMETER_LABELS[name]} in {_plural(count, 'motor nerve')} (number studied not recorded)")
    return ", ".join(parts)


def conduction_block(record: Record, known: Known = None) -> str:
    return _nerve_counts(record, tuple(BLOCK_FIELDS.values()), known)


def demyelination(record: Record, known: Known = None) -> str:
    names = ("nerves_any_demyelinating", "nerves_dml_prolonged", "nerves_cv_slowed", "nerves_fwave_prolonged",
             "nerves_fwave_absent", "nerves_temporal_dispersion")
    shown = tuple(n for n in names if _get(record, n)) or ("nerves_any_demyelinating",)
    return _nerve_counts(record, shown, known)


def sensory_conduction(record: Record) -> str:
    studied, abnormal = _get(record, "sensory_nerves_studied"), _get(record, "sensory_nerves_abnormal")
    if not studied and not abnormal:
        first = "sensory nerve conduction not done"
    elif abnormal is None:
        first = f"sensory results not recorded ({_plural(studied, 'nerve')} studied)"
    elif abnormal == 0 and studied:
        first = f"normal in all {_plural(studied, 'sensory nerve')}"
    elif studied:
        first = f"abnormal in {abnormal} of {_plural(studied, 'sensory nerve')}"
    else:
        first = f"abnormal in {_plural(abnormal, 'sensory nerve')} (number studied not recorded)"
    return ", ".join((first, _yes_no(record, "sensory_normal_across_cb", "normal across the blocked segments",
                                     "abnormal across the blocked segments", "across blocked segments not recorded")))


def anti_gm1(record: Record) -> str:
    ratio = _get(record, "anti_gm1_igm_ratio")
    if ratio is None:
        return "anti-GM1 IgM not tested"
    verdict = "high titre" if ratio >= ANTI_GM1_HIGH_TITRE else "positive" if ratio >= ANTI_GM1_POSITIVE else "negative"
    return f"anti-GM1 IgM {ratio:.1f}× cut-off ({verdict})"


def csf(record: Record) -> str:
    protein, cells = _get(record, "csf_protein_g_per_l"), _get(record, "csf_cells_per_ul")
    if protein is None and cells is None:
        return "CSF not examined"
    uln = csf_protein_limit(record)
    if protein is None:
        first = "CSF protein not recorded"
    elif math.isnan(uln):
        first = (f"CSF protein {protein:.2f} g/L (upper limit {CSF_ULN_YOUNG_G_PER_L:.2f} or {CSF_ULN_OLD_G_PER_L:.2f} "
                 "g/L: age at work-up unknown)")
    else:
        first = f"CSF protein {protein:.2f} g/L ({protein / uln:.1f}× the age-adjusted upper limit of {uln:.2f} g/L)"
    second = "cell count not recorded" if cells is None else (
        f"{_num(cells)} cells/µL{' (raised)' if cells >= CSF_PLEOCYTOSIS_PER_UL else ''}")
    return f"{first}, {second}"


def paraprotein(record: Record) -> str:
    return ", ".join((
        _yes_no(record, "igm_paraprotein", "IgM paraprotein present", "no IgM paraprotein", "paraprotein not tested"),
        _yes_no(record, "anti_mag_positive", "anti-MAG positive", "anti-MAG negative", "anti-MAG not tested"),
    ))


def nerve_imaging(record: Record) -> str:
    return ", ".join((
        _yes_no(record, "mri_plexus_abnormal", "plexus MRI abnormal", "plexus MRI normal", "plexus MRI not done"),
        _yes_no(record, "ultrasound_nerve_enlarged", "nerves enlarged on ultrasound", "no nerve enlargement on ultrasound",
                "nerve ultrasound not done"),
    ))


def treatment_response(record: Record) -> str:
    def one(name: str, drug: str) -> str:
        value = _get(record, name)
        if value is None:
            return f"{drug} response not recorded"
        return f"{drug} not given" if value == "not_given" else f"{drug}: {value.replace('_', ' ')}"

    return ", ".join((one("ivig_response", "IVIg"), one("corticosteroid_response", "corticosteroids")))


def record_completeness(record: Record, mode: str) -> str:
    counted = fields_for_mode(FEATURE_FIELDS, mode)
    recorded = sum(_get(record, name) is not None for name in counted)
    return f"{recorded} of {len(counted)} fields recorded"


Describe = Callable[[Record, str, Known], str]
"""(record, mode, engineered features or None) -> the patient's value(s) of the finding, as a phrase."""


def _modeless(describe: Callable[[Record], str]) -> Describe:
    return lambda record, mode, features: describe(record)


def _from_features(describe: Callable[[Record, Known], str]) -> Describe:
    """For findings worded from derived quantities (worst grade, asymmetry, ...): reuse them if given."""
    return lambda record, mode, features: describe(record, features)


DESCRIBERS: dict[str, Describe] = {
    "age_sex": _modeless(age_sex),
    "course": _modeless(course),
    "onset_region": _modeless(onset_region),
    "weakness_distribution": _from_features(weakness_distribution),
    "asymmetry": _from_features(asymmetry),
    "nerve_territories": _modeless(nerve_territories),
    "wasting": _from_features(wasting),
    "reflexes": _modeless(reflexes),
    "umn_signs": _modeless(umn_signs),
    "bulbar_respiratory": _modeless(bulbar_respiratory),
    "cranial_nerves": _modeless(cranial_nerves),
    "fasciculations_cramps": _modeless(fasciculations_cramps),
    "emg_denervation": _modeless(emg_denervation),
    "sensory_signs": _modeless(sensory_signs),
    "ncs_extent": _modeless(ncs_extent),
    "conduction_block": _from_features(conduction_block),
    "demyelination": _from_features(demyelination),
    "sensory_conduction": _modeless(sensory_conduction),
    "anti_gm1": _modeless(anti_gm1),
    "csf": _modeless(csf),
    "paraprotein": _modeless(paraprotein),
    "nerve_imaging": _modeless(nerve_imaging),
    "treatment_response": _modeless(treatment_response),
    "record_completeness": lambda record, mode, features: record_completeness(record, mode),
}
"""Finding group (:data:`features.findings.FINDING_GROUPS`) -> its describer; a test keeps the keys equal."""


def describe_finding(group: str, record: Record, mode: str = MODES[0], features: Known = None) -> str:
    """The patient's actual value(s) for one finding, e.g. "anti-GM1 IgM 8.0× cut-off (high titre)".

    ``record`` maps contract fields to values (a ``PatientRecord.to_dict()``, or a row of a canonical
    frame); a missing key, ``None``, NaN and ``pd.NA`` all mean "not recorded". ``mode`` matters only
    for record completeness, which does not count treatment fields at presentation. ``features``: the
    record's engineered features by name (``ClinicalFeatures`` output, e.g. the model's input row), when
    the caller has them: derived quantities are read from them instead of being computed again.
    """
    try:
        describe = DESCRIBERS[group]
    except KeyError:
        raise KeyError(f"unknown finding group {group!r}; known: {', '.join(FINDING_GROUPS)}") from None
    return describe(record, check_mode(mode), features)
