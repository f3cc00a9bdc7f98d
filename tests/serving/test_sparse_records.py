"""The "little information" and out-of-distribution warnings on sparse records (issue #13, item 3).

Records abstracted from referral letters and published case reports (the generator's reporting model)
leave whole sections null; a complete tertiary work-up does not. The warnings must tell them apart,
by the documented rule (``training.artifact.information.LITTLE_INFORMATION_FRACTION``,
``motor_ncs_done``), in the full result, the batch table and the pyfunc alike.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data.contract import DIAGNOSES, LABEL, fields
from mmn_ddx.data.diagnostic_tests import find_test
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.serving import alerts
from mmn_ddx.serving.predictor import Predictor
from mmn_ddx.serving.records import validate_frame
from mmn_ddx.training.artifact import (
    LITTLE_INFORMATION_FRACTION,
    MOTOR_NCS_FIELDS,
    little_information_mask,
    optional_fields,
)
from mmn_ddx.training.artifact.bundle import load_bundle
from mmn_ddx.training.artifact.pyfunc import BundlePyfunc

VIGNETTES = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "vignettes.csv"
HISTORY_ONLY = {"age_at_onset_years": 45.0, "sex": "male", "course": "progressive", "onset_region": "upper_limb"}


def _codes(predictor: Predictor, records: list[dict[str, Any]] | pd.DataFrame) -> list[set[str]]:
    """Warning codes per patient from the vectorised core (the rule every view shows)."""
    frame = records if isinstance(records, pd.DataFrame) else validate_frame(pd.DataFrame(records))
    scored = predictor.score(frame, with_next_test=False)
    return [{w.code for w in alerts.warnings_for(
        synthetic=predictor.synthetic, ood=scored.ood[i], recorded=int(scored.recorded[i]), total=scored.n_optional,
        motor_ncs_done=bool(scored.motor_ncs_done[i]), unread=(), mode=predictor.mode, agrees=None,
        label="unclassified", predicted="MMN")}
        for i in range(len(frame))]


@pytest.fixture(scope="module")
def documents() -> pd.DataFrame:
    """Generated records with the kind of document each was abstracted from."""
    cohort = generate_cohort(600, seed=21, return_latents=True)
    return cohort


def _by_document(documents: pd.DataFrame, document: str) -> pd.DataFrame:
    rows = documents[documents["latent_document"] == document]
    return validate_frame(rows[[c for c in rows.columns if not c.startswith("latent_") and c != LABEL]])


def _complete(predictor: Predictor, frame: pd.DataFrame) -> np.ndarray:
    """The documented rule, restated: at least half the optional findings and some motor conduction result (any
    field of its report, in numbers or words; 0 nerves studied is none, unless a result is stated in words)."""
    optional = list(optional_fields(predictor.mode))
    enough = frame[optional].notna().sum(axis=1) >= LITTLE_INFORMATION_FRACTION * len(optional)
    motor = find_test("motor_ncs")
    not_done = (frame[motor.studied] == 0).fillna(False) & frame[list(motor.words)].isna().all(axis=1)
    return (enough & frame[list(MOTOR_NCS_FIELDS)].notna().any(axis=1) & ~not_done).to_numpy()


@pytest.mark.parametrize(("document", "share_flagged"), [
    ("referral_letter", 0.95), ("case_report", 0.95), ("tertiary_workup", 0.0)])
def test_little_information_separates_letters_and_case_reports_from_tertiary_work_ups(
        predictor: Predictor, documents: pd.DataFrame, document: str, share_flagged: float) -> None:
    frame = _by_document(documents, document)
    assert len(frame) > 50
    flagged = np.array(["little_information" in c for c in _codes(predictor, frame)])
    np.testing.assert_array_equal(flagged, ~_complete(predictor, frame))
    if share_flagged:
        assert flagged.mean() >= share_flagged, document
    else:
        assert flagged.mean() <= 0.10, document  # the few without any motor conduction result


def _vignettes() -> dict[str, dict[str, Any]]:
    def cell(name: str, raw: str) -> Any:
        kind = fields()[name].type
        return None if raw == "" else float(raw) if kind == "float" else int(raw) if kind == "int" else \
            raw == "True" if kind == "bool" else raw
    with VIGNETTES.open(encoding="utf-8") as handle:
        return {row[LABEL]: {k: cell(k, v) for k, v in row.items() if k != LABEL} for row in csv.DictReader(handle)}


def test_full_tertiary_vignettes_get_neither_warning(predictor: Predictor) -> None:
    for diagnosis, codes in zip(_vignettes(), _codes(predictor, list(_vignettes().values())), strict=True):
        assert not codes & {"little_information", "out_of_distribution"}, diagnosis


@pytest.mark.parametrize(("record", "reasons"), [
    (HISTORY_ONLY, ("only 2 of", "no result of a motor nerve conduction study")),
    ({**HISTORY_ONLY, "symptom_duration_months": 24.0, "sensory_loss": "none"}, ("only 4 of", "motor nerve")),
    ({**HISTORY_ONLY, "nerves_definite_cb": 2, "anti_gm1_igm_ratio": 5.0}, ("only 4 of",)),
])
def test_hand_written_sparse_vignettes_get_little_information_with_its_reasons(
        predictor: Predictor, record: dict[str, Any], reasons: tuple[str, ...]) -> None:
    result = predictor.predict(record)
    (warning,) = [w for w in result.warnings if w.code == "little_information"]
    for reason in reasons:
        assert reason in warning.message
    assert "pre-test probabilities" in warning.message


def test_a_conduction_block_stated_without_the_nerves_studied_is_a_recorded_motor_study(predictor: Predictor) -> None:
    """A letter's "conduction block in two nerves" is a motor study, though the count of nerves studied is null."""
    full = dict(_vignettes()["MMN"])
    full["motor_nerves_studied"] = None
    result = predictor.predict(full)
    assert "little_information" not in {w.code for w in result.warnings}
    without_any = {**full, **dict.fromkeys(MOTOR_NCS_FIELDS)}
    (warning,) = [w for w in predictor.predict(without_any).warnings if w.code == "little_information"]
    assert "no result of a motor nerve conduction study" in warning.message and "only" not in warning.message


