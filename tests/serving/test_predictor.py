"""The Python API: loading, validation, the result's parts, and batch == one by one."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data.contract import DIAGNOSES, LABEL, SCHEMA_VERSION, rules, to_canonical
from mmn_ddx.data.generator import GENERATOR_VERSION, generate_cohort
from mmn_ddx.data.record import RecordError
from mmn_ddx.features.criteria import CRITERIA_SETS, explain_criteria
from mmn_ddx.serving.predictor import ModelNotFoundError, Predictor, default_model_uri
from mmn_ddx.serving.records import BatchRecordError, canonical_frame, frame_records

VIGNETTES: dict[str, dict[str, Any]] = {
    "MMN": {
        "age_at_onset_years": 38.0, "sex": "male", "symptom_duration_months": 30.0, "course": "progressive",
        "onset_region": "upper_limb", "mrc_arm_distal_left": 3.0, "mrc_arm_distal_right": 5.0,
        "mrc_arm_proximal_left": 5.0, "mrc_arm_proximal_right": 5.0, "weak_nerve_territories": 3,
        "muscle_atrophy": "mild", "fasciculations": True, "upper_motor_neuron_signs": False, "bulbar_weakness": False,
        "sensory_symptoms": False, "sensory_loss": "none", "reflexes_affected_limbs": "reduced",
        "motor_nerves_studied": 8, "nerves_definite_cb": 3, "nerves_probable_cb": 1, "nerves_cidp_cb": 3,
        "nerves_any_demyelinating": 3, "sensory_nerves_studied": 4, "sensory_nerves_abnormal": 0,
        "sensory_normal_across_cb": True, "anti_gm1_igm_ratio": 12.0, "csf_protein_g_per_l": 0.4,
    },
    "MND": {
        "age_at_onset_years": 63.0, "sex": "male", "symptom_duration_months": 10.0, "course": "progressive",
        "onset_region": "upper_limb", "mrc_arm_distal_left": 3.0, "mrc_arm_distal_right": 4.0,
        "mrc_leg_distal_left": 4.0, "bulbar_weakness": True, "muscle_atrophy": "marked", "fasciculations": True,
        "cramps": True, "reflexes_affected_limbs": "brisk", "upper_motor_neuron_signs": True,
        "sensory_symptoms": False, "sensory_loss": "none", "motor_nerves_studied": 8, "nerves_definite_cb": 0,
        "nerves_probable_cb": 0, "nerves_any_demyelinating": 0, "sensory_nerves_studied": 4,
        "sensory_nerves_abnormal": 0, "emg_regions_denervated": 3, "emg_fasciculation_potentials": True,
        "anti_gm1_igm_ratio": 0.3,
    },
    "CIDP": {
        "age_at_onset_years": 58.0, "sex": "male", "symptom_duration_months": 8.0, "course": "progressive",
        "onset_region": "lower_limb", **{f"mrc_{limb}_{level}_{side}": 4.0 for limb in ("arm", "leg")
                                        for level in ("proximal", "distal") for side in ("left", "right")},
        "reflexes_affected_limbs": "absent", "reflexes_unaffected_limbs": "absent", "sensory_symptoms": True,
        "sensory_loss": "symmetric", "sensory_ataxia": True, "motor_nerves_studied": 8, "nerves_definite_cb": 0,
        "nerves_cidp_cb": 2, "nerves_any_demyelinating": 7, "nerves_dml_prolonged": 5, "nerves_cv_slowed": 6,
        "nerves_fwave_prolonged": 5, "nerves_temporal_dispersion": 3, "sensory_nerves_studied": 4,
        "sensory_nerves_abnormal": 4, "csf_protein_g_per_l": 1.4, "csf_cells_per_ul": 2.0, "anti_gm1_igm_ratio": 0.2,
    },
    "MADSAM": {
        "age_at_onset_years": 50.0, "sex": "female", "symptom_duration_months": 24.0, "course": "progressive",
        "onset_region": "upper_limb", "mrc_arm_distal_left": 3.0, "mrc_arm_distal_right": 5.0,
        "weak_nerve_territories": 3, "sensory_symptoms": True, "sensory_loss": "multifocal",
        "reflexes_affected_limbs": "reduced", "motor_nerves_studied": 8, "nerves_definite_cb": 2,
        "nerves_cidp_cb": 3, "nerves_any_demyelinating": 4, "nerves_cv_slowed": 1, "sensory_nerves_studied": 4,
        "sensory_nerves_abnormal": 3, "sensory_normal_across_cb": False, "csf_protein_g_per_l": 0.9,
        "anti_gm1_igm_ratio": 0.3,
    },
}
SPARSE = {"age_at_onset_years": 50.0, "sex": "female"}


@pytest.fixture(scope="module")
def predictor(quick_bundle_dir: Path) -> Predictor:
    return Predictor.load(str(quick_bundle_dir))


@pytest.fixture(scope="module")
def cohort_records() -> list[dict[str, Any]]:
    return frame_records(generate_cohort(24, seed=11).drop(columns=[LABEL]))


@pytest.mark.parametrize("diagnosis", DIAGNOSES)
def test_vignettes_are_recognised(predictor: Predictor, diagnosis: str) -> None:
    result = predictor.predict(VIGNETTES[diagnosis])
    assert result.predicted_diagnosis == diagnosis
    assert result.predicted_diagnosis in result.prediction_set.diagnoses


@pytest.mark.parametrize("record", [SPARSE, *VIGNETTES.values()], ids=["sparse", *VIGNETTES])
def test_probabilities_sum_to_one_and_top_class_is_predicted(predictor: Predictor, record: dict[str, Any]) -> None:
    result = predictor.predict(record)
    assert list(result.probabilities) == list(DIAGNOSES)
    assert math.isclose(sum(result.probabilities.values()), 1.0, abs_tol=1e-9)
    assert result.predicted_diagnosis == max(result.probabilities, key=result.probabilities.get)


def test_prediction_set_has_top_class_and_stated_coverage(predictor: Predictor, cohort_records: list) -> None:
    for result in predictor.predict_many(cohort_records):
        ps = result.prediction_set
        assert result.predicted_diagnosis == ps.diagnoses[0]
        assert set(ps.diagnoses) <= set(DIAGNOSES) and len(set(ps.diagnoses)) == len(ps.diagnoses)
        assert ps.coverage == predictor.bundle.coverage and 0 < ps.coverage < 1
        probs = [result.probabilities[d] for d in ps.diagnoses]
        assert probs == sorted(probs, reverse=True)


def test_criteria_elements_present_and_not_assessable_for_nulls(predictor: Predictor) -> None:
    criteria = predictor.predict(SPARSE).criteria
    assert [v.criteria.split()[0] for v in criteria.verdicts[:3]] == ["EFNS/PNS", "EAN/PNS", "Gold"]
    evidence_only = {e.id for s in CRITERIA_SETS for e in s.elements if e.absent_unless_recorded}
    for verdict in criteria.verdicts[:3]:
        assert verdict.elements
        for element in verdict.elements:
            null_fields = [f for f in element.fields if f not in SPARSE]
            if element.id in evidence_only:  # only a recorded finding excludes (docs/criteria.md)
                assert element.status == "met"
            elif element.fields and len(null_fields) == len(element.fields):
                assert element.status == "not assessable"
                assert element.missing == tuple(null_fields)
    assert criteria.rule_based_label in ("unclassified", "conflicting")
    assert criteria.agrees_with_model is None


def test_criteria_view_matches_explain_criteria(predictor: Predictor, cohort_records: list) -> None:
    results = predictor.predict_many(cohort_records, with_next_test=False)
    for record, result in zip(cohort_records, results, strict=True):
        reference = explain_criteria(canonical_frame([record]))
        for ours, theirs in zip(result.criteria.verdicts, reference, strict=True):
            assert (ours.verdict, ours.variant, ours.maps_to) == (theirs.verdict, theirs.variant, theirs.maps_to)
            assert ours.missing_fields == theirs.missing_fields
            assert [(e.id, e.status, e.missing) for e in ours.elements] == [
                (e.id, e.status, tuple(e.missing_fields)) for e in theirs.elements]
        assert result.criteria.rule_based_label == reference[-1].verdict
        chart_review = explain_criteria(canonical_frame([record]), "chart-review")
        assert result.criteria.rule_based_labels == {"strict": reference[-1].verdict,
                                                     "chart-review": chart_review[-1].verdict}
        # what recording a null field could change is the same in both readings (docs/criteria.md)
        assert [v.missing_fields for v in result.criteria.verdicts] == [v.missing_fields for v in chart_review]


def test_shared_criteria_elements_cannot_be_changed_through_one_result(predictor: Predictor) -> None:
    """Results share their element instances (serving.criteria_view): changing one would change every result."""
    first, second = predictor.predict(SPARSE).criteria, predictor.predict(SPARSE).criteria
    element = first.verdicts[0].elements[0]
    assert element is second.verdicts[0].elements[0]
    with pytest.raises(AttributeError):
        element.fields.append("age_at_onset_years")  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="frozen"):
        element.missing = ("age_at_onset_years",)  # type: ignore[misc]
    assert first.model_dump(mode="json")["verdicts"][0]["elements"][0]["fields"] == list(element.fields)


def test_criteria_disagreement_is_flagged(predictor: Predictor) -> None:
    results = predictor.predict_many(frame_records(generate_cohort(200, seed=5).drop(columns=[LABEL])),
                                     with_next_test=False)
    for result in results:
        label, agrees = result.criteria.rule_based_label, result.criteria.agrees_with_model
        assert agrees == (label == result.predicted_diagnosis if label in DIAGNOSES else None)
        assert ("criteria_disagree" in {w.code for w in result.warnings}) == (agrees is False)
    assert any(r.criteria.agrees_with_model for r in results)


def test_sparse_record_warns_of_little_information(predictor: Predictor) -> None:
    codes = [w.code for w in predictor.predict(SPARSE).warnings]
    assert codes[0] == "synthetic_training_data"
    assert "little_information" in codes
    assert "little_information" not in [w.code for w in predictor.predict(VIGNETTES["CIDP"]).warnings]


def test_absurd_but_valid_record_warns_out_of_distribution(predictor: Predictor) -> None:
    absurd = {**VIGNETTES["MMN"], "age_at_onset_years": 109.0, "csf_protein_g_per_l": 19.5, "csf_cells_per_ul": 4900.0,
              "motor_nerves_studied": 40, "nerves_definite_cb": 40, "anti_gm1_igm_ratio": 990.0}
    warnings = {w.code: w.message for w in predictor.predict(absurd).warnings}
    assert "out_of_distribution" in warnings
    assert "CSF cells = 4900 cells/µL is far outside the training data" in warnings["out_of_distribution"]
    assert "out_of_distribution" not in {w.code for w in predictor.predict(VIGNETTES["MMN"]).warnings}


@pytest.mark.parametrize(("record", "fields"), [
    ({"sex": "male"}, {"age_at_onset_years"}),
    ({"age_at_onset_years": "41", "sex": "man"}, {"age_at_onset_years", "sex"}),
    ({**SPARSE, "mrc_arm_distal_left": 7.0, "nerves_definite_cb": 2.5}, {"mrc_arm_distal_left", "nerves_definite_cb"}),
    ({**SPARSE, "anti_gm1": 3.0}, {"anti_gm1"}),
    ({**SPARSE, "motor_nerves_studied": 3, "nerves_definite_cb": 5}, {"nerves_definite_cb"}),
    ({**SPARSE, "csf_protein_g_per_l": float("inf")}, {"csf_protein_g_per_l"}),
])
def test_invalid_records_give_field_level_errors(predictor: Predictor, record: dict, fields: set[str]) -> None:
    with pytest.raises(RecordError) as caught:
        predictor.predict(record)
    assert set(caught.value.problems) == fields
    assert all(caught.value.problems.values())


def test_spaced_text_values_are_read_as_in_a_cohort_file(predictor: Predictor) -> None:
    """' male' and 'upper_limb ' were refused one record at a time (predict, predict_many of dicts or of a plain
    frame) while a CSV or JSON cohort read them; a spaced diagnosis is checked then not read, as a clean one."""
    record = {**VIGNETTES["MMN"], "patient_id": "P-1"}
    spaced = {**record, "patient_id": "\tP-1 ", "sex": " male", "onset_region": "upper_limb\n",
              "course": " progressive "}
    expected = predictor.predict(record)
    assert predictor.predict({**spaced, LABEL: " MMN "}) == expected and expected.patient_id == "P-1"
    assert predictor.predict_many([spaced, record]) == [expected, expected]
    assert predictor.predict_many(pd.DataFrame([spaced])) == [expected]
    with pytest.raises(RecordError) as caught:
        predictor.predict({**spaced, "sex": " man "})
    assert set(caught.value.problems) == {"sex"}


def test_issue_example_row_is_rejected_with_the_dictionary_rule(predictor: Predictor) -> None:
    """2 motor nerves studied, 5 with definite block: the record model's rule, by one record or a frame."""
    record = {"age_at_onset_years": 45.0, "sex": "male", "motor_nerves_studied": 2, "nerves_definite_cb": 5}
    message = next(rule.message for rule in rules() if rule.field == "nerves_definite_cb")
    with pytest.raises(RecordError) as caught:
        predictor.predict(record)
    assert caught.value.problems == {"nerves_definite_cb": message}
    with pytest.raises(BatchRecordError) as batch:
        predictor.predict_many(canonical_frame([record]))
    assert batch.value.rows == {0: {"nerves_definite_cb": message}}


