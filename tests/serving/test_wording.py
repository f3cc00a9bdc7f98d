"""The wording: each finding stated with the patient's actual values (never "normal" for a null), and
the out-of-distribution facts, warnings and criteria note worded as before the facts moved out of the core."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from mmn_ddx.data.contract import FEATURE_FIELDS
from mmn_ddx.features import MODES, TREATMENT_FIELDS, ClinicalFeatures
from mmn_ddx.features._random_frame import random_frame
from mmn_ddx.features.findings import FINDING_GROUPS
from mmn_ddx.serving.wording import DESCRIBERS, describe_finding, messages
from mmn_ddx.serving.wording._phrases import DRUGS
from mmn_ddx.training.artifact.bundle import Atypical


def test_every_finding_group_has_exactly_one_describer() -> None:
    assert list(DESCRIBERS) == list(FINDING_GROUPS)


MMN = {
    "age_at_onset_years": 45.0, "sex": "male", "symptom_duration_months": 24.0, "course": "stepwise",
    "mrc_arm_distal_left": 3.0, "mrc_arm_distal_right": 5.0, "mrc_arm_proximal_left": 5.0,
    "mrc_arm_proximal_right": 5.0, "sensory_symptoms": False, "sensory_loss": "minor_vibration",
    "motor_nerves_studied": 8, "nerves_definite_cb": 3, "nerves_probable_cb": 1, "nerves_cidp_cb": 3,
    "anti_gm1_igm_ratio": 8.0, "csf_protein_g_per_l": 0.82, "csf_cells_per_ul": 2.0,
}


@pytest.mark.parametrize(("group", "record", "expected"), [
    ("conduction_block", MMN, "definite conduction block in 3 of 8 motor nerves, probable conduction block in 1, "
                              "conduction block by the CIDP definition in 3"),
    ("conduction_block", {**MMN, "motor_nerves_studied": None, "nerves_definite_cb": None, "nerves_probable_cb": None,
                          "nerves_cidp_cb": None}, "motor nerve conduction not recorded"),
    ("conduction_block", {**MMN, "motor_nerves_studied": 0, "nerves_definite_cb": None, "nerves_probable_cb": None,
                          "nerves_cidp_cb": None}, "motor nerve conduction not done"),
    ("anti_gm1", MMN, "anti-GM1 IgM 8.0× cut-off (high titre)"),
    ("anti_gm1", {**MMN, "anti_gm1_igm_ratio": 0.4}, "anti-GM1 IgM 0.4× cut-off (negative)"),
    ("anti_gm1", {**MMN, "anti_gm1_igm_ratio": 0.97}, "anti-GM1 IgM 0.97× cut-off (negative)"),
    ("anti_gm1", {**MMN, "anti_gm1_igm_ratio": 3.999}, "anti-GM1 IgM 3.99× cut-off (positive)"),
    ("conduction_block", {"motor_nerves_studied": 8, "nerves_probable_cb": 2},
     "definite conduction block not recorded, probable conduction block in 2 of 8 motor nerves, "
     "conduction block by the CIDP definition not recorded"),
    ("demyelination", {"motor_nerves_studied": 8, "nerves_dml_prolonged": 0, "nerves_cv_slowed": 0},
     "prolonged distal motor latency in 0 of 8 motor nerves, slowed motor conduction velocity in 0"),
    ("anti_gm1", {**MMN, "anti_gm1_igm_ratio": None}, "anti-GM1 IgM not recorded"),
    ("csf", MMN, "CSF protein 0.82 g/L (1.6× the age-adjusted upper limit of 0.50 g/L), 2 cells/µL"),
    ("csf", {**MMN, "csf_protein_g_per_l": None, "csf_cells_per_ul": None}, "CSF not recorded"),
    ("weakness_distribution", MMN, "weakest MRC 3 (left distal arm); weak in 1 of 4 examined regions (1 limb); "
                                   "distal > proximal"),
    ("asymmetry", MMN, "asymmetric by the EFNS/PNS rule in 1 of 2 region pairs, largest difference 2 MRC grades "
                       "(distal arm)"),
    ("sensory_signs", MMN, "no sensory symptoms, only minor vibration loss in the legs, ataxia not recorded"),
    ("course", MMN, "stepwise course, symptoms for 24 months (2 years)"),
])
def test_descriptions_state_the_patient_s_actual_values(group: str, record: dict[str, Any], expected: str) -> None:
    assert describe_finding(group, record) == expected


MINIMAL = {"age_at_onset_years": 50.0, "sex": "female"}


@pytest.mark.parametrize(("group", "record", "expected"), [
    ("conduction_block", {"motor_conduction_block": "multiple"},
     "conduction block in several nerves (stated without counts)"),
    ("conduction_block", {"motor_conduction_block": "none"}, "no conduction block found (stated without counts)"),
    ("conduction_block", {"nerves_definite_cb": 0}, "no conduction block found (number of nerves studied not given)"),
    ("conduction_block", {**MMN, "motor_conduction_block": "multiple"},
     "definite conduction block in 3 of 8 motor nerves, probable conduction block in 1, conduction block by the CIDP "
     "definition in 3, conduction block in several nerves (stated without counts)"),
    ("ncs_extent", {"nerves_definite_cb": 0},
     "motor nerve conduction done (number of nerves studied not given), sensory nerve conduction not recorded"),
    ("ncs_extent", {"motor_nerves_studied": 0, "sensory_nerves_studied": 0},
     "motor nerve conduction not done, sensory nerve conduction not done"),
    ("ncs_extent", {"motor_ncs_pattern": "axonal", "sensory_ncs": "normal"},
     "motor nerve conduction done (number of nerves studied not given), "
     "sensory nerve conduction done (number of nerves studied not given)"),
    ("ncs_extent", {"motor_nerves_studied": 0, "motor_ncs_pattern": "axonal", "sensory_nerves_studied": 0,
                    "sensory_ncs": "normal"},
     "0 motor nerves studied, 0 sensory nerves studied"),  # the number given is said, even 0 beside words
    ("demyelination", {"motor_nerves_studied": 0, "nerves_any_demyelinating": 0, "motor_ncs_pattern": "axonal"},
     "any demyelinating abnormality in 0 of 0 motor nerves, "
     "axonal pattern on motor conduction (stated without counts)"),
    ("demyelination", {"motor_ncs_pattern": "demyelinating"},
     "demyelinating features on motor conduction (stated without counts)"),
    ("demyelination", {"nerves_any_demyelinating": 0},
     "no demyelinating abnormality found (number of nerves studied not given)"),
    ("sensory_conduction", {"sensory_ncs": "normal"},
     "normal sensory conduction (stated without counts), across blocked segments not recorded"),
    ("sensory_conduction", {"sensory_nerves_abnormal": 0},
     "no abnormal sensory nerve found (number of nerves studied not given), across blocked segments not recorded"),
    ("anti_gm1", {"anti_gm1_igm": "positive"}, "anti-GM1 IgM positive (no titre given)"),
    ("csf", {"csf_protein_raised": True}, "CSF protein raised (stated without a value), cell count not recorded"),
    ("weakness_distribution", {"weak_arms": "one", "weak_legs": "none", "weakness_predominance": "distal"},
     "one arm weak, legs not weak, distal > proximal (stated without MRC grades)"),
    ("weakness_distribution", {"weakness_symmetry": "no_weakness"}, "no weakness (stated without MRC grades)"),
    ("asymmetry", {"weakness_symmetry": "asymmetric"}, "asymmetric weakness (stated without MRC grades)"),
    ("asymmetry", {"weak_arms": "one"}, "asymmetric: one arm weak (stated without MRC grades)"),
    ("asymmetry", {"weakness_symmetry": "symmetric", "weakness_predominance": "both", "weak_arms": "both",
                   "weak_legs": "both"},
     "symmetric proximal and distal weakness of all four limbs (stated without MRC grades)"),
    ("weakness_distribution", {"mrc_arm_proximal_left": 5.0, "mrc_arm_proximal_right": 5.0, "mrc_arm_distal_left": 5.0,
                               "mrc_arm_distal_right": 5.0, "weak_legs": "one"},
     "full strength in the 4 examined regions; one leg weak (stated without MRC grades)"),
    ("weakness_distribution", {"mrc_arm_distal_left": 4.0, "weak_legs": "both"},
     "weakest MRC 4 (left distal arm); weak in 1 of 1 examined region; both legs weak (stated without MRC grades)"),
    ("wasting", {"muscle_atrophy": "present"}, "wasting (grade not stated)"),
    ("reflexes", {"reflexes_arms": "reduced", "reflexes_legs": "brisk"},
     "reflexes reduced in the arms, brisk in the legs"),
])
def test_findings_stated_in_words_are_worded_as_evidence(group: str, record: dict[str, Any], expected: str) -> None:
    assert describe_finding(group, {**MINIMAL, **record}) == expected


def test_nothing_unrecorded_is_described_as_normal() -> None:
    minimal = {"age_at_onset_years": 50.0, "sex": "female"}
    for group in FINDING_GROUPS:
        if group in ("age_sex", "record_completeness"):
            continue
        words = describe_finding(group, minimal)
        assert "not" in words and "normal" not in words.replace("not recorded", ""), (group, words)


NOT_DONE_WORDS = ("not done", "not tested", "not examined")


def test_a_record_that_omits_a_test_never_says_it_was_not_done() -> None:
    """Null is "not examined / not tested / unknown": a case report that leaves the CSF out does not say the
    CSF was not examined (a record stating 0 nerves studied does say so: the cases above)."""
    minimal = {"age_at_onset_years": 50.0, "sex": "female"}
    for group in FINDING_GROUPS:
        words = describe_finding(group, minimal)
        assert not any(claim in words for claim in NOT_DONE_WORDS), (group, words)


def test_record_completeness_follows_the_mode() -> None:
    record = {**MMN, "ivig_response": "improved"}
    assert describe_finding("record_completeness", record) == f"17 of {len(FEATURE_FIELDS) - 2} fields recorded"
    assert describe_finding("record_completeness", record, mode="with-treatment") == (
        f"18 of {len(FEATURE_FIELDS)} fields recorded")


def test_descriptions_of_random_records_are_clean_and_agree_with_the_counts() -> None:
    frame = random_frame(60, seed=5, null_rate=0.3)
    for record in frame.to_dict("records"):  # rows of a canonical frame: NaN / pd.NA for nulls
        for group in FINDING_GROUPS:
            words = describe_finding(group, record)
            assert words and not any(bad in words for bad in ("None", "nan", "<NA>", "_")), (group, words)
        studied, blocked = record["motor_nerves_studied"], record["nerves_definite_cb"]
        if not pd.isna(studied) and studied > 0 and not pd.isna(blocked):
            assert describe_finding("conduction_block", record).startswith(
                f"definite conduction block in {blocked} of {studied} motor nerve")


@pytest.mark.parametrize("mode", MODES)
def test_given_features_word_every_finding_as_computing_them_would(mode: str) -> None:
    frame = random_frame(80, seed=9, null_rate=0.3)
    features = ClinicalFeatures(mode=mode).fit(frame).set_output(transform="pandas").transform(frame)
    for record, known in zip(frame.to_dict("records"), features.to_dict("records"), strict=True):
        for group in FINDING_GROUPS:
            assert describe_finding(group, record, mode, known) == describe_finding(group, record, mode), group


def test_unknown_groups_are_refused_with_the_known_ones() -> None:
    with pytest.raises(KeyError, match="conduction_block"):
        describe_finding("conduction_blocks", MMN)


# --- messages from facts -------------------------------------------------------------------------------


@pytest.mark.parametrize(("fact", "expected"), [
    (Atypical("out_of_range", field="csf_protein_g_per_l", value=18.0, low=0.2, high=3.1, share=0.99),
     "CSF protein = 18 g/L is far outside the training data (99 % of training patients: 0.2 to 3.1 g/L)"),
    (Atypical("out_of_range", field="csf_cells_per_ul", value=90.0, low=0.06, high=20.0607, share=0.99),
     "CSF cells = 90 cells/µL is far outside the training data (99 % of training patients: 0.06 to 20.1 cells/µL)"),
    (Atypical("out_of_range", field="nerves_definite_cb", value=12.0, low=0.0, high=6.0, share=0.99),
     "definite CB = 12 is far outside the training data (99 % of training patients: 0 to 6)"),
    (Atypical("unseen_value", field="sex", value="other"), "sex = other never occurred in the training data"),
    (Atypical("unseen_value", field="onset_region", value="lower_limb"),
     "onset region = lower limb never occurred in the training data"),
    (Atypical("unseen_value", field="anti_mag_positive", value=True),
     "Anti-MAG positive = yes never occurred in the training data"),
    (Atypical("unusual_combination", share=0.99, features=("umn_signs", "anti_gm1_log2_ratio", "csf_not_done")),
     "unusual combination of findings, rarer than 99 % of typical patients (most atypical: upper motor neuron "
     "signs; Anti-GM1 IgM antibodies; cerebrospinal fluid)"),
    # an indicator atypical by its value (anti-MAG tested) is named by its finding, never as "not tested"
    (Atypical("unusual_combination", share=0.99,
              features=("anti_mag_not_tested", "age_at_onset_years", "weakness_mean")),
     "unusual combination of findings, rarer than 99 % of typical patients (most atypical: IgM paraprotein and "
     "anti-MAG antibodies; age and sex; distribution of weakness)"),
    (Atypical("unusual_combination", share=0.99,
              features=("anti_mag_positive", "anti_mag_not_tested", "ivig_improved")),
     "unusual combination of findings, rarer than 99 % of typical patients (most atypical: IgM paraprotein and "
     "anti-MAG antibodies; response to immunotherapy)"),  # one finding once; a with-treatment feature too
])
def test_out_of_distribution_facts_read_as_sentences(fact: Atypical, expected: str) -> None:
    assert messages.atypical(fact) == expected
    assert messages.out_of_distribution([fact, fact]) == (
        f"Unlike the training data: {expected}; {expected}. Treat the probabilities with caution.")


def test_out_of_distribution_facts_are_json_ready_without_empty_slots() -> None:
    fact = Atypical("unseen_value", field="course", value="relapsing")
    assert fact.to_dict() == {"code": "unseen_value", "field": "course", "value": "relapsing"}


def test_little_information_names_each_reason() -> None:
    both = messages.little_information(3, 40, few_recorded=True, no_motor_ncs=True)
    assert both.startswith("Little information: only 3 of 40 findings beyond age and sex are recorded and no result "
                           "of a motor nerve conduction study is recorded; the prediction may lean on the pre-test "
                           "probabilities")
    assert "only" not in messages.little_information(30, 40, few_recorded=False, no_motor_ncs=True)
    assert "calibrated on training records this sparse" in both  # the sets' promise, with its limit
    assert "held the true diagnosis less often than they claim" in both


def test_every_treatment_field_is_worded_by_its_drug() -> None:
    """A treatment field without a drug's name could not be warned of (``treatment_response_ignored``)."""
    assert tuple(DRUGS) == TREATMENT_FIELDS
    assert messages.treatment_response_ignored(TREATMENT_FIELDS, MODES[0]).startswith(
        "The record gives the response to IVIg and to corticosteroids, which this at-presentation model does not read")