WORDED_MOTOR_STUDY = {"motor_conduction_block": "multiple", "motor_ncs_pattern": "demyelinating"}


def _worded(vignette: dict[str, Any]) -> dict[str, Any]:
    """A vignette whose motor conduction study is stated in words only, as letters and case reports state it."""
    return {**vignette, **dict.fromkeys(find_test("motor_ncs").fields), **WORDED_MOTOR_STUDY}


def test_a_motor_study_stated_only_in_words_is_a_recorded_motor_study(predictor: Predictor) -> None:
    """Contract v2: "conduction block in several nerves" in words is a motor conduction result, for the warning as
    for the explanation that words it (the auditor's record: age, sex and four findings in words)."""
    for vignette in _vignettes().values():
        assert "little_information" not in {w.code for w in predictor.predict(_worded(vignette)).warnings}
    auditor = {"age_at_onset_years": 45.0, "sex": "male", **WORDED_MOTOR_STUDY, "sensory_ncs": "normal",
               "anti_gm1_igm": "positive"}
    result = predictor.predict(auditor)
    (warning,) = [w for w in result.warnings if w.code == "little_information"]
    assert "only 4 of" in warning.message  # sparse it is
    assert "motor nerve conduction" not in warning.message
    assert "conduction block in several nerves (stated without counts)" in str(result.model_dump())


def test_0_motor_nerves_studied_is_no_motor_study(predictor: Predictor) -> None:
    """A record stating 0 motor nerves studied says the study was not done, as its explanation says ("motor nerve
    conduction not done") and the features read it: no motor conduction result, whatever else it records."""
    not_done = {**_vignettes()["MMN"], **dict.fromkeys(MOTOR_NCS_FIELDS), "motor_nerves_studied": 0}
    result = predictor.predict(not_done)
    (warning,) = [w for w in result.warnings if w.code == "little_information"]
    assert "no result of a motor nerve conduction study" in warning.message and "only" not in warning.message
    assert "motor nerve conduction not done" in str(result.model_dump())


