"""The one feature -> finding map: which clinical finding each feature column expresses.

Explanations are given to neurologists per *finding* ("conduction block", "anti-GM1"), not per
column: serving sums the SHAP values of a finding's columns and words the result with
:func:`describe_finding` (for example "definite conduction block in 3 of 8 motor nerves", to which
serving appends ": towards MMN"). For every output column of :class:`~features.ClinicalFeatures` this
module states the finding group, the contract fields it is computed from and a clinician-readable
label. It is the only place these are written; tests check it against the transformers' actual
outputs and dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from mmn_ddx.data.contract import FEATURE_FIELDS, ID_FIELD, fields
from mmn_ddx.features import _finding_text as text
from mmn_ddx.features.clinical_features import feature_names
from mmn_ddx.features.conduction import BLOCK_FIELDS, DEMYELINATING_FIELDS, EAN_PNS_PARAMETERS
from mmn_ddx.features.modes import MODES, check_mode, fields_for_mode
from mmn_ddx.features.weakness import MRC_FIELDS, REGIONS

DELIBERATELY_UNUSED: frozenset[str] = frozenset({ID_FIELD})
"""Contract fields no feature is computed from: the free identifier is never a feature."""


Describe = Callable[[Mapping[str, Any], str, Mapping[str, float] | None], str]


@dataclass(frozen=True)
class FindingGroup:
    """A clinical finding as a neurologist names it, and how to state a patient's value of it."""

    key: str
    name: str
    describe: Describe
    """(record, mode, engineered features or None) -> the patient's value(s) of the finding, as a phrase."""


def _modeless(describe: Callable[[Mapping[str, Any]], str]) -> Describe:
    return lambda record, mode, features: describe(record)


def _from_features(describe: Callable[[Mapping[str, Any], Mapping[str, float] | None], str]) -> Describe:
    """For findings worded from derived quantities (worst grade, asymmetry, ...): reuse them if given."""
    return lambda record, mode, features: describe(record, features)


@dataclass(frozen=True)
class FeatureFinding:
    """One output column: its finding group, its source contract fields and a readable label."""

    column: str
    group: str
    fields: tuple[str, ...]
    label: str


