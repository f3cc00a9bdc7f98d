"""The criteria.md §5 cascade: published phenotypes, its order, "conflicting", "unclassified", coverage."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from mmn_ddx.data.contract import DIAGNOSES
from mmn_ddx.features.criteria import criteria_coverage, evaluate_criteria, explain_criteria, rule_based_coverage
from mmn_ddx.features.criteria.examples import EXAMPLE_NAMES, example_frame

NO_NCS = {name: None for name in (
    "motor_nerves_studied", "nerves_definite_cb", "nerves_probable_cb", "nerves_cidp_cb", "nerves_any_demyelinating",
    "nerves_dml_prolonged", "nerves_cv_slowed", "nerves_fwave_prolonged", "nerves_fwave_absent",
    "nerves_temporal_dispersion", "sensory_nerves_studied", "sensory_nerves_abnormal", "sensory_normal_across_cb")}
# PMA whose weakness could be MMN's: asymmetric, in two nerve territories
MMN_LIKE_PMA = {"weak_nerve_territories": 2, "mrc_arm_distal_right": 5.0}

PHENOTYPES = [
    # (vignette, overrides, rule-based label, MMN, CIDP, Gold Coast)
    # Gold Coast criterion 3: conduction block, demyelination, anti-GM1, IVIg response exclude ALS
    ("typical_mmn", {}, "MMN", "definite", "not met", "not met"),
    ("classic_als", {}, "MND", "not met", "not met", "met"),
    ("progressive_muscular_atrophy", {}, "MND", "not met", "not met", "met"),
    ("typical_cidp", {}, "CIDP", "not met", "CIDP", "not met"),
    ("lewis_sumner", {}, "MADSAM", "not met", "CIDP", "not met"),
]


@pytest.mark.parametrize(("example", "overrides", "label", "mmn", "cidp", "als"), PHENOTYPES,
                         ids=[p[0] for p in PHENOTYPES])
def test_published_phenotypes_are_classified_as_the_guidelines_say(
    example: str, overrides: dict[str, Any], label: str, mmn: str, cidp: str, als: str
) -> None:
    row = evaluate_criteria(example_frame(example, **overrides)).iloc[0]
    assert (row["rule_based_label"], row["mmn_efns2010"], row["cidp_ean2021"], row["als_gold_coast"]) == (
        label, mmn, cidp, als)


CASCADE_CASES = [
    ("MMN with LMN signs in two regions: not MND", "typical_mmn", {"emg_regions_denervated": 2}, "MMN"),
    ("MMN without block, anti-GM1 or IVIg response: Gold Coast", "typical_mmn",
     {"emg_regions_denervated": 2, "nerves_definite_cb": 0, "nerves_probable_cb": 0, "nerves_cidp_cb": 0,
      "anti_gm1_igm_ratio": 0.5, "ivig_response": "not_given"}, "MND"),
    ("CIDP with LMN signs in two regions: not MND", "typical_cidp", {"emg_regions_denervated": 2}, "CIDP"),
    ("PMA with normal NCS: MMN refuted", "progressive_muscular_atrophy", MMN_LIKE_PMA, "MND"),
    ("PMA without NCS: criterion 3 undecided", "progressive_muscular_atrophy", {**MMN_LIKE_PMA, **NO_NCS},
     "unclassified"),
    ("possible MMN only, definite/probable undecided: same label", "typical_mmn",
     {"nerves_definite_cb": 0, "nerves_probable_cb": None, "emg_regions_denervated": 0, "bulbar_weakness": False},
     "MMN"),
    ("nothing met, everything refuted", "typical_mmn",
     {"nerves_definite_cb": 0, "nerves_probable_cb": 0, "ivig_response": "not_given", "emg_regions_denervated": 0},
     "unclassified"),
    ("nothing met, much unknown", "typical_mmn", {"course": None, "sensory_loss": None}, "unclassified"),
    ("other CIDP variant is not one of the four labels", "typical_cidp",
     {"sensory_loss": "none", "sensory_symptoms": False, "sensory_nerves_abnormal": 0, "muscle_atrophy": "none",
      "emg_regions_denervated": 0}, "unclassified"),
]


@pytest.mark.parametrize(("name", "example", "overrides", "label"), CASCADE_CASES, ids=[c[0] for c in CASCADE_CASES])
def test_cascade(name: str, example: str, overrides: dict[str, Any], label: str) -> None:
    frame = example_frame(example, **overrides)
    assert evaluate_criteria(frame)["rule_based_label"].iloc[0] == label
    assert explain_criteria(frame)[-1].verdict == label


def test_conflict_is_explained_with_the_blocking_step_and_its_missing_fields() -> None:
    """Chart review reads the unmentioned block as absent, so Gold Coast is met; MMN stays undecided (its
    conduction block is a positive finding, never read as absent): the order cannot be applied."""
    frame = example_frame("progressive_muscular_atrophy", **MMN_LIKE_PMA, **NO_NCS)
    assert evaluate_criteria(frame, "chart-review")["rule_based_label"].iloc[0] == "conflicting"
    combined = explain_criteria(frame, "chart-review")[-1]
    assert combined.criteria == "rule_based"
    assert combined.categories["step1_mmn_definite_or_probable"] == "not assessable"
    assert combined.categories["step4_gold_coast"] == "met"
    (fact,) = combined.facts
    assert (fact.code, fact.step, fact.label) == ("blocked", "step4_gold_coast", "MND")
    assert fact.blocked_by == {"step1_mmn_definite_or_probable": "MMN"}
    assert "nerves_definite_cb" in combined.missing_fields
    assert combined.maps_to is None


def test_other_cidp_variant_is_noted() -> None:
    frame = example_frame("typical_cidp", sensory_loss="none", sensory_symptoms=False, sensory_nerves_abnormal=0)
    combined = explain_criteria(frame)[-1]
    assert [(f.code, f.variant, f.label) for f in combined.facts] == [
        ("variant_outside_labels", "motor", "other CIDP variant")]


@pytest.fixture(scope="module")
def cohort() -> tuple[pd.DataFrame, pd.Series]:
    frames = [example_frame(name) for name in EXAMPLE_NAMES]
    frames.append(example_frame("progressive_muscular_atrophy", **MMN_LIKE_PMA, **NO_NCS))
    frame = pd.concat(frames, ignore_index=True)
    diagnosis = pd.Series(["MMN", "MND", "MND", "CIDP", "MADSAM", "MND"], dtype=pd.CategoricalDtype(DIAGNOSES))
    return evaluate_criteria(frame), diagnosis


def test_coverage_counts_every_patient_once_per_criteria_set(cohort: tuple[pd.DataFrame, pd.Series]) -> None:
    verdicts, diagnosis = cohort
    table = criteria_coverage(verdicts, diagnosis)
    sizes = table.groupby(["criteria", "group"])["n"].sum()
    assert (sizes.xs("all", level="group") == len(verdicts)).all()
    assert sizes.xs("MND", level="group").eq(3).all()
    fractions = table.groupby(["criteria", "group"])["fraction"].sum()
    assert fractions.round(12).eq(1.0).all()
    mnd_labels = table.query("criteria == 'rule_based_label' and group == 'MND'").set_index("verdict")["n"]
    assert mnd_labels.to_dict() == {"MND": 2, "unclassified": 1}


def test_rule_based_coverage_excludes_abstentions(cohort: tuple[pd.DataFrame, pd.Series]) -> None:
    verdicts, _ = cohort
    assert rule_based_coverage(verdicts) == pytest.approx(5 / 6)


def test_coverage_rejects_misaligned_diagnosis(cohort: tuple[pd.DataFrame, pd.Series]) -> None:
    verdicts, diagnosis = cohort
    with pytest.raises(ValueError, match="diagnosis"):
        criteria_coverage(verdicts, diagnosis.iloc[1:])


@pytest.mark.parametrize("reading", ["strict", "chart-review"])
def test_never_mnd_while_the_record_shows_a_demyelinating_neuropathy(reading: str) -> None:
    """On synthetic patients of every diagnosis: no MND label where a conduction block (EFNS/PNS N1, or N2 in
    two nerves) or the EAN/PNS 2021 strongly supportive motor criteria are met."""
    from mmn_ddx.data.generator import generate_cohort
    from mmn_ddx.features.criteria import criteria_elements

    frame = generate_cohort(3000, seed=5)
    labels = evaluate_criteria(frame, reading)["rule_based_label"]
    elements = criteria_elements(frame, reading)
    evidence = (elements["als_gold_coast.gc3_no_conduction_block"].eq(False)
                | elements["als_gold_coast.gc3_no_demyelinating_neuropathy"].eq(False)).fillna(False)
    assert evidence.sum() > 100  # the cohort does test the rule
    assert not (labels[evidence] == "MND").any()
