"""EFNS/PNS 2010 MMN criteria: each element just inside / just outside its threshold, nulls, categories."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from mmn_ddx.features.criteria import evaluate_criteria, explain_criteria
from mmn_ddx.features.criteria import mmn_efns2010 as mmn
from mmn_ddx.features.criteria.examples import example_frame

MET, NOT_MET, NA = "met", "not met", "not assessable"


def status(series: pd.Series) -> str:
    value = series.iloc[0]
    return NA if value is pd.NA else (MET if value else NOT_MET)


def mrc_pair(region: str, left: float | None, right: float | None) -> dict[str, Any]:
    """Typical MMN vignette reset to full strength, then one left/right pair set."""
    grades = {f"mrc_{r}_{s}": 5.0 for r in ("arm_proximal", "arm_distal", "leg_proximal", "leg_distal")
              for s in ("left", "right")}
    return {**grades, f"mrc_{region}_left": left, f"mrc_{region}_right": right}


ELEMENT_CASES = [
    # C1 course and duration: "more than one month" is strict
    (mmn.c1_progressive_course, {"course": "stepwise"}, MET),
    (mmn.c1_progressive_course, {"course": "relapsing"}, NOT_MET),
    (mmn.c1_progressive_course, {"course": None}, NA),
    (mmn.c1_duration_over_one_month, {"symptom_duration_months": 1.01}, MET),
    (mmn.c1_duration_over_one_month, {"symptom_duration_months": 1.0}, NOT_MET),
    (mmn.c1_duration_over_one_month, {"symptom_duration_months": None}, NA),
    # C1 territories: two vs one nerve
    (mmn.c1_two_nerve_territories, {"weak_nerve_territories": 2}, MET),
    (mmn.c1_two_nerve_territories, {"weak_nerve_territories": 1}, NOT_MET),
    (mmn.c1_two_nerve_territories, {"weak_nerve_territories": None}, NA),
    (mmn.c1_single_nerve_territory, {"weak_nerve_territories": 1}, MET),
    (mmn.c1_single_nerve_territory, {"weak_nerve_territories": 2}, NOT_MET),
    # C1 asymmetry: >= 1 grade when the weaker side is > 3, >= 2 grades when it is <= 3
    (mmn.c1_asymmetric_weakness, mrc_pair("arm_distal", 4.0, 5.0), MET),
    (mmn.c1_asymmetric_weakness, mrc_pair("arm_distal", 4.5, 5.0), NOT_MET),
    (mmn.c1_asymmetric_weakness, mrc_pair("arm_distal", 4.6, 3.6), MET),
    (mmn.c1_asymmetric_weakness, mrc_pair("leg_proximal", 3.0, 4.0), NOT_MET),
    (mmn.c1_asymmetric_weakness, mrc_pair("leg_proximal", 3.0, 5.0), MET),
    (mmn.c1_asymmetric_weakness, mrc_pair("arm_proximal", 2.0, 3.0), NOT_MET),
    (mmn.c1_asymmetric_weakness, mrc_pair("arm_proximal", 2.0, 4.0), MET),
    (mmn.c1_asymmetric_weakness, mrc_pair("leg_distal", 0.0, 1.0), NOT_MET),
    (mmn.c1_asymmetric_weakness, mrc_pair("leg_distal", 0.0, 2.0), MET),
    (mmn.c1_asymmetric_weakness, mrc_pair("leg_distal", 4.0, 4.0), NOT_MET),
    (mmn.c1_asymmetric_weakness, mrc_pair("arm_distal", None, 5.0), NA),
    (mmn.c1_asymmetric_weakness, {**mrc_pair("arm_distal", None, 5.0), "mrc_leg_distal_left": 2.0}, MET),
    # C2 / E10: minor vibration loss in the legs is tolerated
    (mmn.c2_no_objective_sensory_loss, {"sensory_loss": "minor_vibration"}, MET),
    (mmn.c2_no_objective_sensory_loss, {"sensory_loss": "multifocal"}, NOT_MET),
    (mmn.c2_no_objective_sensory_loss, {"sensory_loss": "symmetric"}, NOT_MET),
    (mmn.c2_no_objective_sensory_loss, {"sensory_loss": None}, NA),
    (mmn.e10_no_marked_sensory_impairment, {"sensory_loss": "minor_vibration"}, MET),
    (mmn.e10_no_marked_sensory_impairment, {"sensory_loss": "symmetric"}, NOT_MET),
    # exclusions, phrased so that "met" favours MMN
    (mmn.e8_no_upper_motor_neuron_signs, {"upper_motor_neuron_signs": True}, NOT_MET),
    (mmn.e8_no_upper_motor_neuron_signs, {"upper_motor_neuron_signs": None}, NA),
    (mmn.e8_no_upper_motor_neuron_signs, {"reflexes_affected_limbs": "brisk"}, MET),  # brisk reflexes tolerated
    (mmn.e9_no_marked_bulbar_involvement, {"bulbar_weakness": True}, NOT_MET),
    (mmn.e11_no_early_diffuse_symmetric_weakness, {"onset_region": "generalized"}, NOT_MET),
    (mmn.e11_no_early_diffuse_symmetric_weakness, {"onset_region": "lower_limb"}, MET),
    (mmn.e11_no_early_diffuse_symmetric_weakness, {"onset_region": None}, NA),
    # N1 / N2 / N3: CB in 1 vs 0 nerves, probable CB in 2 vs 1
    (mmn.n1_definite_cb, {"nerves_definite_cb": 1}, MET),
    (mmn.n1_definite_cb, {"nerves_definite_cb": 0}, NOT_MET),
    # a zero count without its denominator: "none found" (contract schema version 2), in both readings
    (mmn.n1_definite_cb, {"nerves_definite_cb": 0, "motor_nerves_studied": None}, NOT_MET),
    (mmn.n1_definite_cb, {"nerves_definite_cb": None}, NA),
    (mmn.n2_probable_cb_two_nerves, {"nerves_probable_cb": 2}, MET),
    (mmn.n2_probable_cb_two_nerves, {"nerves_probable_cb": 1}, NOT_MET),
    (mmn.n2_probable_cb_one_nerve, {"nerves_probable_cb": 1}, MET),
    (mmn.n2_probable_cb_one_nerve, {"nerves_probable_cb": 0}, NOT_MET),
    (mmn.n1_or_n2_cb_one_nerve, {"nerves_definite_cb": None, "nerves_probable_cb": 1}, MET),
    (mmn.n1_or_n2_cb_one_nerve, {"nerves_definite_cb": None, "nerves_probable_cb": 0}, NA),
    (mmn.n1_or_n2_cb_one_nerve, {"nerves_definite_cb": 0, "nerves_probable_cb": 0}, NOT_MET),
    (mmn.n3_sensory_normal_across_cb, {"sensory_normal_across_cb": False}, NOT_MET),
    (mmn.n3_sensory_normal_across_cb, {"sensory_normal_across_cb": None}, NA),
    (mmn.sensory_conduction_normal, {"sensory_nerves_abnormal": 1}, NOT_MET),
    (mmn.sensory_conduction_normal, {"sensory_nerves_abnormal": 0, "sensory_nerves_studied": 0}, NA),
    # P1-P4
    (mmn.p1_anti_gm1_positive, {"anti_gm1_igm_ratio": 1.0}, MET),
    (mmn.p1_anti_gm1_positive, {"anti_gm1_igm_ratio": 0.99}, NOT_MET),
    (mmn.p1_anti_gm1_positive, {"anti_gm1_igm_ratio": None}, NA),
    (mmn.p2_csf_protein_raised_below_1, {"csf_protein_g_per_l": 0.99, "age_at_onset_years": 40.0}, MET),
    (mmn.p2_csf_protein_raised_below_1, {"csf_protein_g_per_l": 1.0, "age_at_onset_years": 40.0}, NOT_MET),
    (mmn.p2_csf_protein_raised_below_1, {"csf_protein_g_per_l": None}, NA),
    (mmn.p4_ivig_response, {"ivig_response": "not_given"}, NOT_MET),  # known: no trial, so no response
    (mmn.p4_ivig_response, {"ivig_response": None}, NA),
    # S3-S7 (reported only)
    (mmn.s3_upper_limb_predominant, mrc_pair("leg_distal", 3.0, 5.0), NOT_MET),
    (mmn.s3_upper_limb_predominant, {**mrc_pair("leg_distal", 3.0, 5.0), "mrc_arm_distal_left": 3.0,
                                     "onset_region": "upper_limb"}, MET),  # tie of minima: onset decides
    (mmn.s3_upper_limb_predominant, {"mrc_leg_proximal_left": None}, NA),  # arm 3 vs a leg that may be 0
    (mmn.s3_upper_limb_predominant, {"mrc_arm_proximal_left": None}, MET),  # arm minimum can only fall
    (mmn.s4_reduced_reflexes_affected_limbs, {"reflexes_affected_limbs": "brisk"}, NOT_MET),
    (mmn.s6_cramps_or_fasciculations, {"cramps": False, "fasciculations": None}, NA),
    (mmn.s6_cramps_or_fasciculations, {"cramps": True, "fasciculations": None}, MET),
]


@pytest.mark.parametrize(("element", "overrides", "expected"), ELEMENT_CASES,
                         ids=[f"{e.id}-{i}" for i, (e, _, _) in enumerate(ELEMENT_CASES)])
def test_element_thresholds(element: Any, overrides: dict[str, Any], expected: str) -> None:
    assert status(element(example_frame("typical_mmn", **overrides))) == expected


@pytest.mark.parametrize(("age", "months", "protein", "expected"), [
    (50.0, 0.0, 0.50, NOT_MET),   # up to 50 the upper limit is 0.50 g/L, "above" is strict
    (50.0, 0.0, 0.51, MET),
    (51.0, 0.0, 0.60, NOT_MET),   # above 50 the limit is 0.60 g/L
    (51.0, 0.0, 0.61, MET),
    (49.0, 12.0, 0.51, MET),      # age at work-up = onset + duration = 50
    (49.0, 13.0, 0.51, NOT_MET),  # ... 50.08: the higher limit applies
    (45.0, None, 0.55, NA),       # age at work-up unknown and the protein between the limits
    (45.0, None, 0.65, MET),      # above both limits: age does not matter
    (45.0, None, 0.45, NOT_MET),  # below both limits
    (55.0, None, 0.55, NOT_MET),  # older than 50 at onset, so older at work-up
])
def test_csf_protein_limit_depends_on_age_at_workup(age: float, months: float | None, protein: float,
                                                     expected: str) -> None:
    frame = example_frame("typical_mmn", age_at_onset_years=age, symptom_duration_months=months,
                          csf_protein_g_per_l=protein)
    assert status(mmn.p2_csf_protein_raised_below_1(frame)) == expected


CATEGORY_CASES = [
    ("typical MMN with definite CB", {}, "definite"),
    ("probable CB in two nerves", {"nerves_definite_cb": 0, "nerves_probable_cb": 2}, "probable"),
    ("probable CB in one nerve + anti-GM1 + IVIg", {"nerves_definite_cb": 0, "nerves_probable_cb": 1}, "probable"),
    ("probable CB in one nerve, one supportive", {"nerves_definite_cb": 0, "nerves_probable_cb": 1,
                                                  "anti_gm1_igm_ratio": 0.2, "csf_protein_g_per_l": 0.3,
                                                  "mri_plexus_abnormal": False}, "possible"),
    ("no CB, normal sensory NCS, IVIg response", {"nerves_definite_cb": 0, "nerves_probable_cb": 0}, "possible"),
    ("no CB, no IVIg trial", {"nerves_definite_cb": 0, "nerves_probable_cb": 0, "ivig_response": "not_given"},
     "not met"),
    ("CB but abnormal sensory conduction across it", {"sensory_normal_across_cb": False}, "possible"),
    ("one nerve territory with CB", {"weak_nerve_territories": 1}, "possible"),
    ("one nerve territory without CB", {"weak_nerve_territories": 1, "nerves_definite_cb": 0,
                                        "nerves_probable_cb": 0}, "not met"),
    ("UMN signs exclude", {"upper_motor_neuron_signs": True}, "not met"),
    ("one month is not more than one month", {"symptom_duration_months": 1.0}, "not met"),
    ("UMN signs unknown", {"upper_motor_neuron_signs": None}, "not assessable"),
    # Kleene: a known failing core criterion decides, whatever is missing elsewhere
    ("UMN unknown but symmetric sensory loss", {"upper_motor_neuron_signs": None, "sensory_loss": "symmetric"},
     "not met"),
    ("definite CB unknown, probable route met", {"nerves_definite_cb": None}, "probable"),
]


@pytest.mark.parametrize(("name", "overrides", "expected"), CATEGORY_CASES, ids=[c[0] for c in CATEGORY_CASES])
def test_categories(name: str, overrides: dict[str, Any], expected: str) -> None:
    frame = example_frame("typical_mmn", **overrides)
    assert evaluate_criteria(frame)["mmn_efns2010"].iloc[0] == expected
    assert explain_criteria(frame)[0].verdict == expected


def test_undecided_higher_category_lists_the_missing_fields() -> None:
    verdict = explain_criteria(example_frame("typical_mmn", nerves_definite_cb=None))[0]
    assert (verdict.verdict, verdict.categories["definite"]) == ("probable", NA)
    assert "nerves_definite_cb" in verdict.missing_fields
    n1 = next(e for e in verdict.elements if e.id == "n1_definite_cb")
    assert (n1.status, n1.missing_fields) == (NA, ["nerves_definite_cb", "motor_conduction_block"])


def test_decided_verdict_lists_no_missing_fields() -> None:
    frame = example_frame("typical_mmn", upper_motor_neuron_signs=True, anti_gm1_igm_ratio=None)
    verdict = explain_criteria(frame)[0]
    assert verdict.verdict == NOT_MET
    assert verdict.missing_fields == []