def test_non_mapping_input_is_a_record_error(predictor: Predictor) -> None:
    with pytest.raises(RecordError, match="JSON object"):
        predictor.predict(["age", 41])  # type: ignore[arg-type]


def test_batch_errors_name_rows_and_fields(predictor: Predictor) -> None:
    records = [VIGNETTES["MMN"], {"sex": "male"}, VIGNETTES["CIDP"], {**SPARSE, "sex": "x"}]
    with pytest.raises(BatchRecordError) as caught:
        predictor.predict_many(records)
    assert caught.value.rows == {2: {"age_at_onset_years": caught.value.rows[2]["age_at_onset_years"]},
                                 4: {"sex": caught.value.rows[4]["sex"]}}


def test_predict_many_equals_predict_one_by_one(predictor: Predictor, cohort_records: list) -> None:
    records = [*cohort_records, SPARSE, *VIGNETTES.values()]
    batch = predictor.predict_many(records)
    assert batch == [predictor.predict(record) for record in records]


DOCUMENTS = ("tertiary_workup", "referral_letter", "case_report")
"""The generator's document types (data/priors.yaml ``reporting.documents``): full work-ups to sparse letters."""


@pytest.mark.parametrize("document", DOCUMENTS)
def test_one_patient_path_equals_the_batch_path(predictor: Predictor, document: str) -> None:
    """One patient alone takes the few-rows paths (values worked one by one: data.kleene's int masks, the feature
    helpers' Python floats); a batch of 200 takes numpy's. Each patient's whole result - probabilities, SHAP per
    feature and finding, findings worded, prediction set, criteria elements and labels, warnings - is the same."""
    cohort = generate_cohort(1500, seed=41, return_latents=True)
    patients = cohort[cohort["latent_document"] == document].head(200)
    assert len(patients) == 200
    records = frame_records(patients[[c for c in patients.columns if not c.startswith("latent_") and c != LABEL]])
    batch = predictor.predict_many(records, with_next_test=False)
    for record, expected in zip(records, batch, strict=True):
        assert predictor.predict(record, with_next_test=False) == expected


