"""Gold Coast 2020 ALS criteria and the coarse revised El Escorial proxy."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from mmn_ddx.features.criteria import als_gold_coast as als
from mmn_ddx.features.criteria import evaluate_criteria, explain_criteria
from mmn_ddx.features.criteria.examples import example_frame

MET, NOT_MET, NA = "met", "not met", "not assessable"
FULL_STRENGTH = {f"mrc_{limb}_{level}_{side}": 5.0 for limb in ("arm", "leg") for level in ("proximal", "distal")
                 for side in ("left", "right")}
NO_CLINICAL_LMN = {**FULL_STRENGTH, "bulbar_weakness": False}


def status(series: pd.Series) -> str:
    value = series.iloc[0]
    return NA if value is pd.NA else (MET if value else NOT_MET)


ELEMENT_CASES = [
    (als.gc1_progressive_motor_impairment, {"course": "stepwise"}, MET),
    (als.gc1_progressive_motor_impairment, {"course": "relapsing"}, NOT_MET),
    (als.gc1_progressive_motor_impairment, {"course": None}, NA),
    # UMN dysfunction: pathological signs, or a reflex preserved in weak, wasted limbs (PMA: weak arms, marked
    # atrophy, reduced reflexes)
    (als.gc2_upper_motor_neuron_dysfunction, {}, NOT_MET),
    (als.gc2_upper_motor_neuron_dysfunction, {"upper_motor_neuron_signs": True}, MET),
    (als.gc2_upper_motor_neuron_dysfunction, {"reflexes_affected_limbs": "brisk"}, MET),
    (als.gc2_upper_motor_neuron_dysfunction, {"reflexes_affected_limbs": "normal"}, MET),  # preserved, wasted
    (als.gc2_upper_motor_neuron_dysfunction, {"reflexes_affected_limbs": "brisk", "muscle_atrophy": "none"},
     NOT_MET),  # brisk reflexes alone
    (als.gc2_upper_motor_neuron_dysfunction, {"reflexes_affected_limbs": "normal", "muscle_atrophy": None}, NA),
    (als.gc2_upper_motor_neuron_dysfunction, {"upper_motor_neuron_signs": None}, NA),
    (als.gc2_upper_motor_neuron_dysfunction, {"upper_motor_neuron_signs": None, "reflexes_unaffected_limbs": "brisk"},
     NA),  # brisk reflexes in the strong limbs do not decide it
    # LMN regions: EMG regions and clinical regions (weakness + atrophy, bulbar) are bounded, not added
    (als.gc2_lmn_two_regions, {**NO_CLINICAL_LMN, "emg_regions_denervated": 2}, MET),
    (als.gc2_lmn_two_regions, {**NO_CLINICAL_LMN, "emg_regions_denervated": 1}, NOT_MET),
    (als.gc2_lmn_one_region, {**NO_CLINICAL_LMN, "emg_regions_denervated": 1}, MET),
    (als.gc2_lmn_one_region, {**NO_CLINICAL_LMN, "emg_regions_denervated": 0}, NOT_MET),
    (als.gc2_lmn_one_region, {**NO_CLINICAL_LMN, "emg_regions_denervated": None}, NA),
    (als.gc2_lmn_two_regions, {**FULL_STRENGTH, "mrc_arm_distal_left": 4.0, "bulbar_weakness": True,
                               "emg_regions_denervated": 0}, MET),  # bulbar + cervical clinically
    (als.gc2_lmn_two_regions, {**NO_CLINICAL_LMN, "bulbar_weakness": True, "emg_regions_denervated": 0}, NOT_MET),
    (als.gc2_lmn_two_regions, {**NO_CLINICAL_LMN, "bulbar_weakness": True, "emg_regions_denervated": 1}, NA),
    (als.gc2_lmn_one_region, {**NO_CLINICAL_LMN, "mrc_arm_distal_left": 4.0, "muscle_atrophy": None,
                              "emg_regions_denervated": 0}, NA),  # weak arm, wasting not examined
    (als.gc2_lmn_one_region, {**NO_CLINICAL_LMN, "mrc_arm_distal_left": 4.0, "muscle_atrophy": "none",
                              "emg_regions_denervated": 0}, NOT_MET),  # weakness without wasting is not LMN
    # wasting is not localised: weak arm and weak leg with atrophy = one limb region for certain, two possibly
    (als.gc2_lmn_one_region, {**NO_CLINICAL_LMN, "mrc_arm_distal_left": 4.0, "mrc_leg_distal_left": 4.0,
                              "emg_regions_denervated": 0}, MET),
    (als.gc2_lmn_two_regions, {**NO_CLINICAL_LMN, "mrc_arm_distal_left": 4.0, "mrc_leg_distal_left": 4.0,
                               "emg_regions_denervated": 0}, NA),
    (als.gc2_lmn_two_regions, {**NO_CLINICAL_LMN, "mrc_arm_distal_left": 4.0, "emg_regions_denervated": 0}, NOT_MET),
    # bulbar weakness: LMN unless possibly pseudobulbar (pathological UMN signs, no wasting)
    (als.gc2_lmn_one_region, {**NO_CLINICAL_LMN, "bulbar_weakness": True, "emg_regions_denervated": 0}, MET),
    (als.gc2_lmn_one_region, {**NO_CLINICAL_LMN, "bulbar_weakness": True, "upper_motor_neuron_signs": True,
                              "muscle_atrophy": "none", "emg_regions_denervated": 0}, NA),
    (als.gc2_lmn_one_region, {**NO_CLINICAL_LMN, "bulbar_weakness": True, "upper_motor_neuron_signs": True,
                              "muscle_atrophy": "mild", "emg_regions_denervated": 0}, MET),
    # criterion 3: evidence of another disease process
    (als.gc3_no_conduction_block, {}, MET),
    (als.gc3_no_conduction_block, {"nerves_definite_cb": 1}, NOT_MET),
    (als.gc3_no_conduction_block, {"nerves_probable_cb": 2}, NOT_MET),
    (als.gc3_no_conduction_block, {"nerves_probable_cb": 1}, MET),  # N2 in one nerve alone is not MMN's rule
    (als.gc3_no_conduction_block, {"nerves_definite_cb": None}, NA),
    (als.gc3_no_demyelinating_neuropathy, {}, MET),
    (als.gc3_no_demyelinating_neuropathy, {"nerves_cv_slowed": 2, "nerves_any_demyelinating": 2}, NOT_MET),
    (als.gc3_no_demyelinating_neuropathy, {"nerves_cv_slowed": 1, "nerves_any_demyelinating": 1}, MET),
    (als.gc3_no_demyelinating_neuropathy, {"nerves_cv_slowed": None}, NA),
    (als.gc3_no_positive_anti_gm1, {"anti_gm1_igm_ratio": 1.0}, NOT_MET),
    (als.gc3_no_positive_anti_gm1, {"anti_gm1_igm_ratio": 0.99}, MET),
    (als.gc3_no_positive_anti_gm1, {"anti_gm1_igm_ratio": None}, MET),  # untested: no evidence
    (als.gc3_no_immunotherapy_response, {"ivig_response": "improved"}, NOT_MET),
    (als.gc3_no_immunotherapy_response, {"corticosteroid_response": "improved"}, NOT_MET),
    (als.gc3_no_immunotherapy_response, {"ivig_response": "no_response"}, MET),
    (als.gc3_no_immunotherapy_response, {"ivig_response": None, "corticosteroid_response": None}, MET),
    # criterion 3 proxy: red flags for a mimic
    (als.gc3_no_mimic_red_flags, {}, MET),
    (als.gc3_no_mimic_red_flags, {"nerves_definite_cb": 1}, NOT_MET),
    (als.gc3_no_mimic_red_flags, {"anti_gm1_igm_ratio": 4.0}, NOT_MET),
    (als.gc3_no_mimic_red_flags, {"csf_protein_g_per_l": 1.0}, NOT_MET),
    (als.gc3_no_mimic_red_flags, {"anti_gm1_igm_ratio": None}, NA),
]


@pytest.mark.parametrize(("element", "overrides", "expected"), ELEMENT_CASES,
                         ids=[f"{e.id}-{i}" for i, (e, _, _) in enumerate(ELEMENT_CASES)])
def test_element_thresholds(element: Any, overrides: dict[str, Any], expected: str) -> None:
    frame = example_frame("progressive_muscular_atrophy", **{"csf_protein_g_per_l": 0.4, **overrides})
    assert status(element(frame)) == expected


VERDICT_CASES = [
    ("classic ALS, UMN + LMN", "classic_als", {}, MET, "possible or better (approximation)"),
    ("PMA, LMN in two regions", "progressive_muscular_atrophy", {}, MET, NOT_MET),
    ("UMN + LMN in one region", "progressive_muscular_atrophy",
     {**NO_CLINICAL_LMN, "upper_motor_neuron_signs": True, "emg_regions_denervated": 1}, MET,
     "possible or better (approximation)"),
    ("LMN in one region, no UMN", "progressive_muscular_atrophy", {**NO_CLINICAL_LMN, "emg_regions_denervated": 1},
     NOT_MET, NOT_MET),
    ("UMN signs alone (region count unknown)", "progressive_muscular_atrophy",
     {**NO_CLINICAL_LMN, "upper_motor_neuron_signs": True, "emg_regions_denervated": 0}, NOT_MET, NA),
    ("relapsing course", "classic_als", {"course": "relapsing"}, NOT_MET, "possible or better (approximation)"),
    ("no EMG, one clinical region, no UMN", "progressive_muscular_atrophy",
     {**NO_CLINICAL_LMN, "bulbar_weakness": True, "emg_regions_denervated": None}, NA, NOT_MET),
    ("criterion 3: definite conduction block", "progressive_muscular_atrophy", {"nerves_definite_cb": 1}, NOT_MET,
     NOT_MET),
    ("criterion 3: demyelinating neuropathy", "classic_als", {"nerves_dml_prolonged": 2, "nerves_any_demyelinating": 2},
     NOT_MET, "possible or better (approximation)"),
    ("criterion 3: positive anti-GM1", "progressive_muscular_atrophy", {"anti_gm1_igm_ratio": 1.5}, NOT_MET, NOT_MET),
    ("criterion 3: response to IVIg", "progressive_muscular_atrophy", {"ivig_response": "improved"}, NOT_MET,
     NOT_MET),
    ("criterion 3: no conduction studies", "progressive_muscular_atrophy",
     {"motor_nerves_studied": None, "nerves_definite_cb": None, "nerves_probable_cb": None}, NA, NOT_MET),
]


@pytest.mark.parametrize(("name", "example", "overrides", "gold_coast", "el_escorial"), VERDICT_CASES,
                         ids=[c[0] for c in VERDICT_CASES])
def test_verdicts(name: str, example: str, overrides: dict[str, Any], gold_coast: str, el_escorial: str) -> None:
    row = evaluate_criteria(example_frame(example, **overrides)).iloc[0]
    assert (row["als_gold_coast"], row["als_el_escorial_proxy"]) == (gold_coast, el_escorial)


def test_criterion_3_proxy_is_reported_but_does_not_decide() -> None:
    frame = example_frame("progressive_muscular_atrophy", csf_protein_g_per_l=1.2)
    verdict = explain_criteria(frame)[2]
    proxy = next(e for e in verdict.elements if e.id == "gc3_no_mimic_red_flags")
    assert (proxy.status, proxy.used_in_verdict) == (NOT_MET, False)
    assert (verdict.verdict, verdict.maps_to) == (MET, "MND")


def test_criterion_3_undecided_by_missing_studies_is_absent_in_chart_review() -> None:
    """Strict: without conduction studies criterion 3 cannot be decided; chart review reads the unmentioned
    block and demyelination as absent (docs/criteria.md)."""
    frame = example_frame("progressive_muscular_atrophy", motor_nerves_studied=None, nerves_definite_cb=None,
                          nerves_probable_cb=None)
    assert evaluate_criteria(frame)["als_gold_coast"].iloc[0] == NA
    assert evaluate_criteria(frame, "chart-review")["als_gold_coast"].iloc[0] == MET
    assert evaluate_criteria(example_frame("progressive_muscular_atrophy", nerves_definite_cb=1),
                             "chart-review")["als_gold_coast"].iloc[0] == NOT_MET
