"""The one feature -> finding map: which clinical finding each feature column expresses.

Explanations are given to neurologists per *finding* ("conduction block", "anti-GM1"), not per
column: serving sums the SHAP values of a finding's columns and words the result with
:func:`serving.wording.describe_finding` (for example "definite conduction block in 3 of 8 motor
nerves", to which serving appends ": towards MMN") from the facts given here (:func:`derived_features`). For every
output column of :class:`~features.ClinicalFeatures` this
module states the finding group, the contract fields it is computed from and a clinician-readable
label. It is the only place these are written; tests check it against the transformers' actual
outputs and dependencies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data import FEATURE_FIELDS, ID_FIELD, WORKUP_AGE_FIELDS, fields
from mmn_ddx.features._base import ContractTransformer
from mmn_ddx.features._columns import Columns
from mmn_ddx.features._records import read_records
from mmn_ddx.features.clinical_features import feature_names
from mmn_ddx.features.conduction import BLOCK_FIELDS, DEMYELINATING_FIELDS, EAN_PNS_PARAMETERS
from mmn_ddx.features.conduction import WORDS as NCS_WORDS
from mmn_ddx.features.laboratory import csf_protein_uln
from mmn_ddx.features.modes import MODES, check_mode, fields_for_mode
from mmn_ddx.features.motor_neuron import REFLEX_FIELDS
from mmn_ddx.features.weakness import MRC_FIELDS, REGIONS
from mmn_ddx.features.weakness import WORDS as WEAKNESS_WORDS

DELIBERATELY_UNUSED: frozenset[str] = frozenset({ID_FIELD})
"""Contract fields no feature is computed from: the free identifier is never a feature."""

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
"""Name of each nerve conduction count (a column label here, a phrase in ``serving.wording``)."""


@dataclass(frozen=True)
class FindingGroup:
    """A clinical finding as a neurologist names it (how a patient's value is worded: ``serving.wording``)."""

    key: str
    name: str


@dataclass(frozen=True)
class FeatureFinding:
    """One output column: its finding group, its source contract fields and a readable label."""

    column: str
    group: str
    fields: tuple[str, ...]
    label: str


FINDING_GROUPS: dict[str, FindingGroup] = {
    key: FindingGroup(key, name)
    for key, name in (
        ("age_sex", "Age and sex"),
        ("course", "Course and duration"),
        ("onset_region", "Region of onset"),
        ("weakness_distribution", "Distribution of weakness"),
        ("asymmetry", "Left-right asymmetry of weakness"),
        ("nerve_territories", "Weakness in individual nerve territories"),
        ("wasting", "Muscle wasting"),
        ("reflexes", "Tendon reflexes"),
        ("umn_signs", "Upper motor neuron signs"),
        ("bulbar_respiratory", "Bulbar and respiratory weakness"),
        ("cranial_nerves", "Cranial nerve palsy"),
        ("fasciculations_cramps", "Fasciculations and cramps"),
        ("emg_denervation", "Denervation on needle EMG"),
        ("sensory_signs", "Sensory symptoms, signs and ataxia"),
        ("ncs_extent", "Nerve conduction studies performed"),
        ("conduction_block", "Motor conduction block"),
        ("demyelination", "Demyelinating or axonal motor conduction"),
        ("sensory_conduction", "Sensory nerve conduction"),
        ("anti_gm1", "Anti-GM1 IgM antibodies"),
        ("csf", "Cerebrospinal fluid"),
        ("paraprotein", "IgM paraprotein and anti-MAG antibodies"),
        ("nerve_imaging", "Nerve imaging (plexus MRI, ultrasound)"),
        ("treatment_response", "Response to immunotherapy"),
        ("record_completeness", "Completeness of the record"),
    )
}


def _values(field: str) -> tuple[str, ...]:
    return fields()[field].values or ()


def _sentence(phrase: str) -> str:
    return phrase[0].upper() + phrase[1:]


def _side(name: str) -> str:
    """'arm_distal_left' -> 'left distal arm'."""
    limb, level, side = name.split("_")
    return f"{side} {level} {limb}"


_AGE, _DURATION, _CSF = ("age_at_onset_years",), ("symptom_duration_months",), ("csf_protein_g_per_l",)
_SYMMETRY, _LIMBS, _BLOCKS = ("weakness_symmetry",), ("weak_arms", "weak_legs"), ("motor_nerves_studied",
                                                                                 *BLOCK_FIELDS.values())
_WEAK_LIMBS = (*MRC_FIELDS, *_SYMMETRY, *_LIMBS)  # which limbs are weak: grades or words
_ROWS: list[tuple[str, str, tuple[str, ...], str]] = [
    ("age_at_onset_years", "age_sex", _AGE, "Age at onset (years)"),
    ("sex_male", "age_sex", ("sex",), "Male sex"),
    ("symptom_duration_months", "course", _DURATION, "Symptom duration (months)"),
    ("log_symptom_duration", "course", _DURATION, "Symptom duration (log scale)"),
    *[(f"course_{v}", "course", ("course",), f"Course: {v}") for v in _values("course")],
    *[(f"onset_{v}", "onset_region", ("onset_region",), f"Onset: {v.replace('_', ' ')}")
      for v in _values("onset_region")],
    *[(f"weakness_{f[4:]}", "weakness_distribution", (f,), f"Weakness, {_side(f[4:])} (5 - MRC)") for f in MRC_FIELDS],
    ("mrc_regions_recorded", "weakness_distribution", MRC_FIELDS, "Regions with a recorded MRC grade"),
    ("weakness_max", "weakness_distribution", _WEAK_LIMBS, "Worst weakness (5 - lowest MRC)"),
    ("weakness_mean", "weakness_distribution", MRC_FIELDS, "Mean weakness over examined regions"),
    ("weak_regions", "weakness_distribution", MRC_FIELDS, "Number of weak regions"),
    ("weak_limbs", "weakness_distribution", _WEAK_LIMBS, "Number of weak limbs"),
    ("distal_predominance", "weakness_distribution", MRC_FIELDS, "Distal minus proximal weakness"),
    ("arm_predominance", "weakness_distribution", MRC_FIELDS, "Arm minus leg weakness"),
    ("distal_predominant", "weakness_distribution", (*_WEAK_LIMBS, "weakness_predominance"),
     "Distal-predominant weakness"),
    ("arms_only", "weakness_distribution", _WEAK_LIMBS, "Weakness confined to the arms"),
    *[(f"asymmetry_{r}", "asymmetry", (f"mrc_{r}_left", f"mrc_{r}_right"),
       f"Left-right MRC difference, {r.replace('_', ' ')}")
      for r in REGIONS],
    ("efns_asymmetric_pairs", "asymmetry", MRC_FIELDS, "Region pairs asymmetric by the EFNS/PNS rule"),
    ("efns_asymmetric", "asymmetry", _WEAK_LIMBS, "Asymmetric weakness (EFNS/PNS 2010 rule or stated)"),
    ("asymmetry_index", "asymmetry", MRC_FIELDS, "Asymmetry index (0 symmetric - 1 one-sided)"),
    ("symmetric_four_limb_weakness", "asymmetry", (*MRC_FIELDS, *WEAKNESS_WORDS),
     "Symmetric proximal and distal weakness of four limbs"),
    ("weak_nerve_territories", "nerve_territories", ("weak_nerve_territories",), "Weak nerve territories"),
    ("multifocal_pattern_score", "nerve_territories", (*MRC_FIELDS, "weak_nerve_territories"),
     "Multifocal pattern score"),
    ("emg_regions_denervated", "emg_denervation", ("emg_regions_denervated",), "EMG regions with denervation"),
    ("emg_not_done", "emg_denervation", ("emg_regions_denervated", "emg_fasciculation_potentials"),
     "Needle EMG not done or not recorded"),
    ("emg_fasciculation_potentials", "emg_denervation", ("emg_fasciculation_potentials",),
     "Fasciculation potentials on EMG"),
    ("umn_signs", "umn_signs", ("upper_motor_neuron_signs",), "Upper motor neuron signs"),
    ("bulbar_weakness", "bulbar_respiratory", ("bulbar_weakness",), "Bulbar weakness"),
    ("respiratory_weakness", "bulbar_respiratory", ("respiratory_weakness",), "Respiratory weakness"),
    ("cranial_nerve_palsy", "cranial_nerves", ("cranial_nerve_palsy",), "Cranial nerve palsy (non-bulbar)"),
    ("fasciculations", "fasciculations_cramps", ("fasciculations",), "Visible fasciculations"),
    ("cramps", "fasciculations_cramps", ("cramps",), "Cramps"),
    # a limb is known weak from grades or weak_arms / weak_legs, known not weak from those or "no weakness"
    *[(f"reflexes_{where}_{v}", "reflexes", (f"reflexes_{where}_limbs", *REFLEX_FIELDS[2:], *MRC_FIELDS, *_LIMBS,
                                             *(_SYMMETRY if where == "unaffected" else ())),
       f"Reflexes {v} in {where} limbs")
      for where in ("affected", "unaffected") for v in _values("reflexes_affected_limbs")],
    # the limb's own field, else the affected / unaffected reflexes by whether that limb is weak
    *[(f"reflexes_{limbs}_grade", "reflexes", (f"reflexes_{limbs}", *REFLEX_FIELDS[:2],
                                              *(f for f in MRC_FIELDS if f.startswith(f"mrc_{limbs[:-1]}_")),
                                              f"weak_{limbs}", *_SYMMETRY),
       f"Reflexes in the {limbs} (0 absent - 3 brisk)")
      for limbs in ("arms", "legs")],
    ("atrophy_grade", "wasting", ("muscle_atrophy",), "Muscle wasting (0 none - 2 marked)"),
    ("atrophy_vs_weakness", "wasting", ("muscle_atrophy", *MRC_FIELDS), "Wasting relative to weakness"),
    ("lmn_regions_clinical", "wasting", ("bulbar_weakness", "muscle_atrophy", *MRC_FIELDS),
     "Regions with weakness and wasting"),
    ("umn_with_lmn", "umn_signs", ("upper_motor_neuron_signs", "bulbar_weakness", "muscle_atrophy", *MRC_FIELDS,
                                   "emg_regions_denervated"), "UMN signs with LMN signs"),
    ("sensory_symptoms", "sensory_signs", ("sensory_symptoms",), "Sensory symptoms"),
    *[(f"sensory_loss_{v}", "sensory_signs", ("sensory_loss",), f"Sensory loss: {v.replace('_', ' ')}")
      for v in _values("sensory_loss")],
    ("sensory_involvement", "sensory_signs", ("sensory_symptoms", "sensory_loss"), "Any sensory involvement"),
    ("sensory_ataxia", "sensory_signs", ("sensory_ataxia",), "Sensory ataxia"),
    ("sensory_nerves_studied", "ncs_extent", ("sensory_nerves_studied",), "Sensory nerves studied"),
    ("sensory_ncs_not_done", "ncs_extent", ("sensory_nerves_studied", "sensory_nerves_abnormal", "sensory_ncs"),
     "Sensory NCS not done or not recorded"),
    ("sensory_nerves_abnormal", "sensory_conduction", ("sensory_nerves_abnormal",), "Abnormal sensory nerves"),
    ("sensory_nerves_abnormal_fraction", "sensory_conduction", ("sensory_nerves_abnormal", "sensory_nerves_studied"),
     "Fraction of sensory nerves abnormal"),
    ("sensory_ncs_abnormal", "sensory_conduction", ("sensory_nerves_abnormal", "sensory_nerves_studied", "sensory_ncs"),
     "Abnormal sensory conduction (counted or stated)"),
    ("sensory_normal_across_cb", "sensory_conduction", ("sensory_normal_across_cb",),
     "Sensory conduction normal across block"),
    ("motor_nerves_studied", "ncs_extent", ("motor_nerves_studied",), "Motor nerves studied"),
    ("motor_ncs_not_done", "ncs_extent",
     ("motor_nerves_studied", *BLOCK_FIELDS.values(), *DEMYELINATING_FIELDS.values(), *NCS_WORDS),
     "Motor NCS not done or not recorded"),
    *[row for group, counts in (("conduction_block", BLOCK_FIELDS), ("demyelination", DEMYELINATING_FIELDS))
      for prefix, field in counts.items() for row in (
        (f"{prefix}_nerves", group, (field,), f"{_sentence(PARAMETER_LABELS[field])} (nerves)"),
        (f"{prefix}_fraction", group, (field, "motor_nerves_studied"),
         f"{_sentence(PARAMETER_LABELS[field])} (fraction of nerves)"))],
    ("cb_present", "conduction_block", (*_BLOCKS, "motor_conduction_block"),
     "Conduction block present (counted or stated)"),
    ("cb_extent", "conduction_block", (*_BLOCKS, "motor_conduction_block"),
     "Nerves with conduction block (0, 1, 2 = two or more)"),
    ("demyelinating_any", "demyelination",
     (*EAN_PNS_PARAMETERS, "nerves_any_demyelinating", "motor_nerves_studied", "motor_ncs_pattern"),
     "Demyelinating features (counted or stated)"),
    ("demyelinating_parameters", "demyelination", EAN_PNS_PARAMETERS, "Number of abnormal EAN/PNS parameters"),
    ("motor_ncs_axonal", "demyelination", ("motor_ncs_pattern",), "Axonal features on motor conduction"),
    ("anti_gm1_log2_ratio", "anti_gm1", ("anti_gm1_igm_ratio",), "Anti-GM1 IgM (log2 of ratio to cut-off)"),
    ("anti_gm1_positive", "anti_gm1", ("anti_gm1_igm_ratio", "anti_gm1_igm"), "Anti-GM1 IgM positive"),
    ("anti_gm1_high_titre", "anti_gm1", ("anti_gm1_igm_ratio", "anti_gm1_igm"), "Anti-GM1 IgM high titre"),
    ("anti_gm1_not_tested", "anti_gm1", ("anti_gm1_igm_ratio", "anti_gm1_igm"), "Anti-GM1 not tested or not recorded"),
    ("csf_protein_g_per_l", "csf", _CSF, "CSF protein (g/L)"),
    ("csf_protein_to_uln", "csf", (*_CSF, *_AGE, *_DURATION), "CSF protein / age-adjusted upper limit"),
    ("csf_protein_elevated", "csf", (*_CSF, *_AGE, *_DURATION, "csf_protein_raised"), "CSF protein raised"),
    ("csf_cells_per_ul", "csf", ("csf_cells_per_ul",), "CSF cells (/uL)"),
    ("csf_pleocytosis", "csf", ("csf_cells_per_ul",), "CSF cells >= 10/uL"),
    ("csf_not_done", "csf", (*_CSF, "csf_cells_per_ul", "csf_protein_raised"), "CSF not examined or not recorded"),
    ("igm_paraprotein", "paraprotein", ("igm_paraprotein",), "IgM paraprotein"),
    ("paraprotein_not_tested", "paraprotein", ("igm_paraprotein",), "Paraprotein not tested or not recorded"),
    ("anti_mag_positive", "paraprotein", ("anti_mag_positive",), "Anti-MAG antibodies"),
    ("anti_mag_not_tested", "paraprotein", ("anti_mag_positive",), "Anti-MAG not tested or not recorded"),
    ("mri_plexus_abnormal", "nerve_imaging", ("mri_plexus_abnormal",), "Plexus MRI abnormal"),
    ("mri_not_done", "nerve_imaging", ("mri_plexus_abnormal",), "Plexus MRI not done or not recorded"),
    ("ultrasound_nerve_enlarged", "nerve_imaging", ("ultrasound_nerve_enlarged",), "Nerve enlargement on ultrasound"),
    ("ultrasound_not_done", "nerve_imaging", ("ultrasound_nerve_enlarged",),
     "Nerve ultrasound not done or not recorded"),
    *[(f"ivig_{v}", "treatment_response", ("ivig_response",), f"IVIg: {v.replace('_', ' ')}")
      for v in _values("ivig_response")],
    *[(f"steroid_{v}", "treatment_response", ("corticosteroid_response",), f"Corticosteroids: {v.replace('_', ' ')}")
      for v in _values("corticosteroid_response")],
    ("fields_recorded", "record_completeness", (), "Number of recorded fields"),  # fields depend on the mode
]
_TABLE: dict[str, FeatureFinding] = {row[0]: FeatureFinding(*row) for row in _ROWS}


def feature_map(mode: str = MODES[0]) -> dict[str, FeatureFinding]:
    """Every output column of ``ClinicalFeatures(mode)``, in output order, with its finding.

    Raises ``KeyError`` naming any column the map does not cover (a test keeps that from happening).
    """
    return dict(_feature_map(check_mode(mode)))


@cache
def _feature_map(mode: str) -> dict[str, FeatureFinding]:
    unmapped = [column for column in feature_names(mode) if column not in _TABLE]
    if unmapped:
        raise KeyError(f"feature columns missing from the finding map: {unmapped}")
    out = {column: _TABLE[column] for column in feature_names(mode)}
    completeness = out["fields_recorded"]  # the two required fields are always recorded: they cannot move it
    optional = tuple(name for name in fields_for_mode(FEATURE_FIELDS, mode) if not fields()[name].required)
    out["fields_recorded"] = FeatureFinding(completeness.column, completeness.group, optional, completeness.label)
    return out


def group_columns(mode: str = MODES[0]) -> dict[str, list[str]]:
    """Finding group -> its output columns in ``mode`` (groups in :data:`FINDING_GROUPS` order)."""
    columns: dict[str, list[str]] = {key: [] for key in FINDING_GROUPS}
    for column, finding in feature_map(mode).items():
        columns[finding.group].append(column)
    return {key: value for key, value in columns.items() if value}


def finding_name(group: str) -> str:
    """The clinician-readable name of a finding group."""
    return _group(group).name


def _group(group: str) -> FindingGroup:
    try:
        return FINDING_GROUPS[group]
    except KeyError:
        raise KeyError(f"unknown finding group {group!r}; known: {', '.join(FINDING_GROUPS)}") from None


# --- a patient's facts behind each finding (worded by serving.wording) -----------------------------------

Known = Mapping[str, float] | None
"""The patient's engineered features by name when the caller already has them (the model's input row)."""


def record_value(record: Mapping[str, Any], name: str) -> Any:
    """The value of ``name``, or None when not recorded (missing, None, NaN, pd.NA)."""
    value = record.get(name)
    if value is None:  # the commonest value of a served record (validated: null is None), then plain values
        return None
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return value
    if kind is float:
        return None if math.isnan(value) else value
    if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def derived_features(record: Mapping[str, Any], part: type[ContractTransformer], known: Known = None
                     ) -> Mapping[str, float]:
    """One part's features of this record, by name (NaN = unknown): ``known`` itself when it holds them all
    (read by name only; a served explanation words ~10 findings from it), else computed (memoised on the
    part's input values, since several findings word one part)."""
    if known is not None and known.keys() >= _output_set(part):  # type: ignore[arg-type]  # a class is hashable
        return known
    values = tuple(record_value(record, k) for k in part.input_fields)
    return dict(_part_features(part, values))  # type: ignore[arg-type]  # a class is hashable, as above


def csf_protein_limit(record: Mapping[str, Any]) -> float:
    """The age-adjusted upper limit of CSF protein (g/L) for this record; NaN when age at work-up is unknown.
    The record is one the contract accepted (it is being worded): its two numbers are only encoded."""
    return _csf_protein_limit(tuple(record_value(record, k) for k in WORKUP_AGE_FIELDS))


@lru_cache(maxsize=1024)
def _csf_protein_limit(values: tuple[Any, ...]) -> float:
    """Memoised on the two numbers: a batch words many CSF findings, and reading them costs ~20 us."""
    return float(csf_protein_uln(read_records([dict(zip(WORKUP_AGE_FIELDS, values, strict=True))],
                                              WORKUP_AGE_FIELDS, validated=True))[0])


@cache
def _output_names(part: type[ContractTransformer]) -> tuple[str, ...]:
    return tuple(part()._compute(Columns.empty(part.input_fields)))


@cache
def _output_set(part: type[ContractTransformer]) -> frozenset[str]:
    return frozenset(_output_names(part))  # type: ignore[arg-type]  # a class is hashable, as above


@lru_cache(maxsize=256)
def _part_features(part: type[ContractTransformer], values: tuple[Any, ...]) -> tuple[tuple[str, float], ...]:
    columns = read_records([dict(zip(part.input_fields, values, strict=True))], part.input_fields)
    return tuple((name, float(column[0])) for name, column in part()._compute(columns).items())
