"""Textbook phenotypes as patient records, for tests, documentation and demos (not real patients).

Each vignette is the classic presentation described by its guideline, so the criteria must classify it as
the guideline says: typical MMN with definite conduction block (EFNS/PNS 2010), classic ALS with upper and
lower motor neuron signs and progressive muscular atrophy with lower motor neuron signs in several regions
(Gold Coast 2020), typical CIDP and Lewis-Sumner syndrome (multifocal CIDP, EAN/PNS 2021). Fields that
would not have been examined are left null, as in clinic.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data import fields, to_canonical, validate_record

_MRC_NORMAL = {
    f"mrc_{limb}_{level}_{side}": 5.0
    for limb in ("arm", "leg")
    for level in ("proximal", "distal")
    for side in ("left", "right")
}
_NO_TREATMENT = {"ivig_response": "not_given", "corticosteroid_response": "not_given"}

_EXAMPLES: dict[str, dict[str, Any]] = {
    "typical_mmn": {
        "patient_id": "example-mmn",
        "age_at_onset_years": 40.0, "sex": "male", "symptom_duration_months": 36.0,
        "course": "progressive", "onset_region": "upper_limb",
        **_MRC_NORMAL, "mrc_arm_distal_right": 3.0,  # wrist and finger drop, radial + ulnar territories
        "weak_nerve_territories": 3, "bulbar_weakness": False, "respiratory_weakness": False,
        "cranial_nerve_palsy": False, "muscle_atrophy": "mild", "fasciculations": True, "cramps": True,
        "reflexes_affected_limbs": "reduced", "reflexes_unaffected_limbs": "normal",
        "upper_motor_neuron_signs": False,
        "sensory_symptoms": False, "sensory_loss": "none", "sensory_ataxia": False,
        "motor_nerves_studied": 8, "nerves_definite_cb": 2, "nerves_probable_cb": 1, "nerves_cidp_cb": 3,
        "nerves_any_demyelinating": 3, "nerves_dml_prolonged": 0, "nerves_cv_slowed": 0,
        "nerves_fwave_prolonged": 1, "nerves_fwave_absent": 0, "nerves_temporal_dispersion": 0,
        "sensory_nerves_studied": 6, "sensory_nerves_abnormal": 0, "sensory_normal_across_cb": True,
        "emg_regions_denervated": 1, "emg_fasciculation_potentials": True,
        "anti_gm1_igm_ratio": 5.0, "igm_paraprotein": False, "ultrasound_nerve_enlarged": True,
        "ivig_response": "improved", "corticosteroid_response": "not_given",
    },
    "classic_als": {
        "patient_id": "example-als",
        "age_at_onset_years": 62.0, "sex": "male", "symptom_duration_months": 14.0,
        "course": "progressive", "onset_region": "upper_limb",
        **_MRC_NORMAL, "mrc_arm_proximal_left": 4.0, "mrc_arm_distal_left": 3.0, "mrc_arm_distal_right": 4.0,
        "mrc_leg_distal_left": 4.0,
        "weak_nerve_territories": 0, "bulbar_weakness": True, "respiratory_weakness": False,
        "cranial_nerve_palsy": False, "muscle_atrophy": "marked", "fasciculations": True, "cramps": True,
        "reflexes_affected_limbs": "brisk", "reflexes_unaffected_limbs": "brisk",
        "upper_motor_neuron_signs": True,
        "sensory_symptoms": False, "sensory_loss": "none", "sensory_ataxia": False,
        "motor_nerves_studied": 6, "nerves_definite_cb": 0, "nerves_probable_cb": 0, "nerves_cidp_cb": 0,
        "nerves_any_demyelinating": 0, "nerves_dml_prolonged": 0, "nerves_cv_slowed": 0,
        "nerves_fwave_prolonged": 0, "nerves_fwave_absent": 0, "nerves_temporal_dispersion": 0,
        "sensory_nerves_studied": 4, "sensory_nerves_abnormal": 0,
        "emg_regions_denervated": 3, "emg_fasciculation_potentials": True,
        "anti_gm1_igm_ratio": 0.3, "csf_protein_g_per_l": 0.42, "csf_cells_per_ul": 1.0, "igm_paraprotein": False,
        **_NO_TREATMENT,
    },
    "progressive_muscular_atrophy": {
        "patient_id": "example-pma",
        "age_at_onset_years": 58.0, "sex": "female", "symptom_duration_months": 20.0,
        "course": "progressive", "onset_region": "upper_limb",
        **_MRC_NORMAL, "mrc_arm_distal_left": 3.0, "mrc_arm_distal_right": 4.0, "mrc_leg_distal_right": 4.0,
        "weak_nerve_territories": 0, "bulbar_weakness": False, "respiratory_weakness": False,
        "cranial_nerve_palsy": False, "muscle_atrophy": "marked", "fasciculations": True, "cramps": True,
        "reflexes_affected_limbs": "reduced", "reflexes_unaffected_limbs": "normal",
        "upper_motor_neuron_signs": False,
        "sensory_symptoms": False, "sensory_loss": "none", "sensory_ataxia": False,
        "motor_nerves_studied": 8, "nerves_definite_cb": 0, "nerves_probable_cb": 0, "nerves_cidp_cb": 0,
        "nerves_any_demyelinating": 0, "nerves_dml_prolonged": 0, "nerves_cv_slowed": 0,
        "nerves_fwave_prolonged": 0, "nerves_fwave_absent": 0, "nerves_temporal_dispersion": 0,
        "sensory_nerves_studied": 6, "sensory_nerves_abnormal": 0,
        "emg_regions_denervated": 3, "emg_fasciculation_potentials": True,
        "anti_gm1_igm_ratio": 0.4, "igm_paraprotein": False,
        **_NO_TREATMENT,
    },
    "typical_cidp": {
        "patient_id": "example-cidp",
        "age_at_onset_years": 58.0, "sex": "male", "symptom_duration_months": 10.0,
        "course": "progressive", "onset_region": "generalized",
        **{name: 4.0 for name in _MRC_NORMAL},
        "weak_nerve_territories": 0, "bulbar_weakness": False, "respiratory_weakness": False,
        "cranial_nerve_palsy": False, "muscle_atrophy": "mild", "fasciculations": False, "cramps": False,
        "reflexes_affected_limbs": "absent", "upper_motor_neuron_signs": False,
        "sensory_symptoms": True, "sensory_loss": "symmetric", "sensory_ataxia": True,
        "motor_nerves_studied": 8, "nerves_definite_cb": 0, "nerves_probable_cb": 1, "nerves_cidp_cb": 1,
        "nerves_any_demyelinating": 6, "nerves_dml_prolonged": 3, "nerves_cv_slowed": 4,
        "nerves_fwave_prolonged": 4, "nerves_fwave_absent": 2, "nerves_temporal_dispersion": 2,
        "sensory_nerves_studied": 6, "sensory_nerves_abnormal": 5, "sensory_normal_across_cb": False,
        "emg_regions_denervated": 1, "emg_fasciculation_potentials": False,
        "csf_protein_g_per_l": 1.2, "csf_cells_per_ul": 3.0, "igm_paraprotein": False,
        "mri_plexus_abnormal": True, "ultrasound_nerve_enlarged": True,
        "ivig_response": "improved", "corticosteroid_response": "not_given",
    },
    "lewis_sumner": {
        "patient_id": "example-madsam",
        "age_at_onset_years": 45.0, "sex": "female", "symptom_duration_months": 30.0,
        "course": "progressive", "onset_region": "upper_limb",
        **_MRC_NORMAL, "mrc_arm_distal_left": 3.0, "mrc_leg_distal_right": 4.0,
        "weak_nerve_territories": 3, "bulbar_weakness": False, "respiratory_weakness": False,
        "cranial_nerve_palsy": False, "muscle_atrophy": "mild", "fasciculations": False, "cramps": False,
        "reflexes_affected_limbs": "reduced", "reflexes_unaffected_limbs": "normal",
        "upper_motor_neuron_signs": False,
        "sensory_symptoms": True, "sensory_loss": "multifocal", "sensory_ataxia": False,
        "motor_nerves_studied": 8, "nerves_definite_cb": 2, "nerves_probable_cb": 1, "nerves_cidp_cb": 3,
        "nerves_any_demyelinating": 4, "nerves_dml_prolonged": 1, "nerves_cv_slowed": 1,
        "nerves_fwave_prolonged": 1, "nerves_fwave_absent": 0, "nerves_temporal_dispersion": 1,
        "sensory_nerves_studied": 6, "sensory_nerves_abnormal": 3, "sensory_normal_across_cb": False,
        "emg_regions_denervated": 1, "emg_fasciculation_potentials": False,
        "anti_gm1_igm_ratio": 0.5, "csf_protein_g_per_l": 0.7, "csf_cells_per_ul": 2.0, "igm_paraprotein": False,
        "mri_plexus_abnormal": True, "ultrasound_nerve_enlarged": True,
        "ivig_response": "improved", "corticosteroid_response": "not_given",
    },
}

EXAMPLE_NAMES: tuple[str, ...] = tuple(_EXAMPLES)


def example_record(name: str) -> dict[str, Any]:
    """A fresh copy of one vignette with every contract field present (unexamined fields null)."""
    if name not in _EXAMPLES:
        raise KeyError(f"unknown example {name!r}; choose one of {list(_EXAMPLES)}")
    record = dict.fromkeys(fields())
    record.update(copy.deepcopy(_EXAMPLES[name]))
    return record


def example_frame(name: str, **overrides: Any) -> pd.DataFrame:
    """One vignette, with fields overridden, validated against the contract, as a one-row canonical frame.

    Validation makes a vignette that breaks the contract fail loudly instead of testing nonsense. The
    canonical base frame is cached and the overrides are set in place, because building a canonical frame
    from scratch is slow compared with evaluating the criteria on it.
    """
    record = example_record(name)
    unknown = [f for f in overrides if f not in record]
    if unknown:
        raise KeyError(f"{unknown} are not contract fields")
    record.update(overrides)
    validate_record(record)
    frame = _base_frame(name).copy()
    for field, value in overrides.items():
        frame.loc[0, field] = (np.nan if fields()[field].type == "float" else pd.NA) if value is None else value
    if not frame.dtypes.equals(_base_frame(name).dtypes):  # pragma: no cover - guards the in-place update
        raise AssertionError("overriding a field changed a canonical dtype")
    return frame


@cache
def _base_frame(name: str) -> pd.DataFrame:
    return to_canonical(pd.DataFrame([validate_record(example_record(name)).to_dict()]))