def test_training_and_serving_put_worded_and_not_done_studies_in_the_same_information_group(
        quick_bundle_dir: Path) -> None:
    """The group decides the set's thresholds: the served result, the batch pyfunc and the training-side mask
    (:func:`little_information_mask`, which calibrated them) read a worded study and 0 nerves studied alike."""
    bundle = load_bundle(quick_bundle_dir)
    bundle.qhat = np.array([[0.0] * 4, [1.0] * 4])  # complete records: the argmax alone; flagged ones: all four
    vignettes = [{**v, "patient_id": None} for v in _vignettes().values()]  # each appears twice below
    worded = [_worded(v) for v in vignettes]
    not_done = [{**v, **dict.fromkeys(MOTOR_NCS_FIELDS), "motor_nerves_studied": 0} for v in vignettes]
    frame = validate_frame(pd.DataFrame(worded + not_done))
    expected = [1] * len(worded) + [4] * len(not_done)
    assert [len(r.prediction_set.diagnoses) for r in Predictor(bundle).predict_many(frame)] == expected
    assert [len(s) for s in BundlePyfunc(bundle).predict(frame)["prediction_set"]] == expected
    np.testing.assert_array_equal(little_information_mask(frame, optional_fields(bundle.mode)),
                                  np.array(expected) == 4)


def test_a_sparse_record_with_an_impossible_value_is_out_of_distribution(predictor: Predictor) -> None:
    plain, extreme = _codes(predictor, [HISTORY_ONLY, {**HISTORY_ONLY, "csf_protein_g_per_l": 18.0}])
    assert "out_of_distribution" not in plain  # sparse is what the model was trained on: not atypical in itself
    assert {"out_of_distribution", "little_information"} <= extreme


def test_the_pyfunc_applies_the_same_rule(quick_bundle_dir: Path, predictor: Predictor,
                                          documents: pd.DataFrame) -> None:
    frame = validate_frame(documents[[c for c in documents.columns if not c.startswith("latent_") and c != LABEL]])
    out = BundlePyfunc(load_bundle(quick_bundle_dir)).predict(frame)
    assert [("little_information" in w) for w in out["warnings"]] == \
        ["little_information" in c for c in _codes(predictor, frame)]


def test_sets_take_the_thresholds_of_the_records_information_group(quick_bundle_dir: Path,
                                                                   documents: pd.DataFrame) -> None:
    """The sets are calibrated per information group (conformal.group_class_thresholds): here the group of
    complete records gets the tightest thresholds (the argmax alone) and the sparse group the loosest (every
    diagnosis), so each record's set shows which row it used - in the result, the batch table and the pyfunc."""
    bundle = load_bundle(quick_bundle_dir)
    assert np.shape(bundle.qhat) == (2, 4)  # a bundle of this version is calibrated per group
    bundle.qhat = np.array([[0.0] * 4, [1.0] * 4])
    frame = validate_frame(documents[[c for c in documents.columns if not c.startswith("latent_") and c != LABEL]])
    predictor = Predictor(bundle)
    sparse = ~_complete(predictor, frame)
    assert 0 < sparse.sum() < len(frame)
    results = predictor.predict_many(frame)
    sizes = np.array([len(r.prediction_set.diagnoses) for r in results])
    # the argmax of the training population, plus the setting's own top diagnosis where that differs (65d45df)
    trained_top = bundle.predict_proba(frame).argmax(axis=1)
    served_top = np.array([DIAGNOSES.index(r.predicted_diagnosis) for r in results])
    np.testing.assert_array_equal(sizes, np.where(sparse, 4, 1 + (trained_top != served_top)))
    assert predictor.predict(HISTORY_ONLY).prediction_set.method.startswith("class- and information-conditional")
    out = BundlePyfunc(bundle).predict(frame)
    np.testing.assert_array_equal([len(s) for s in out["prediction_set"]], sizes)
