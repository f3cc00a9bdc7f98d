"""Findings stated in words (contract v2) feed the same feature columns as their counts and grades.

Each pair below is one patient written twice: as a tertiary work-up (MRC grades, nerve counts, titres -
what the generator writes and the models learn from) and as a case report says it ("asymmetric distal
weakness of one arm", "multiple conduction blocks", "anti-GM1 positive"). The columns the words can
establish must be equal, so a model reads a worded record with the evidence it was trained on.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data.contract import fields, to_canonical
from mmn_ddx.features import ClinicalFeatures
from mmn_ddx.features.motor_neuron import REFLEX_FIELDS, REFLEX_VALUES

BASE = {"age_at_onset_years": 47.0, "sex": "male", "symptom_duration_months": 24.0}
FULL = {f"mrc_{r}_{s}": 5.0 for r in ("arm_proximal", "arm_distal", "leg_proximal", "leg_distal")
        for s in ("left", "right")}

SHARED = [
    "weak_limbs", "efns_asymmetric", "distal_predominant", "arms_only", "symmetric_four_limb_weakness",
    *[f"reflexes_{where}_{v}" for where in ("affected", "unaffected") for v in REFLEX_VALUES],
    "atrophy_grade", "motor_ncs_not_done", "cb_present", "cb_extent", "demyelinating_any",
    "sensory_ncs_not_done", "sensory_ncs_abnormal", "anti_gm1_positive", "anti_gm1_not_tested",
    "csf_protein_elevated", "csf_not_done",
]
"""The columns that the words establish as well as the counts (magnitudes such as fractions stay count-only)."""

PAIRS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "MMN": (
        {**FULL, "mrc_arm_distal_left": 3.0, "reflexes_affected_limbs": "reduced",
         "reflexes_unaffected_limbs": "normal", "muscle_atrophy": "mild", "motor_nerves_studied": 8,
         "nerves_definite_cb": 2, "nerves_probable_cb": 1, "nerves_cidp_cb": 3, "nerves_any_demyelinating": 3,
         "sensory_nerves_studied": 4, "sensory_nerves_abnormal": 0, "anti_gm1_igm_ratio": 2.0,
         "csf_protein_g_per_l": 0.8},
        {"weakness_symmetry": "asymmetric", "weakness_predominance": "distal", "weak_arms": "one",
         "weak_legs": "none", "reflexes_arms": "reduced", "reflexes_legs": "normal", "muscle_atrophy": "present",
         "motor_conduction_block": "multiple", "motor_ncs_pattern": "demyelinating", "sensory_ncs": "normal",
         "anti_gm1_igm": "positive", "csf_protein_raised": True},
    ),
    "CIDP": (
        {**{k: 4.0 for k in FULL}, "reflexes_affected_limbs": "absent", "muscle_atrophy": "none",
         "motor_nerves_studied": 6, "nerves_definite_cb": 0, "nerves_probable_cb": 0, "nerves_cidp_cb": 0,
         "nerves_any_demyelinating": 5, "nerves_dml_prolonged": 3, "sensory_nerves_studied": 4,
         "sensory_nerves_abnormal": 4, "anti_gm1_igm_ratio": 0.3, "csf_protein_g_per_l": 1.2},
        {"weakness_symmetry": "symmetric", "weakness_predominance": "both", "weak_arms": "both", "weak_legs": "both",
         "reflexes_arms": "absent", "reflexes_legs": "reduced", "muscle_atrophy": "none",
         "motor_conduction_block": "none", "motor_ncs_pattern": "demyelinating", "sensory_ncs": "abnormal",
         "anti_gm1_igm": "negative", "csf_protein_raised": True},
    ),
    "MND": (
        {**FULL, "mrc_arm_distal_left": 3.0, "mrc_arm_distal_right": 4.0, "mrc_leg_distal_left": 4.0,
         "reflexes_affected_limbs": "brisk", "muscle_atrophy": "marked", "motor_nerves_studied": 6,
         "nerves_definite_cb": 0, "nerves_any_demyelinating": 0, "sensory_nerves_studied": 4,
         "sensory_nerves_abnormal": 0, "anti_gm1_igm_ratio": 0.3},
        {"weakness_symmetry": "asymmetric", "weakness_predominance": "distal", "weak_arms": "both", "weak_legs": "one",
         "reflexes_arms": "brisk", "reflexes_legs": "normal", "muscle_atrophy": "marked",
         "motor_conduction_block": "none", "motor_ncs_pattern": "axonal", "sensory_ncs": "normal",
         "anti_gm1_igm": "negative"},
    ),
    "sensory variant": (
        {**FULL, "reflexes_unaffected_limbs": "reduced", "motor_nerves_studied": 4, "nerves_any_demyelinating": 2,
         "sensory_nerves_studied": 4, "sensory_nerves_abnormal": 3, "csf_protein_g_per_l": 0.4},
        {"weakness_symmetry": "no_weakness", "reflexes_arms": "normal", "reflexes_legs": "reduced",
         "motor_ncs_pattern": "mixed", "sensory_ncs": "abnormal", "csf_protein_raised": False},
    ),
}


def features_of(*records: dict[str, Any]) -> pd.DataFrame:
    frame = to_canonical(pd.DataFrame([{**BASE, **record} for record in records]))
    return ClinicalFeatures(mode="with-treatment").set_output(transform="pandas").fit_transform(frame)


@pytest.mark.parametrize("patient", PAIRS)
def test_words_and_their_count_equivalent_give_the_same_shared_features(patient: str) -> None:
    counted, stated = features_of(*PAIRS[patient])[SHARED].to_numpy()
    assert not np.isnan(counted).all()
    mismatched = [name for name, a, b in zip(SHARED, counted, stated, strict=True)
                  if not (a == b or (math.isnan(a) and math.isnan(b)))]
    assert not mismatched, {name: (counted[SHARED.index(name)], stated[SHARED.index(name)]) for name in mismatched}


@pytest.mark.parametrize(("patient", "expected"), [
    ("MMN", {"efns_asymmetric": 1, "arms_only": 1, "distal_predominant": 1, "weak_limbs": 1, "cb_present": 1,
             "cb_extent": 2, "sensory_ncs_abnormal": 0, "anti_gm1_positive": 1, "reflexes_affected_reduced": 1,
             "reflexes_unaffected_normal": 1, "atrophy_grade": 1}),
    ("CIDP", {"symmetric_four_limb_weakness": 1, "weak_limbs": 4, "arms_only": 0, "cb_present": 0,
              "demyelinating_any": 1, "sensory_ncs_abnormal": 1, "csf_protein_elevated": 1, "anti_gm1_positive": 0,
              "reflexes_affected_absent": 1, "reflexes_unaffected_absent": math.nan}),
    ("MND", {"cb_present": 0, "cb_extent": 0, "demyelinating_any": 0, "reflexes_affected_brisk": 1,
             "atrophy_grade": 2, "efns_asymmetric": 1}),
    ("sensory variant", {"weak_limbs": 0, "efns_asymmetric": 0, "arms_only": 0, "distal_predominant": 0,
                         "reflexes_unaffected_reduced": 1, "reflexes_affected_reduced": math.nan,
                         "demyelinating_any": 1, "csf_protein_elevated": 0}),
])
def test_words_alone_establish_the_findings_a_clinician_reads_in_them(patient: str, expected: dict[str, float]) -> None:
    row = features_of(PAIRS[patient][1]).iloc[0]
    assert row[list(expected)].tolist() == pytest.approx(list(expected.values()), nan_ok=True)


@pytest.mark.parametrize(("record", "arms", "legs"), [
    # areflexia in arms and legs with no strength section: which limbs are affected is unknown, so the
    # affected / unaffected columns cannot hold it; the limb grades do
    ({"reflexes_arms": "absent", "reflexes_legs": "absent"}, 0, 0),
    ({"reflexes_arms": "normal", "reflexes_legs": "brisk"}, 2, 3),
    # the roles and the weak limbs: a weak arm has the affected-limb reflexes, the strong legs the others
    ({**FULL, "mrc_arm_distal_left": 3.0, "reflexes_affected_limbs": "brisk", "reflexes_unaffected_limbs": "normal"},
     3, 2),
    ({"weak_arms": "none", "weak_legs": "both", "reflexes_affected_limbs": "reduced",
      "reflexes_unaffected_limbs": "normal"}, 2, 1),
    ({"reflexes_affected_limbs": "absent"}, math.nan, math.nan),       # no limb known weak: no limb grade
    ({**FULL, "mrc_leg_distal_left": 4.0, "reflexes_arms": "reduced", "reflexes_affected_limbs": "brisk",
      "reflexes_unaffected_limbs": "normal"}, 1, 3),                  # the limb word first
    ({}, math.nan, math.nan),
])
def test_reflexes_of_arms_and_legs_from_the_limb_words_or_the_affected_limbs(
        record: dict[str, Any], arms: float, legs: float) -> None:
    row = features_of(record).iloc[0]
    assert [row["reflexes_arms_grade"], row["reflexes_legs_grade"]] == pytest.approx([arms, legs], nan_ok=True)


def test_limb_reflex_words_without_the_weak_limbs_reach_the_features_only_as_limb_grades() -> None:
    row = features_of({"reflexes_arms": "absent", "reflexes_legs": "absent"}).iloc[0]
    roles = [f"reflexes_{where}_{v}" for where in ("affected", "unaffected") for v in REFLEX_VALUES]
    assert row[roles].isna().all()
    assert row[["reflexes_arms_grade", "reflexes_legs_grade"]].tolist() == [0, 0]


def test_words_alone_give_no_magnitude_they_do_not_state() -> None:
    row = features_of(PAIRS["MMN"][1]).iloc[0]
    for name in ("weakness_max", "cb_definite_nerves", "cb_definite_fraction", "anti_gm1_log2_ratio",
                 "anti_gm1_high_titre", "csf_protein_to_uln", "sensory_nerves_abnormal_fraction"):
        assert math.isnan(row[name]), name
    assert features_of(PAIRS["sensory variant"][1]).iloc[0]["weakness_max"] == 0  # no weakness is a grade: none


def test_an_axonal_or_mixed_pattern_is_the_one_word_only_finding() -> None:
    rows = features_of(*({"motor_ncs_pattern": p} for p in ("normal", "axonal", "demyelinating", "mixed")))
    assert rows["motor_ncs_axonal"].tolist() == [0, 1, 0, 1]
    assert rows["demyelinating_any"].tolist() == [0, 0, 1, 1]
    assert (rows["motor_ncs_not_done"] == 0).all()


# --- a zero count without its denominator: none found, not "not done" --------------------------------


@pytest.mark.parametrize(("record", "present", "extent", "not_done"), [
    ({"nerves_definite_cb": 0}, 0, 0, 0),                             # "no conduction block was found"
    ({"motor_conduction_block": "none"}, 0, 0, 0),
    ({"nerves_definite_cb": 0, "motor_nerves_studied": 8}, 0, 0, 0),
    ({"nerves_definite_cb": 1}, 1, 1, 0),                              # a lower bound: one or more
    ({"nerves_definite_cb": 1, "motor_nerves_studied": 8}, 1, 1, 0),   # exact
    ({"nerves_definite_cb": 1, "nerves_probable_cb": 1}, 1, 2, 0),     # disjoint grades add up
    ({"nerves_cidp_cb": 3, "nerves_definite_cb": 1, "motor_nerves_studied": 8}, 1, 2, 0),
    ({"motor_conduction_block": "present"}, 1, 1, 0),                  # at least one
    ({"motor_conduction_block": "single"}, 1, 1, 0),
    ({"motor_conduction_block": "multiple"}, 1, 2, 0),
    ({"nerves_definite_cb": 0, "motor_nerves_studied": 0}, math.nan, math.nan, 1),  # nothing studied
    ({}, math.nan, math.nan, 1),
])
def test_conduction_block_from_counts_or_words(record: dict[str, Any], present: float, extent: float,
                                               not_done: float) -> None:
    row = features_of(record).iloc[0]
    assert [row["cb_present"], row["cb_extent"], row["motor_ncs_not_done"]] == pytest.approx(
        [present, extent, not_done], nan_ok=True)


@pytest.mark.parametrize(("record", "abnormal", "not_done"), [
    ({"sensory_nerves_abnormal": 0}, 0, 0),
    ({"sensory_ncs": "normal"}, 0, 0),
    ({"sensory_nerves_abnormal": 2}, 1, 0),
    ({"sensory_ncs": "abnormal"}, 1, 0),
    ({"sensory_nerves_abnormal": 0, "sensory_nerves_studied": 0}, math.nan, 1),
    ({}, math.nan, 1),
])
def test_sensory_conduction_from_counts_or_words(record: dict[str, Any], abnormal: float, not_done: float) -> None:
    row = features_of(record).iloc[0]
    assert [row["sensory_ncs_abnormal"], row["sensory_ncs_not_done"]] == pytest.approx([abnormal, not_done],
                                                                                       nan_ok=True)


def test_a_zero_demyelinating_count_needs_something_studied() -> None:
    rows = features_of({"nerves_any_demyelinating": 0}, {"nerves_any_demyelinating": 0, "motor_nerves_studied": 0})
    assert rows["demyelinating_any"].tolist() == pytest.approx([0, math.nan], nan_ok=True)


# --- reflexes by limb --------------------------------------------------------------------------------


@pytest.mark.parametrize(("record", "affected", "unaffected"), [
    ({"weak_arms": "one", "weak_legs": "none", "reflexes_arms": "reduced", "reflexes_legs": "brisk"},
     "reduced", "brisk"),
    ({"weak_arms": "none", "weak_legs": "both", "reflexes_arms": "normal", "reflexes_legs": "absent"},
     "absent", "normal"),
    ({"weak_arms": "both", "weak_legs": "both", "reflexes_arms": "reduced", "reflexes_legs": "absent"},
     "absent", None),                                         # the further from normal on the same side
    ({"weak_arms": "both", "weak_legs": "both", "reflexes_arms": "reduced", "reflexes_legs": "brisk"},
     None, None),                                             # no one value for reduced arms and brisk legs
    ({**FULL, "mrc_arm_distal_right": 3.0, "reflexes_arms": "normal", "reflexes_legs": "brisk"},
     "normal", "brisk"),                                      # the weak limbs from the grades
    ({"weakness_symmetry": "no_weakness", "reflexes_arms": "normal", "reflexes_legs": "normal"}, None, "normal"),
    ({"reflexes_arms": "absent", "reflexes_legs": "absent"}, None, None),  # which limbs are weak: unknown
    ({"weak_arms": "one", "weak_legs": "none", "reflexes_arms": "reduced", "reflexes_affected_limbs": "normal"},
     "normal", None),                                         # the recorded affected-limb value wins
])
def test_reflexes_by_limb_are_read_as_affected_and_unaffected_limbs(record: dict[str, Any], affected: str | None,
                                                                   unaffected: str | None) -> None:
    row = features_of(record).iloc[0]
    for where, value in (("affected", affected), ("unaffected", unaffected)):
        got = [row[f"reflexes_{where}_{v}"] for v in REFLEX_VALUES]
        want = [math.nan] * len(REFLEX_VALUES) if value is None else [float(v == value) for v in REFLEX_VALUES]
        assert got == pytest.approx(want, nan_ok=True), where


def test_the_four_reflex_fields_share_one_scale() -> None:
    assert all(fields()[name].values == REFLEX_VALUES for name in REFLEX_FIELDS)


def test_wasting_stated_without_a_grade_is_at_least_mild() -> None:
    rows = features_of(*({**FULL, "mrc_arm_distal_left": 3.0, "muscle_atrophy": a} for a in ("mild", "present")))
    assert rows.loc[1, "atrophy_grade"] == 1
    pd.testing.assert_series_equal(rows.iloc[0], rows.iloc[1], check_names=False)


FULL_ARMS = {f"mrc_arm_{level}_{side}": 5.0 for level in ("proximal", "distal") for side in ("left", "right")}


@pytest.mark.parametrize(("record", "weak_limbs", "weakness_max"), [
    ({**FULL_ARMS, "weak_legs": "one"}, 1, math.nan),   # arms graded full, a leg described weak: weak, grade unknown
    ({**FULL_ARMS, "mrc_arm_distal_left": 4.0, "weak_legs": "both"}, 3, 1),
    ({**FULL_ARMS, "weak_legs": "none"}, 0, 0),
    ({"weak_arms": "one"}, 1, math.nan),                # the legs unknown: counted among what is known, as grades are
])
def test_grades_of_some_limbs_and_words_for_the_others_are_both_read(record: dict[str, Any], weak_limbs: float,
                                                                     weakness_max: float) -> None:
    """A report may grade the arms and describe the legs in words: the stated weakness is not lost."""
    row = features_of({"age_at_onset_years": 50.0, "sex": "male", **record}).iloc[0]
    assert row["weak_limbs"] == weak_limbs
    assert (math.isnan(row["weakness_max"]) and math.isnan(weakness_max)) or row["weakness_max"] == weakness_max
