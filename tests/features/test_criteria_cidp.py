"""EAN/PNS 2021 CIDP criteria: elements around their thresholds, phenotypes, levels and the upgrade rule."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from mmn_ddx.features.criteria import cidp_ean2021 as cidp
from mmn_ddx.features.criteria import cidp_ean2021_investigations as inv
from mmn_ddx.features.criteria import evaluate_criteria, explain_criteria
from mmn_ddx.features.criteria.examples import example_frame

MET, NOT_MET, NA = "met", "not met", "not assessable"
MOTOR_ZERO = {f"nerves_{p}": 0 for p in ("dml_prolonged", "cv_slowed", "fwave_prolonged", "fwave_absent",
                                         "temporal_dispersion", "cidp_cb", "any_demyelinating")}
NO_SUPPORT = {"csf_protein_g_per_l": None, "ultrasound_nerve_enlarged": False, "mri_plexus_abnormal": False,
              "ivig_response": "not_given"}
FULL_STRENGTH = {f"mrc_{limb}_{level}_{side}": 5.0 for limb in ("arm", "leg") for level in ("proximal", "distal")
                 for side in ("left", "right")}


def status(series: pd.Series) -> str:
    value = series.iloc[0]
    return NA if value is pd.NA else (MET if value else NOT_MET)


ELEMENT_CASES = [
    # duration: at least 8 weeks = 1.85 months, inclusive
    (cidp.duration_at_least_8_weeks, {"symptom_duration_months": 1.85}, MET),
    (cidp.duration_at_least_8_weeks, {"symptom_duration_months": 1.84}, NOT_MET),
    (cidp.duration_at_least_8_weeks, {"symptom_duration_months": None}, NA),
    (cidp.progressive_or_relapsing_course, {"course": "relapsing"}, MET),
    (cidp.progressive_or_relapsing_course, {"course": None}, NA),
    # typical pattern: symmetric = no pair asymmetric by the MRC rule
    (cidp.typical_symmetric_weakness, {"mrc_arm_distal_left": 3.0, "mrc_arm_distal_right": 4.0}, MET),
    (cidp.typical_symmetric_weakness, {"mrc_arm_distal_left": 2.0, "mrc_arm_distal_right": 4.0}, NOT_MET),
    (cidp.typical_symmetric_weakness, {"mrc_leg_proximal_left": 5.0}, NOT_MET),  # one region not weak
    (cidp.typical_symmetric_weakness, {"mrc_leg_proximal_left": None}, NA),
    (cidp.typical_sensory_involvement, {"sensory_loss": "minor_vibration"}, NOT_MET),
    (cidp.typical_sensory_involvement, {"sensory_loss": None}, NA),
    # reflexes in all limbs: the unaffected-limb field is not needed when all four limbs are weak
    (cidp.typical_reflexes_reduced_all_limbs, {}, MET),
    (cidp.typical_reflexes_reduced_all_limbs, {"reflexes_affected_limbs": "normal"}, NOT_MET),
    (cidp.typical_reflexes_reduced_all_limbs, {"mrc_leg_proximal_left": 5.0, "mrc_leg_distal_left": 5.0}, NA),
    (cidp.typical_reflexes_reduced_all_limbs, {"mrc_leg_proximal_left": 5.0, "mrc_leg_distal_left": 5.0,
                                               "reflexes_unaffected_limbs": "normal"}, NOT_MET),
    # variants
    (cidp.multifocal_more_than_one_limb, {**FULL_STRENGTH, "mrc_arm_distal_left": 4.0}, NOT_MET),
    (cidp.multifocal_more_than_one_limb, {**FULL_STRENGTH, "mrc_arm_distal_left": 4.0, "mrc_leg_distal_right": 4.0},
     MET),
    (cidp.focal_one_limb, {**FULL_STRENGTH, "mrc_arm_distal_left": 4.0}, MET),
    (cidp.focal_one_limb, {**FULL_STRENGTH, "mrc_arm_distal_left": 4.0, "mrc_leg_distal_left": None}, NA),
    (cidp.distal_leg_weakness_only, {**FULL_STRENGTH, "mrc_leg_distal_left": 4.0}, MET),
    (cidp.distal_leg_weakness_only, {**FULL_STRENGTH, "mrc_leg_distal_left": 4.0, "mrc_arm_proximal_left": 4.0},
     NOT_MET),
    (cidp.motor_no_sensory_involvement, {"sensory_loss": "none", "sensory_symptoms": None}, NA),
    (cidp.motor_no_sensory_involvement, {"sensory_loss": "none", "sensory_symptoms": False}, MET),
    # exclusion: anti-MAG neuropathy
    (cidp.no_anti_mag_neuropathy, {"anti_mag_positive": True, "igm_paraprotein": True}, NOT_MET),
    (cidp.no_anti_mag_neuropathy, {"anti_mag_positive": True, "igm_paraprotein": False}, MET),  # needs IgM MGUS
    # only a recorded anti-MAG neuropathy excludes; unrecorded is flagged, not excluded (criteria.md §2.7)
    (cidp.no_anti_mag_neuropathy, {"anti_mag_positive": True, "igm_paraprotein": None}, MET),
    (cidp.no_anti_mag_neuropathy, {"anti_mag_positive": False, "igm_paraprotein": True}, MET),
    (cidp.no_anti_mag_neuropathy, {"anti_mag_positive": None, "igm_paraprotein": False}, MET),
    (cidp.no_anti_mag_neuropathy, {"anti_mag_positive": None, "igm_paraprotein": True}, MET),
    (cidp.no_anti_mag_neuropathy, {"anti_mag_positive": None, "igm_paraprotein": None}, MET),
    (cidp.anti_mag_neuropathy_ruled_out, {"anti_mag_positive": None, "igm_paraprotein": None}, NA),
    (cidp.anti_mag_neuropathy_ruled_out, {"anti_mag_positive": None, "igm_paraprotein": True}, NA),
    (cidp.anti_mag_neuropathy_ruled_out, {"anti_mag_positive": None, "igm_paraprotein": False}, MET),
    (cidp.anti_mag_neuropathy_ruled_out, {"anti_mag_positive": True, "igm_paraprotein": True}, NOT_MET),
    (cidp.focal_limb_is_arm, {**FULL_STRENGTH, "mrc_arm_distal_left": 4.0}, MET),
    (cidp.focal_limb_is_arm, {**FULL_STRENGTH, "mrc_leg_distal_left": 4.0}, NOT_MET),
    (cidp.focal_limb_is_arm, {**FULL_STRENGTH, "mrc_arm_distal_left": None}, NA),
    # motor conduction: 2 nerves strongly, 1 nerve weakly supportive
    (inv.a_dml_two_nerves, {**MOTOR_ZERO, "nerves_dml_prolonged": 2}, MET),
    (inv.a_dml_two_nerves, {**MOTOR_ZERO, "nerves_dml_prolonged": 1}, NOT_MET),
    (inv.a_dml_one_nerve, {**MOTOR_ZERO, "nerves_dml_prolonged": 1}, MET),
    (inv.a_dml_one_nerve, {**MOTOR_ZERO}, NOT_MET),
    (inv.a_dml_one_nerve, {**MOTOR_ZERO, "motor_nerves_studied": None}, NOT_MET),  # "none found" (v2 rule)
    (inv.b_cv_two_nerves, {**MOTOR_ZERO, "nerves_cv_slowed": 2}, MET),
    (inv.b_cv_two_nerves, {**MOTOR_ZERO, "nerves_cv_slowed": 1}, NOT_MET),
    (inv.c_fwave_latency_two_nerves, {**MOTOR_ZERO, "nerves_fwave_prolonged": 1}, NOT_MET),
    (inv.f_temporal_dispersion_two_nerves, {**MOTOR_ZERO, "nerves_temporal_dispersion": 2}, MET),
    # (d) F-waves absent in 2 nerves needs another parameter in a third, distinct nerve
    (inv.d_fwave_absent_two_nerves_plus_other, {**MOTOR_ZERO, "nerves_fwave_absent": 2, "nerves_cv_slowed": 1,
                                                 "nerves_any_demyelinating": 3}, MET),
    (inv.d_fwave_absent_two_nerves_plus_other, {**MOTOR_ZERO, "nerves_fwave_absent": 2, "nerves_cv_slowed": 1,
                                                 "nerves_any_demyelinating": 2}, NOT_MET),
    (inv.d_fwave_absent_two_nerves_plus_other, {**MOTOR_ZERO, "nerves_fwave_absent": 3,
                                                 "nerves_any_demyelinating": 3}, NOT_MET),
    # (e) conduction block: 2 nerves, or 1 nerve + another parameter (not F absence) in another nerve
    (inv.e_cb_two_nerves, {**MOTOR_ZERO, "nerves_cidp_cb": 2}, MET),
    (inv.e_cb_two_nerves, {**MOTOR_ZERO, "nerves_cidp_cb": 1}, NOT_MET),
    (inv.e_cb_one_nerve_plus_other, {**MOTOR_ZERO, "nerves_cidp_cb": 1, "nerves_dml_prolonged": 1,
                                      "nerves_any_demyelinating": 2}, MET),
    (inv.e_cb_one_nerve_plus_other, {**MOTOR_ZERO, "nerves_cidp_cb": 1, "nerves_fwave_absent": 1,
                                      "nerves_any_demyelinating": 2}, NOT_MET),
    (inv.e_cb_one_nerve_plus_other, {**MOTOR_ZERO, "nerves_cidp_cb": 1, "nerves_dml_prolonged": 1,
                                      "nerves_any_demyelinating": 1}, NOT_MET),
    # sensory conduction
    (inv.sensory_abnormal_two_nerves, {"sensory_nerves_abnormal": 2}, MET),
    (inv.sensory_abnormal_two_nerves, {"sensory_nerves_abnormal": 1}, NOT_MET),
    (inv.sensory_abnormal_two_nerves, {"sensory_nerves_abnormal": 1, "sensory_nerves_studied": None}, NA),
    (inv.sensory_normal_four_nerves, {"sensory_nerves_abnormal": 0, "sensory_nerves_studied": 4}, MET),
    (inv.sensory_normal_four_nerves, {"sensory_nerves_abnormal": 0, "sensory_nerves_studied": 3}, NOT_MET),
    (inv.sensory_normal_four_nerves, {"sensory_nerves_abnormal": 1, "sensory_nerves_studied": 6}, NOT_MET),
    # supportive: CSF cells < 10; immunotherapy
    (inv.supportive_csf, {"csf_cells_per_ul": 9.9}, MET),
    (inv.supportive_csf, {"csf_cells_per_ul": 10.0}, NOT_MET),
    (inv.supportive_csf, {"csf_cells_per_ul": None}, NA),
    (inv.supportive_csf, {"age_at_onset_years": 50.0, "symptom_duration_months": 0.0, "csf_protein_g_per_l": 0.5},
     NOT_MET),
    (inv.supportive_csf, {"age_at_onset_years": 50.0, "symptom_duration_months": 0.0, "csf_protein_g_per_l": 0.51},
     MET),
    (inv.supportive_csf, {"age_at_onset_years": 51.0, "symptom_duration_months": 0.0, "csf_protein_g_per_l": 0.6},
     NOT_MET),
    (inv.supportive_csf, {"age_at_onset_years": 51.0, "symptom_duration_months": 0.0, "csf_protein_g_per_l": 0.61},
     MET),
    (inv.supportive_immunotherapy_response, {"ivig_response": None, "corticosteroid_response": "improved"}, MET),
    (inv.supportive_immunotherapy_response, {"ivig_response": "not_given", "corticosteroid_response": "not_given"},
     NOT_MET),
    (inv.supportive_immunotherapy_response, {"ivig_response": None, "corticosteroid_response": "no_response"}, NA),
]


@pytest.mark.parametrize(("element", "overrides", "expected"), ELEMENT_CASES,
                         ids=[f"{e.id}-{i}" for i, (e, _, _) in enumerate(ELEMENT_CASES)])
def test_element_thresholds(element: Any, overrides: dict[str, Any], expected: str) -> None:
    assert status(element(example_frame("typical_cidp", **overrides))) == expected


WEAK_MOTOR = {**MOTOR_ZERO, "nerves_cv_slowed": 1, "nerves_any_demyelinating": 1}
SENSORY_PHENOTYPE = {**FULL_STRENGTH, **MOTOR_ZERO, "reflexes_affected_limbs": None,
                     "reflexes_unaffected_limbs": "absent"}

VERDICT_CASES = [
    ("typical CIDP", "typical_cidp", {}, "CIDP", "typical"),
    ("typical, one weakly supportive nerve", "typical_cidp", {**WEAK_MOTOR, **NO_SUPPORT}, "possible CIDP",
     "typical"),
    ("typical, one nerve + two supportive", "typical_cidp", WEAK_MOTOR, "CIDP", "typical"),
    ("typical, one sensory nerve abnormal", "typical_cidp", {"sensory_nerves_abnormal": 1}, "not met", None),
    ("under 8 weeks", "typical_cidp", {"symptom_duration_months": 1.84}, "not met", None),
    ("anti-MAG neuropathy", "typical_cidp", {"anti_mag_positive": True, "igm_paraprotein": True}, "not met", None),
    ("IgM paraprotein, anti-MAG not tested", "typical_cidp", {"igm_paraprotein": True}, "CIDP", "typical"),
    ("IgM paraprotein and anti-MAG unrecorded", "typical_cidp", {"igm_paraprotein": None}, "CIDP", "typical"),
    ("Lewis-Sumner", "lewis_sumner", {}, "CIDP", "multifocal"),
    ("Lewis-Sumner, one arm only = focal arm", "lewis_sumner", {"mrc_leg_distal_right": 5.0}, "CIDP", "focal arm"),
    ("Lewis-Sumner, one leg only = focal", "lewis_sumner", {"mrc_arm_distal_left": 5.0}, "CIDP", "focal"),
    ("motor CIDP", "typical_cidp", {"sensory_loss": "none", "sensory_symptoms": False, "sensory_nerves_abnormal": 0,
                                    "sensory_nerves_studied": 4}, "CIDP", "motor"),
    ("motor CIDP with three sensory nerves studied", "typical_cidp",
     {"sensory_loss": "none", "sensory_symptoms": False, "sensory_nerves_abnormal": 0, "sensory_nerves_studied": 3},
     "not met", None),
    ("distal CIDP", "typical_cidp", {**FULL_STRENGTH, "mrc_leg_distal_left": 4.0, "mrc_leg_distal_right": 4.0},
     "CIDP", "distal"),
    ("sensory CIDP, two supportive", "typical_cidp", SENSORY_PHENOTYPE, "CIDP", "sensory"),
    ("sensory CIDP, no supportive", "typical_cidp", {**SENSORY_PHENOTYPE, **NO_SUPPORT}, "possible CIDP", "sensory"),
    ("typical MMN", "typical_mmn", {}, "not met", None),
]


@pytest.mark.parametrize(("name", "example", "overrides", "verdict", "variant"), VERDICT_CASES,
                         ids=[c[0] for c in VERDICT_CASES])
def test_verdict_and_variant(name: str, example: str, overrides: dict[str, Any], verdict: str,
                             variant: str | None) -> None:
    row = evaluate_criteria(example_frame(example, **overrides)).iloc[0]
    assert row["cidp_ean2021"] == verdict
    assert (None if pd.isna(row["cidp_variant"]) else row["cidp_variant"]) == variant


@pytest.mark.parametrize(("variant_overrides", "maps_to"), [
    ({}, "CIDP"),
    ({"sensory_loss": "none", "sensory_symptoms": False, "sensory_nerves_abnormal": 0}, "other CIDP variant"),
])
def test_variants_map_to_project_labels(variant_overrides: dict[str, Any], maps_to: str) -> None:
    verdict = explain_criteria(example_frame("typical_cidp", **variant_overrides))[1]
    assert verdict.criteria == "cidp_ean2021"
    assert verdict.maps_to == maps_to


def test_lewis_sumner_maps_to_madsam() -> None:
    assert explain_criteria(example_frame("lewis_sumner"))[1].maps_to == "MADSAM"


@pytest.mark.parametrize(("overrides", "label"), [
    ({"mrc_leg_distal_right": 5.0}, "MADSAM"),  # confined to the left arm (criteria.md §2)
    ({"mrc_arm_distal_left": 5.0}, "unclassified"),  # confined to the right leg: other CIDP variant
])
def test_focal_cidp_confined_to_an_arm_is_madsam(overrides: dict[str, Any], label: str) -> None:
    frame = example_frame("lewis_sumner", **overrides)
    assert evaluate_criteria(frame)["rule_based_label"].iloc[0] == label
    assert explain_criteria(frame)[1].maps_to == ("MADSAM" if label == "MADSAM" else "other CIDP variant")


def test_unrecorded_anti_mag_is_flagged_not_excluded() -> None:
    """A fully worked-up typical CIDP whose IgM paraprotein was not recorded is CIDP; the explanation flags the
    anti-MAG neuropathy as not ruled out and names the fields, without making the verdict wait for them."""
    verdict = explain_criteria(example_frame("typical_cidp", igm_paraprotein=None))[1]
    assert (verdict.verdict, verdict.variant) == ("CIDP", "typical")
    flag = next(e for e in verdict.elements if e.id == "anti_mag_neuropathy_ruled_out")
    assert (flag.status, flag.used_in_verdict) == (NA, False)
    assert flag.missing_fields == ["igm_paraprotein", "anti_mag_positive"]
    assert verdict.missing_fields == []


def test_kleene_one_strong_parameter_decides_despite_unknown_others() -> None:
    unknown_motor = {k: None for k in MOTOR_ZERO} | {"nerves_dml_prolonged": 2}
    row = evaluate_criteria(example_frame("typical_cidp", **unknown_motor)).iloc[0]
    assert (row["cidp_ean2021"], row["cidp_variant"]) == ("CIDP", "typical")
    verdict = explain_criteria(example_frame("typical_cidp", **{k: None for k in MOTOR_ZERO}))[1]
    assert verdict.verdict == "not assessable"
    assert "nerves_dml_prolonged" in verdict.missing_fields