FINDING_GROUPS: dict[str, FindingGroup] = {
    group.key: group
    for group in (
        FindingGroup("age_sex", "Age and sex", _modeless(text.age_sex)),
        FindingGroup("course", "Course and duration", _modeless(text.course)),
        FindingGroup("onset_region", "Region of onset", _modeless(text.onset_region)),
        FindingGroup("weakness_distribution", "Distribution of weakness", _from_features(text.weakness_distribution)),
        FindingGroup("asymmetry", "Left-right asymmetry of weakness", _from_features(text.asymmetry)),
        FindingGroup("nerve_territories", "Weakness in individual nerve territories", _modeless(text.nerve_territories)),
        FindingGroup("wasting", "Muscle wasting", _from_features(text.wasting)),
        FindingGroup("reflexes", "Tendon reflexes", _modeless(text.reflexes)),
        FindingGroup("umn_signs", "Upper motor neuron signs", _modeless(text.umn_signs)),
        FindingGroup("bulbar_respiratory", "Bulbar and respiratory weakness", _modeless(text.bulbar_respiratory)),
        FindingGroup("cranial_nerves", "Cranial nerve palsy", _modeless(text.cranial_nerves)),
        FindingGroup("fasciculations_cramps", "Fasciculations and cramps", _modeless(text.fasciculations_cramps)),
        FindingGroup("emg_denervation", "Denervation on needle EMG", _modeless(text.emg_denervation)),
        FindingGroup("sensory_signs", "Sensory symptoms, signs and ataxia", _modeless(text.sensory_signs)),
        FindingGroup("ncs_extent", "Nerve conduction studies performed", _modeless(text.ncs_extent)),
        FindingGroup("conduction_block", "Motor conduction block", _from_features(text.conduction_block)),
        FindingGroup("demyelination", "Demyelinating motor conduction abnormalities", _from_features(text.demyelination)),
        FindingGroup("sensory_conduction", "Sensory nerve conduction", _modeless(text.sensory_conduction)),
        FindingGroup("anti_gm1", "Anti-GM1 IgM antibodies", _modeless(text.anti_gm1)),
        FindingGroup("csf", "Cerebrospinal fluid", _modeless(text.csf)),
        FindingGroup("paraprotein", "IgM paraprotein and anti-MAG antibodies", _modeless(text.paraprotein)),
        FindingGroup("nerve_imaging", "Nerve imaging (plexus MRI, ultrasound)", _modeless(text.nerve_imaging)),
        FindingGroup("treatment_response", "Response to immunotherapy", _modeless(text.treatment_response)),
        FindingGroup("record_completeness", "Completeness of the record",
                     lambda record, mode, features: text.record_completeness(record, mode)),
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
_ROWS: list[tuple[str, str, tuple[str, ...], str]] = [
    ("age_at_onset_years", "age_sex", _AGE, "Age at onset (years)"),
    ("sex_male", "age_sex", ("sex",), "Male sex"),
    ("symptom_duration_months", "course", _DURATION, "Symptom duration (months)"),
    ("log_symptom_duration", "course", _DURATION, "Symptom duration (log scale)"),
    *[(f"course_{v}", "course", ("course",), f"Course: {v}") for v in _values("course")],
    *[(f"onset_{v}", "onset_region", ("onset_region",), f"Onset: {v.replace('_', ' ')}") for v in _values("onset_region")],
    *[(f"weakness_{f[4:]}", "weakness_distribution", (f,), f"Weakness, {_side(f[4:])} (5 - MRC)") for f in MRC_FIELDS],
    ("mrc_regions_recorded", "weakness_distribution", MRC_FIELDS, "Regions with a recorded MRC grade"),
    ("weakness_max", "weakness_distribution", MRC_FIELDS, "Worst weakness (5 - lowest MRC)"),
    ("weakness_mean", "weakness_distribution", MRC_FIELDS, "Mean weakness over examined regions"),
    ("weak_regions", "weakness_distribution", MRC_FIELDS, "Number of weak regions"),
    ("weak_limbs", "weakness_distribution", MRC_FIELDS, "Number of weak limbs"),
    ("distal_predominance", "weakness_distribution", MRC_FIELDS, "Distal minus proximal weakness"),
    ("arm_predominance", "weakness_distribution", MRC_FIELDS, "Arm minus leg weakness"),
    *[(f"asymmetry_{r}", "asymmetry", (f"mrc_{r}_left", f"mrc_{r}_right"), f"Left-right MRC difference, {r.replace('_', ' ')}")
      for r in REGIONS],
    ("efns_asymmetric_pairs", "asymmetry", MRC_FIELDS, "Region pairs asymmetric by the EFNS/PNS rule"),
    ("efns_asymmetric", "asymmetry", MRC_FIELDS, "Asymmetric weakness (EFNS/PNS 2010)"),
    ("asymmetry_index", "asymmetry", MRC_FIELDS, "Asymmetry index (0 symmetric - 1 one-sided)"),
    ("symmetric_four_limb_weakness", "asymmetry", MRC_FIELDS, "Symmetric proximal and distal weakness of four limbs"),
    ("weak_nerve_territories", "nerve_territories", ("weak_nerve_territories",), "Weak nerve territories"),
    ("multifocal_pattern_score", "nerve_territories", (*MRC_FIELDS, "weak_nerve_territories"), "Multifocal pattern score"),
    ("emg_regions_denervated", "emg_denervation", ("emg_regions_denervated",), "EMG regions with denervation"),
    ("emg_not_done", "emg_denervation", ("emg_regions_denervated", "emg_fasciculation_potentials"), "Needle EMG not done"),
    ("emg_fasciculation_potentials", "emg_denervation", ("emg_fasciculation_potentials",), "Fasciculation potentials on EMG"),
    ("umn_signs", "umn_signs", ("upper_motor_neuron_signs",), "Upper motor neuron signs"),
    ("bulbar_weakness", "bulbar_respiratory", ("bulbar_weakness",), "Bulbar weakness"),
    ("respiratory_weakness", "bulbar_respiratory", ("respiratory_weakness",), "Respiratory weakness"),
    ("cranial_nerve_palsy", "cranial_nerves", ("cranial_nerve_palsy",), "Cranial nerve palsy (non-bulbar)"),
    ("fasciculations", "fasciculations_cramps", ("fasciculations",), "Visible fasciculations"),
    ("cramps", "fasciculations_cramps", ("cramps",), "Cramps"),
    *[(f"reflexes_{where}_{v}", "reflexes", (f"reflexes_{where}_limbs",), f"Reflexes {v} in {where} limbs")
      for where in ("affected", "unaffected") for v in _values("reflexes_affected_limbs")],
    ("atrophy_grade", "wasting", ("muscle_atrophy",), "Muscle wasting (0 none - 2 marked)"),
    ("atrophy_vs_weakness", "wasting", ("muscle_atrophy", *MRC_FIELDS), "Wasting relative to weakness"),
    ("lmn_regions_clinical", "wasting", ("bulbar_weakness", "muscle_atrophy", *MRC_FIELDS), "Regions with weakness and wasting"),
    ("umn_with_lmn", "umn_signs", ("upper_motor_neuron_signs", "bulbar_weakness", "muscle_atrophy", *MRC_FIELDS,
                                   "emg_regions_denervated"), "UMN signs with LMN signs"),
    ("sensory_symptoms", "sensory_signs", ("sensory_symptoms",), "Sensory symptoms"),
    *[(f"sensory_loss_{v}", "sensory_signs", ("sensory_loss",), f"Sensory loss: {v.replace('_', ' ')}") for v in _values("sensory_loss")],
    ("sensory_involvement", "sensory_signs", ("sensory_symptoms", "sensory_loss"), "Any sensory involvement"),
    ("sensory_ataxia", "sensory_signs", ("sensory_ataxia",), "Sensory ataxia"),
    ("sensory_nerves_studied", "ncs_extent", ("sensory_nerves_studied",), "Sensory nerves studied"),
    ("sensory_ncs_not_done", "ncs_extent", ("sensory_nerves_studied", "sensory_nerves_abnormal"), "Sensory NCS not done"),
    ("sensory_nerves_abnormal", "sensory_conduction", ("sensory_nerves_abnormal",), "Abnormal sensory nerves"),
    ("sensory_nerves_abnormal_fraction", "sensory_conduction", ("sensory_nerves_abnormal", "sensory_nerves_studied"),
     "Fraction of sensory nerves abnormal"),
    ("sensory_normal_across_cb", "sensory_conduction", ("sensory_normal_across_cb",), "Sensory conduction normal across block"),
    ("motor_nerves_studied", "ncs_extent", ("motor_nerves_studied",), "Motor nerves studied"),
    ("motor_ncs_not_done", "ncs_extent", ("motor_nerves_studied", *BLOCK_FIELDS.values(), *DEMYELINATING_FIELDS.values()),
     "Motor NCS not done"),
    *[row for group, counts in (("conduction_block", BLOCK_FIELDS), ("demyelination", DEMYELINATING_FIELDS))
      for prefix, field in counts.items() for row in (
        (f"{prefix}_nerves", group, (field,), f"{_sentence(text.PARAMETER_LABELS[field])} (nerves)"),
        (f"{prefix}_fraction", group, (field, "motor_nerves_studied"),
         f"{_sentence(text.PARAMETER_LABELS[field])} (fraction of nerves)"))],
    ("demyelinating_any", "demyelination", (*EAN_PNS_PARAMETERS, "nerves_any_demyelinating"), "Any demyelinating abnormality"),
    ("demyelinating_parameters", "demyelination", EAN_PNS_PARAMETERS, "Number of abnormal EAN/PNS parameters"),
    ("anti_gm1_log2_ratio", "anti_gm1", ("anti_gm1_igm_ratio",), "Anti-GM1 IgM (log2 of ratio to cut-off)"),
    ("anti_gm1_positive", "anti_gm1", ("anti_gm1_igm_ratio",), "Anti-GM1 IgM positive"),
    ("anti_gm1_high_titre", "anti_gm1", ("anti_gm1_igm_ratio",), "Anti-GM1 IgM high titre"),
    ("anti_gm1_not_tested", "anti_gm1", ("anti_gm1_igm_ratio",), "Anti-GM1 not tested"),
    ("csf_protein_g_per_l", "csf", _CSF, "CSF protein (g/L)"),
    ("csf_protein_to_uln", "csf", (*_CSF, *_AGE, *_DURATION), "CSF protein / age-adjusted upper limit"),
    ("csf_protein_elevated", "csf", (*_CSF, *_AGE, *_DURATION), "CSF protein raised"),
    ("csf_cells_per_ul", "csf", ("csf_cells_per_ul",), "CSF cells (/uL)"),
    ("csf_pleocytosis", "csf", ("csf_cells_per_ul",), "CSF cells >= 10/uL"),
    ("csf_not_done", "csf", (*_CSF, "csf_cells_per_ul"), "CSF not examined"),
    ("igm_paraprotein", "paraprotein", ("igm_paraprotein",), "IgM paraprotein"),
    ("paraprotein_not_tested", "paraprotein", ("igm_paraprotein",), "Paraprotein not tested"),
    ("anti_mag_positive", "paraprotein", ("anti_mag_positive",), "Anti-MAG antibodies"),
    ("anti_mag_not_tested", "paraprotein", ("anti_mag_positive",), "Anti-MAG not tested"),
    ("mri_plexus_abnormal", "nerve_imaging", ("mri_plexus_abnormal",), "Plexus MRI abnormal"),
    ("mri_not_done", "nerve_imaging", ("mri_plexus_abnormal",), "Plexus MRI not done"),
    ("ultrasound_nerve_enlarged", "nerve_imaging", ("ultrasound_nerve_enlarged",), "Nerve enlargement on ultrasound"),
    ("ultrasound_not_done", "nerve_imaging", ("ultrasound_nerve_enlarged",), "Nerve ultrasound not done"),
    *[(f"ivig_{v}", "treatment_response", ("ivig_response",), f"IVIg: {v.replace('_', ' ')}") for v in _values("ivig_response")],
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


def describe_finding(group: str, record: Mapping[str, Any], mode: str = MODES[0],
                     features: Mapping[str, float] | None = None) -> str:
    """The patient's actual value(s) for one finding, e.g. "anti-GM1 IgM 8.0× cut-off (high titre)".

    ``record`` maps contract fields to values (a ``PatientRecord.to_dict()``, or a row of a canonical
    frame); a missing key, ``None``, NaN and ``pd.NA`` all mean "not recorded". ``mode`` matters only
    for record completeness, which does not count treatment fields at presentation. ``features``: the
    record's engineered features by name (``ClinicalFeatures`` output, e.g. the model's input row), when
    the caller has them: derived quantities are read from them instead of being computed again.
    """
    return _group(group).describe(record, check_mode(mode), features)


def _group(group: str) -> FindingGroup:
    try:
        return FINDING_GROUPS[group]
    except KeyError:
        raise KeyError(f"unknown finding group {group!r}; known: {', '.join(FINDING_GROUPS)}") from None
