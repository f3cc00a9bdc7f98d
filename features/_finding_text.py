"""Wording of each finding group for one patient (used by :func:`features.findings.describe_finding`).

Each function takes a record (contract field -> value) and returns a short noun phrase that states
the patient's actual values; serving appends the direction (": towards MMN"). Derived quantities
(worst weakness, EFNS asymmetry, age-adjusted CSF limit, ...) are taken from the feature
transformers themselves, so the words can never disagree with what the model saw. Null is always
worded as "not recorded" / "not done", never as normal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data.contract import FEATURE_FIELDS
from mmn_ddx.features._base import ContractTransformer
from mmn_ddx.features._columns import Columns
from mmn_ddx.features._records import read_records
from mmn_ddx.features.conduction import BLOCK_FIELDS, ConductionFeatures
from mmn_ddx.features.modes import fields_for_mode
from mmn_ddx.features.laboratory import ANTI_GM1_HIGH_TITRE, ANTI_GM1_POSITIVE, CSF_PLEOCYTOSIS_PER_UL, csf_protein_uln
from mmn_ddx.features.weakness import MRC_FIELDS, REGIONS, WeaknessFeatures, pair_asymmetric

Record = Mapping[str, Any]

PARAMETER_LABELS: dict[str, str] = {
    "nerves_definite_cb": "definite conduction block",
    "nerves_probable_cb": "probable conduction block",
    "nerves_cidp_cb": "conduction block by the CIDP definition",
    "nerves_dml_prolonged": "prolonged distal motor latency",
    "nerves_cv_slowed": "slowed motor conduction velocity",
    "nerves_fwave_prolonged": "prolonged F-wave latency",
    "nerves_fwave_absent": "absent F-waves",
    "nerves_temporal_dispersion": "abnormal temporal dispersion",
    "nerves_any_demyelinating": "any demyelinating abnormality",
}


def _get(record: Record, name: str) -> Any:
    """The value of ``name``, or None when not recorded (missing, None, NaN, pd.NA)."""
    value = record.get(name)
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _num(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def _plural(count: float, word: str, plural: str | None = None) -> str:
    return f"{_num(count)} {word if count == 1 else plural or word + 's'}"


def _region(name: str) -> str:
    """'arm_distal_left' -> 'left distal arm'; 'arm_distal' -> 'distal arm'."""
    limb, level, *side = name.split("_")
    return " ".join([*side, level, limb])


Known = Mapping[str, float] | None
"""The patient's engineered features by name when the caller already has them (the model's input row)."""


def _features(record: Record, part: type[ContractTransformer], known: Known = None) -> dict[str, float]:
    """One part's features of this record, by name (NaN = unknown): taken from ``known`` when it holds
    them all, else computed (memoised on the part's input values, since several findings word one part)."""
    names = _output_names(part)
    if known is not None and all(name in known for name in names):
        return {name: float(known[name]) for name in names}
    return dict(_part_features(part, tuple(_get(record, k) for k in part.input_fields)))


@lru_cache(maxsize=None)
def _output_names(part: type[ContractTransformer]) -> tuple[str, ...]:
    return tuple(part()._compute(Columns.empty(part.input_fields)))


@lru_cache(maxsize=256)
def _part_features(part: type[ContractTransformer], values: tuple[Any, ...]) -> tuple[tuple[str, float], ...]:
    columns = read_records([dict(zip(part.input_fields, values, strict=True))], part.input_fields)
    return tuple((name, float(column[0])) for name, column in part()._compute(columns).items())


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
    age_fields = ("age_at_onset_years", "symptom_duration_months")
    uln = float(csf_protein_uln(read_records([{k: _get(record, k) for k in age_fields}], age_fields))[0])
    if protein is None:
        first = "CSF protein not recorded"
    elif math.isnan(uln):
        first = f"CSF protein {protein:.2f} g/L (upper limit 0.50 or 0.60 g/L: age at work-up unknown)"
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