@pytest.mark.parametrize(("label", "missing", "expected"), [
    ("MMN", [], "The published criteria (rule-based cascade) also give MMN."),
    ("unclassified", ["a", "b", "c", "d", "e"], "The published criteria give no single label (unclassified: no "
     "criteria set is met); recording a, b, c, d ... may decide them."),
    # fields by their labels on the form, the titre and the stated anti-GM1 result once
    ("unclassified", ["anti_gm1_igm", "anti_gm1_igm_ratio", "bulbar_weakness", "csf_protein_g_per_l",
                      "mrc_leg_proximal_left", "nerves_definite_cb"],
     "The published criteria give no single label (unclassified: no criteria set is met); recording Anti-GM1 IgM, "
     "bulbar weakness, CSF protein, MRC leg proximal left ... may decide them."),
    ("conflicting", [], "The published criteria give no single label (conflicting: criteria sets point to "
     "different labels)."),
])
def test_the_criteria_note_words_agreement_or_why_there_is_no_label(label: str, missing: list[str],
                                                                   expected: str) -> None:
    assert messages.criteria_note(label, "MMN", missing) == expected
    assert messages.criteria_note("CIDP", "MMN", []).startswith("The published criteria give CIDP but the model "
                                                                "predicts MMN: review the elements below")