def test_predict_many_accepts_a_cohort_frame(predictor: Predictor) -> None:
    cohort = generate_cohort(80, seed=3)  # canonical dtypes, label included (ignored); > records fast path
    from_frame = predictor.predict_many(cohort, with_next_test=False)
    from_records = predictor.predict_many(frame_records(cohort.drop(columns=[LABEL])), with_next_test=False)
    assert from_frame == from_records
    assert [r.patient_id for r in from_frame] == cohort["patient_id"].tolist()


def test_audit_block_traces_model_and_data(predictor: Predictor, quick_bundle_dir: Path) -> None:
    audit = predictor.predict(SPARSE).audit
    assert audit.model_name == "mmn-ddx" and audit.mode == "at-presentation"
    assert audit.model_uri == str(quick_bundle_dir)
    assert audit.training_data_digest == predictor.bundle.metadata.training_data_digest
    assert audit.generator_version == GENERATOR_VERSION and audit.schema_version == SCHEMA_VERSION
    assert audit.code_version


def test_canonical_frame_equals_to_canonical(cohort_records: list) -> None:
    built = canonical_frame(cohort_records)
    pd.testing.assert_frame_equal(built, to_canonical(pd.DataFrame(cohort_records)))


def test_default_model_uri_follows_the_tracking_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MMN_DDX_HOME", str(tmp_path))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'store.db'}")
    assert default_model_uri() == "models:/mmn-ddx@champion"
    assert default_model_uri("with-treatment") == "models:/mmn-ddx-with-treatment@champion"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert default_model_uri() == str(tmp_path / "models" / "mmn-ddx")  # no store in the home directory
    with pytest.raises(ModelNotFoundError, match="mmn-ddx train"):
        Predictor.load()
    (tmp_path / "mlruns.db").touch()  # the default store of the home directory exists
    assert default_model_uri() == "models:/mmn-ddx@champion"


