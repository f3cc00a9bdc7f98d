"""Findings stated in words (contract schema version 2) in each criteria element, per reading: vignettes just
inside and just outside each element that reads them (docs/criteria.md, "Findings stated without counts")."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from mmn_ddx.data import MRC_FIELDS
from mmn_ddx.features.criteria import READINGS, evaluate_criteria
from mmn_ddx.features.criteria import als_gold_coast as als
from mmn_ddx.features.criteria import cidp_ean2021 as cidp
from mmn_ddx.features.criteria import cidp_ean2021_investigations as inv
from mmn_ddx.features.criteria import mmn_efns2010 as mmn
from mmn_ddx.features.criteria.examples import example_frame

MET, NOT_MET, NA = "met", "not met", "not assessable"
NO_GRADES = dict.fromkeys(MRC_FIELDS)
NO_MOTOR_COUNTS = dict.fromkeys(("nerves_definite_cb", "nerves_probable_cb", "nerves_cidp_cb",
                                 "nerves_any_demyelinating", "nerves_dml_prolonged", "nerves_cv_slowed",
                                 "nerves_fwave_prolonged",
                                 "nerves_fwave_absent", "nerves_temporal_dispersion", "motor_nerves_studied"))
NO_CSF = {"csf_protein_g_per_l": None, "csf_cells_per_ul": None}


def status(series: pd.Series) -> str:
    value = series.iloc[0]
    return NA if value is pd.NA else (MET if value else NOT_MET)


CASES: list[tuple[Any, str, dict[str, Any], str, str]] = [
    # (element, vignette, overrides, strict, chart review)
    # EFNS/PNS 2010 N1/N2: an ungraded block is never definite; in chart review it is a probable block per nerve
    (mmn.n1_definite_cb, "typical_mmn", {"nerves_definite_cb": None, "motor_conduction_block": "multiple"}, NA, NA),
    (mmn.n1_definite_cb, "typical_mmn",
     {"nerves_definite_cb": None, "nerves_probable_cb": None, "nerves_cidp_cb": None,
      "motor_conduction_block": "none"},
     NOT_MET, NOT_MET),  # no count left that contradicts "none" (contract v2 rules)
    (mmn.n2_probable_cb_two_nerves, "typical_mmn", {"nerves_probable_cb": None, "motor_conduction_block": "multiple"},
     NA, MET),
    (mmn.n2_probable_cb_two_nerves, "typical_mmn",
     {"nerves_probable_cb": None, "nerves_definite_cb": None, "nerves_cidp_cb": None,
      "motor_conduction_block": "single"},
     NOT_MET, NOT_MET),  # no count left that contradicts "single" (contract v2 rules)
    (mmn.n2_probable_cb_two_nerves, "typical_mmn", {"nerves_probable_cb": None, "motor_conduction_block": "present"},
     NA, NA),
    (mmn.n2_probable_cb_one_nerve, "typical_mmn", {"nerves_probable_cb": None, "motor_conduction_block": "present"},
     NA, MET),
    (mmn.n2_probable_cb_two_nerves, "typical_mmn", {"nerves_probable_cb": 1, "motor_conduction_block": "multiple"},
     NOT_MET, NOT_MET),  # the count decides: a statement never overrides a number
    # C1: asymmetry and nerve territories in words
    (mmn.c1_asymmetric_weakness, "typical_mmn", {**NO_GRADES, "weakness_symmetry": "asymmetric"}, MET, MET),
    (mmn.c1_asymmetric_weakness, "typical_mmn", {**NO_GRADES, "weakness_symmetry": "symmetric"}, NOT_MET, NOT_MET),
    (mmn.c1_asymmetric_weakness, "typical_mmn", {**NO_GRADES}, NA, NA),
    (mmn.c1_two_nerve_territories, "typical_mmn",
     {"weak_nerve_territories": None, "weak_arms": "one", "weak_legs": "one"}, MET, MET),
    (mmn.c1_two_nerve_territories, "typical_mmn", {"weak_nerve_territories": None, "weak_arms": "one"}, NA, NA),
    (mmn.c1_single_nerve_territory, "typical_mmn", {"weak_nerve_territories": None, "weak_arms": "both"},
     NOT_MET, NOT_MET),
    # sensory conduction as a whole
    (mmn.sensory_conduction_normal, "typical_mmn", {"sensory_nerves_abnormal": None, "sensory_ncs": "normal"},
     MET, MET),
    (mmn.sensory_conduction_normal, "typical_mmn", {"sensory_nerves_abnormal": None, "sensory_ncs": "abnormal"},
     NOT_MET, NOT_MET),
    (mmn.sensory_conduction_normal, "typical_mmn", {"sensory_nerves_abnormal": 0, "sensory_nerves_studied": None},
     MET, MET),  # a zero count without its denominator: none found
    (mmn.n3_sensory_normal_across_cb, "typical_mmn", {"sensory_normal_across_cb": None, "sensory_ncs": "normal"},
     NA, MET),
    (mmn.n3_sensory_normal_across_cb, "typical_mmn",
     {"sensory_normal_across_cb": None, "sensory_nerves_abnormal": None, "sensory_ncs": "abnormal"},
     NA, NA),  # no zero count left that contradicts "abnormal" (contract v2 rules)
    # anti-GM1 and CSF in words
    (mmn.p1_anti_gm1_positive, "typical_mmn", {"anti_gm1_igm_ratio": None, "anti_gm1_igm": "positive"}, MET, MET),
    (mmn.p1_anti_gm1_positive, "typical_mmn", {"anti_gm1_igm_ratio": None, "anti_gm1_igm": "negative"},
     NOT_MET, NOT_MET),
    (mmn.p2_csf_protein_raised_below_1, "typical_mmn", {**NO_CSF, "csf_protein_raised": True}, NA, NOT_MET),
    (mmn.p2_csf_protein_raised_below_1, "typical_mmn", {**NO_CSF, "csf_protein_raised": False}, NOT_MET, NOT_MET),
    (inv.supportive_csf, "typical_cidp", {**NO_CSF, "csf_protein_raised": True}, NA, MET),
    (inv.supportive_csf, "typical_cidp", {**NO_CSF, "csf_protein_raised": True, "csf_cells_per_ul": 20.0},
     NOT_MET, NOT_MET),
    # EAN/PNS 2021 motor conduction: a demyelinating summary, a stated block, an axonal summary
    (inv.motor_stated_demyelinating, "typical_cidp", {**NO_MOTOR_COUNTS, "motor_ncs_pattern": "demyelinating"},
     NA, MET),
    (inv.motor_stated_demyelinating, "typical_cidp", {**NO_MOTOR_COUNTS, "motor_ncs_pattern": "mixed"}, NA, NA),
    (inv.motor_stated_demyelinating_features, "typical_cidp", {**NO_MOTOR_COUNTS, "motor_ncs_pattern": "mixed"},
     NA, MET),
    (inv.motor_stated_demyelinating, "typical_cidp", {**NO_MOTOR_COUNTS, "motor_ncs_pattern": "axonal"},
     NOT_MET, NOT_MET),
    (inv.a_dml_two_nerves, "typical_cidp", {**NO_MOTOR_COUNTS, "motor_ncs_pattern": "axonal"}, NOT_MET, NOT_MET),
    (inv.b_cv_one_nerve, "typical_cidp", {**NO_MOTOR_COUNTS}, NA, NA),
    (inv.e_cb_two_nerves, "typical_cidp", {**NO_MOTOR_COUNTS, "motor_conduction_block": "multiple"}, NA, MET),
    (inv.e_cb_two_nerves, "typical_cidp", {**NO_MOTOR_COUNTS, "motor_conduction_block": "single"}, NOT_MET, NOT_MET),
    (inv.sensory_abnormal_two_nerves, "typical_cidp", {"sensory_nerves_abnormal": None, "sensory_ncs": "abnormal"},
     NA, MET),
    (inv.sensory_abnormal_two_nerves, "typical_cidp", {"sensory_nerves_abnormal": None, "sensory_ncs": "normal"},
     NOT_MET, NOT_MET),
    # clinical CIDP elements from weakness and reflexes in words
    (cidp.typical_reflexes_reduced_all_limbs, "typical_cidp",
     {"reflexes_affected_limbs": None, "reflexes_arms": "reduced", "reflexes_legs": "absent"}, NA, MET),
    (cidp.typical_reflexes_reduced_all_limbs, "typical_cidp",
     {"reflexes_affected_limbs": None, "reflexes_arms": "reduced", "reflexes_legs": "normal"}, NOT_MET, NOT_MET),
    (cidp.typical_symmetric_weakness, "typical_cidp",
     {**NO_GRADES, "weakness_symmetry": "symmetric", "weak_arms": "both", "weak_legs": "both"}, NA, MET),
    (cidp.typical_symmetric_weakness, "typical_cidp",
     {**NO_GRADES, "weakness_symmetry": "symmetric", "weak_arms": "both", "weak_legs": "none"}, NOT_MET, NOT_MET),
    (cidp.focal_one_limb, "lewis_sumner", {**NO_GRADES, "weak_arms": "one", "weak_legs": "none"}, MET, MET),
    (cidp.focal_one_limb, "lewis_sumner", {**NO_GRADES, "weak_arms": "one", "weak_legs": "one"}, NOT_MET, NOT_MET),
    (cidp.focal_limb_is_arm, "lewis_sumner", {**NO_GRADES, "weak_arms": "none"}, NOT_MET, NOT_MET),
    # Gold Coast: UMN sign by limb, and criterion 3 from statements (both readings)
    (als.gc2_upper_motor_neuron_dysfunction, "progressive_muscular_atrophy",
     {"reflexes_affected_limbs": None, "reflexes_arms": "normal", "reflexes_legs": "normal",
      "muscle_atrophy": "present"}, MET, MET),
    (als.gc2_upper_motor_neuron_dysfunction, "progressive_muscular_atrophy",
     {"reflexes_affected_limbs": None, "reflexes_arms": "reduced", "reflexes_legs": "absent",
      "muscle_atrophy": "present"}, NOT_MET, NOT_MET),
    (als.gc3_no_conduction_block, "progressive_muscular_atrophy",
     {**NO_MOTOR_COUNTS, "motor_conduction_block": "present"}, NOT_MET, NOT_MET),
    (als.gc3_no_conduction_block, "progressive_muscular_atrophy",
     {**NO_MOTOR_COUNTS, "motor_conduction_block": "none"}, MET, MET),
    (als.gc3_no_demyelinating_neuropathy, "progressive_muscular_atrophy",
     {**NO_MOTOR_COUNTS, "motor_ncs_pattern": "mixed"}, NOT_MET, NOT_MET),
    (als.gc3_no_demyelinating_neuropathy, "progressive_muscular_atrophy",
     {**NO_MOTOR_COUNTS, "motor_ncs_pattern": "axonal"}, MET, MET),
    (als.gc3_no_positive_anti_gm1, "progressive_muscular_atrophy",
     {"anti_gm1_igm_ratio": None, "anti_gm1_igm": "positive"}, NOT_MET, NOT_MET),
]


@pytest.mark.parametrize(("element", "example", "overrides", "strict", "chart_review"), CASES,
                         ids=[f"{c[0].id}-{i}" for i, c in enumerate(CASES)])
def test_stated_findings_in_each_reading(element: Any, example: str, overrides: dict[str, Any], strict: str,
                                         chart_review: str) -> None:
    frame = example_frame(example, **overrides)
    assert (status(element(frame, "strict")), status(element(frame, "chart-review"))) == (strict, chart_review)


def test_atrophy_stated_without_a_grade_is_wasting() -> None:
    """``muscle_atrophy: present`` is at least mild: an LMN sign with weakness, like a graded atrophy."""
    graded, stated = (example_frame("progressive_muscular_atrophy", muscle_atrophy=v) for v in ("mild", "present"))
    for reading in READINGS:
        assert status(als.gc2_lmn_one_region(stated, reading)) == status(als.gc2_lmn_one_region(graded, reading))


@pytest.mark.parametrize("statement", [{"motor_ncs_pattern": "demyelinating"}, {"motor_conduction_block": "single"},
                                       {"anti_gm1_igm": "positive"}])
def test_never_mnd_while_a_demyelinating_neuropathy_is_stated(statement: dict[str, Any]) -> None:
    """Gold Coast criterion 3 reads the statements in both readings: the textbook PMA reported in words ("no
    conduction block", "axonal") is MND until a block, a demyelinating pattern or a positive anti-GM1 is
    stated."""
    in_words = {**NO_MOTOR_COUNTS, "motor_conduction_block": "none", "motor_ncs_pattern": "axonal",
                "anti_gm1_igm_ratio": None}
    for reading in READINGS:
        label = evaluate_criteria(example_frame("progressive_muscular_atrophy", **in_words), reading=reading)
        assert label["rule_based_label"].iloc[0] == "MND"
        stated = example_frame("progressive_muscular_atrophy", **{**in_words, **statement})
        assert evaluate_criteria(stated, reading=reading)["rule_based_label"].iloc[0] != "MND"


def test_a_typical_cidp_report_in_words_is_cidp_in_chart_review_only() -> None:
    """Typical CIDP with motor conduction summarised as demyelinating and sensory conduction as abnormal (no
    counts): chart review reads the summaries as validation studies did; strict leaves CIDP undecided."""
    frame = example_frame("typical_cidp", **NO_MOTOR_COUNTS, sensory_nerves_abnormal=None, sensory_nerves_studied=None,
                          motor_ncs_pattern="demyelinating", sensory_ncs="abnormal")
    labels = {r: evaluate_criteria(frame, reading=r)["rule_based_label"].iloc[0] for r in READINGS}
    assert labels["chart-review"] == "CIDP" and labels["strict"] != "CIDP"