def test_cascade_facts_read_as_the_sentences_the_criteria_cli_prints() -> None:
    from mmn_ddx.features.criteria import CascadeFact

    blocked = CascadeFact(code="blocked", step="step4_gold_coast", label="MND",
                          blocked_by={"step1_mmn_definite_or_probable": "MMN", "step2_multifocal_cidp": "MADSAM"})
    assert messages.cascade_fact(blocked) == (
        "step4_gold_coast (MND) is met but earlier step1_mmn_definite_or_probable "
        "(MMN), step2_multifocal_cidp (MADSAM) is not assessable"
    )
    variant = CascadeFact(code="variant_outside_labels", label="other CIDP variant", variant="motor", verdict="CIDP")
    assert messages.cascade_fact(variant) == "EAN/PNS 2021 motor CIDP (CIDP) is outside the four labels"


def test_the_criteria_cli_prints_the_cascade_facts_and_their_words(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A conflicting label (MND met by Gold Coast while probable MMN is undecided) reads as before."""
    import json

    from typer.testing import CliRunner

    from mmn_ddx.cli import app

    record = {  # a generated MMN patient (generate_cohort(3000, seed=1), SYN-1-002654)
        "age_at_onset_years": 37.0, "sex": "male", "course": "progressive", "onset_region": "upper_limb",
        "mrc_arm_proximal_left": 3.0, "mrc_arm_distal_left": 3.0, "mrc_leg_proximal_left": 5.0,
        "mrc_leg_distal_left": 5.0, "weak_nerve_territories": 4, "bulbar_weakness": False, "cranial_nerve_palsy": False,
        "muscle_atrophy": "mild", "fasciculations": False, "cramps": True, "reflexes_affected_limbs": "brisk",
        "reflexes_unaffected_limbs": "normal", "upper_motor_neuron_signs": False, "sensory_symptoms": False,
        "sensory_ataxia": False, "motor_nerves_studied": 7, "nerves_definite_cb": 0, "nerves_probable_cb": 1,
        "nerves_cidp_cb": 1, "nerves_dml_prolonged": 0, "nerves_cv_slowed": 0, "nerves_fwave_prolonged": 0,
        "nerves_fwave_absent": 1, "nerves_temporal_dispersion": 0, "sensory_nerves_studied": 4,
        "sensory_nerves_abnormal": 0, "sensory_normal_across_cb": True, "emg_regions_denervated": 0,
        "emg_fasciculation_potentials": False,
    }
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    result = CliRunner().invoke(app, ["criteria", str(path)])
    assert result.exit_code == 0, result.output
    cascade = json.loads(result.stdout)[-1]
    assert cascade["verdict"] == "conflicting"
    assert cascade["facts"][0]["blocked_by"] == {"step1_mmn_definite_or_probable": "MMN"}
    assert cascade["notes"] == ["step4_gold_coast (MND) is met but earlier step1_mmn_definite_or_probable (MMN) is not "
                                "assessable"]


def test_directions_of_many_findings_equal_one_direction_each() -> None:
    """The batch wording of directions (one numpy pass) says what :func:`messages.direction` says for each
    finding, at and around the neutral band, with ties between the other classes, for every predicted class."""
    import numpy as np

    neutral = messages.NEUTRAL["log-odds"]
    rng = np.random.default_rng(0)
    edges = np.array([-2 * neutral, -neutral, -neutral / 2, 0.0, neutral / 2, neutral, 2 * neutral])
    contributions = np.vstack([rng.choice(edges, size=(4000, 4)), rng.normal(0.0, 3 * neutral, size=(4000, 4))])
    predicted = rng.integers(0, 4, size=len(contributions))
    expected = [messages.direction(c, int(p), neutral) for c, p in zip(contributions, predicted, strict=True)]
    assert messages.directions(contributions, predicted, neutral) == expected
    for k in range(4):  # one class for every finding (one patient's explanation) words them the same
        expected_k = [messages.direction(c, k, neutral) for c in contributions]
        assert messages.directions(contributions, k, neutral) == expected_k
        assert messages.directions(contributions, np.int64(k), neutral) == expected_k
    assert {"little effect", "towards MMN", "away from MMN", "away from MMN, towards MND"} <= set(expected)


def test_a_sentence_names_every_field_as_the_form_labels_it() -> None:
    """One label per field (serving.wording.fields): the criteria note and GET /v1/schema never differ."""
    from mmn_ddx.serving.http.schema import form_schema

    for field in form_schema().fields:
        note = messages.criteria_note("unclassified", "MMN", [field.name])
        named = note.split("; recording ", 1)[1].removesuffix(" may decide them.")
        assert named.lower() == field.label.lower() and "_" not in named, field.name