def test_load_rejects_a_model_of_the_other_mode(quick_bundle_dir: Path) -> None:
    with pytest.raises(ValueError, match="at-presentation"):
        Predictor.load(str(quick_bundle_dir), mode="with-treatment")


def test_probabilities_match_the_bundle(predictor: Predictor, cohort_records: list) -> None:
    """In the training population's own (balanced) setting the served numbers are the bundle's, bit for bit
    (other settings: tests/serving/test_setting.py)."""
    results = predictor.predict_many(cohort_records, with_next_test=False, setting="balanced")
    served = np.array([[r.probabilities[d] for d in DIAGNOSES] for r in results])
    frame = canonical_frame(cohort_records)
    np.testing.assert_array_equal(served, predictor.bundle.predict_explain(frame)[0])
    np.testing.assert_allclose(served, predictor.bundle.predict_proba(frame), atol=1e-6)  # float32 leaf sums


def test_predict_many_accepts_a_plain_frame_with_nan_for_null(predictor: Predictor) -> None:
    cohort = generate_cohort(10, seed=8).drop(columns=[LABEL])
    plain = pd.DataFrame({c: cohort[c].astype(object).where(cohort[c].notna(), np.nan) for c in cohort.columns})
    plain = plain.infer_objects()  # counts with nulls become float columns, as in any hand-made frame
    assert predictor.predict_many(plain, with_next_test=False) == predictor.predict_many(cohort, with_next_test=False)
    with pytest.raises(BatchRecordError) as caught:
        predictor.predict_many(plain.assign(nerves_definite_cb=2.5))
    assert set(caught.value.rows) == set(range(1, 11))


def test_record_and_frame_reads_agree(predictor: Predictor) -> None:
    """The one reader from validated record dicts (no DataFrame) and from the canonical frame: same results."""
    records = frame_records(generate_cohort(30, seed=9).drop(columns=[LABEL]))
    via_records = predictor.predict_many(records)
    assert predictor.predict_many(canonical_frame(records)) == via_records
    scored = predictor.score(records, canonical_frame(records))
    np.testing.assert_array_equal(scored.probs, predictor.score(records).probs)
