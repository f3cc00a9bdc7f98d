"""The next most informative test: a test not yet done, the one with the largest expected information gain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmn_ddx.data import read_records
from mmn_ddx.data.contract import DIAGNOSES, LABEL
from mmn_ddx.data.diagnostic_tests import TESTS, find_test
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.features.modes import TREATMENT_FIELDS
from mmn_ddx.serving.next_test import after_results, candidate_tests, describe_outcomes, entropy_bits, next_tests
from mmn_ddx.serving.predictor import Predictor
from mmn_ddx.serving.records import frame_records, validate_one
from mmn_ddx.training.artifact.bundle import load_bundle
from mmn_ddx.training.artifact.clinical_setting import adjust
from mmn_ddx.training.artifact.outcomes import Outcomes, OutcomeTables

BASE = {  # asymmetric arm weakness, nothing else done: every test is a candidate
    "age_at_onset_years": 45.0, "sex": "male", "course": "progressive", "onset_region": "upper_limb",
    "mrc_arm_distal_left": 3.0, "mrc_arm_distal_right": 5.0, "fasciculations": True,
}


@pytest.fixture(scope="module")
def predictor(quick_bundle_dir: Path) -> Predictor:
    return Predictor.load(str(quick_bundle_dir))


@pytest.fixture(scope="module")
def tables(predictor: Predictor) -> OutcomeTables:
    """The outcome tables shipped in the model's bundle (fitted in training)."""
    return predictor.bundle.outcomes


def _expected_gain(predictor: Predictor, record: dict[str, Any], key: str, setting: str) -> tuple[float, float]:
    """EIG and expected top-class change of one test, recomputed result by result with Bayes' rule in the
    clinical setting, from the served probabilities and the shipped P(result | diagnosis)."""
    shift = predictor.bundle.setting_shift(setting)
    probs = adjust(predictor.bundle.predict_explain([record])[0], shift)[0]  # the served probabilities
    top = int(np.argmax(probs))
    gain = change = 0.0
    for _, likelihood in describe_outcomes(predictor.bundle.outcomes, key):
        joint = probs * np.array([likelihood[d] for d in DIAGNOSES])
        weight = joint.sum()  # q(result) = sum_c p(c) P(result | c)
        after = joint / weight
        gain += weight * float(entropy_bits(after))
        change += weight * abs(after[top] - probs[top])
    return float(entropy_bits(probs)) - gain, change


def test_outcome_tables_are_valid_results_with_class_conditional_probabilities(tables: OutcomeTables) -> None:
    assert set(tables.tables) == {t.key for t in TESTS}
    assert tables.provenance["source"] == "synthetic generator" and tables.provenance["n_generated"] > 0
    for key, outcomes in tables.tables.items():
        assert outcomes.likelihood.shape == (len(outcomes.records), len(DIAGNOSES))
        np.testing.assert_allclose(outcomes.likelihood.sum(axis=0), 1.0)
        assert len(outcomes.records) >= 2, key
        for result in outcomes.records:
            assert set(result) == set(find_test(key).fields)
            validate_one({**BASE, **result})  # whole counts, within range, abnormal <= studied


def test_tests_never_include_treatment_responses() -> None:
    assert not {f for t in TESTS for f in t.report} & set(TREATMENT_FIELDS)


def test_likelihoods_separate_the_diagnoses_where_expected(tables: OutcomeTables) -> None:
    gm1 = describe_outcomes(tables, "anti_gm1")
    high = {d: sum(lik[d] for result, lik in gm1 if result["anti_gm1_igm_ratio"] >= 4) for d in DIAGNOSES}
    assert high["MMN"] > 5 * max(high["CIDP"], high["MND"])  # high-titre anti-GM1 is an MMN finding
    emg = describe_outcomes(tables, "emg")
    widespread = {d: sum(lik[d] for result, lik in emg if result["emg_regions_denervated"] >= 3) for d in DIAGNOSES}
    assert widespread["MND"] > 5 * max(widespread["MMN"], widespread["CIDP"])


@pytest.mark.parametrize("setting", ["balanced", "new-patients"])
def test_next_test_is_a_null_test_field_with_the_largest_expected_gain(predictor: Predictor, setting: str) -> None:
    result = predictor.predict(BASE, setting=setting)
    chosen = result.next_test
    assert chosen is not None and chosen.test is not None
    test = find_test(chosen.test)
    assert chosen.field == test.fields[0] and chosen.fields == list(test.fields)
    assert all(BASE.get(name) is None for name in test.fields)
    gains = {t.key: _expected_gain(predictor, BASE, t.key, setting) for t in TESTS}
    assert chosen.test == max(gains, key=lambda key: gains[key][0])
    assert chosen.expected_entropy_reduction == pytest.approx(gains[chosen.test][0], abs=1e-9)
    assert chosen.expected_change == pytest.approx(gains[chosen.test][1], abs=1e-9)
    assert 0 < chosen.expected_entropy_reduction <= 2.0  # at most log2(4) bits


def test_next_test_changes_when_that_test_is_filled(predictor: Predictor) -> None:
    record = dict(BASE)
    seen = []
    for _ in range(3):
        chosen = predictor.predict(record).next_test
        if chosen is None:
            break
        assert chosen.test not in seen
        seen.append(chosen.test)
        first_representative_result = describe_outcomes(predictor.bundle.outcomes, chosen.test)[0][0]
        record.update(first_representative_result)
    assert len(seen) >= 2


def test_no_next_test_when_every_test_is_done(predictor: Predictor) -> None:
    record = dict(BASE)
    for test in TESTS:
        record.update(describe_outcomes(predictor.bundle.outcomes, test.key)[0][0])
    assert predictor.predict(record).next_test is None


def test_next_tests_of_a_batch_equal_one_by_one(predictor: Predictor) -> None:
    records = frame_records(generate_cohort(12, seed=31).drop(columns=[LABEL]))
    batch = [r.next_test for r in predictor.predict_many(records)]
    assert batch == [predictor.predict(record).next_test for record in records]
    assert any(t is not None for t in batch)


def test_the_probabilities_expected_after_a_test_are_the_current_ones(predictor: Predictor) -> None:
    """Ordering a test cannot be expected to move the prediction one way: averaged over the test's results
    (weighted by how likely each is now), the probabilities after it are the probabilities before it."""
    probs = predictor.score(frame_records(generate_cohort(30, seed=32).drop(columns=[LABEL]))).probs
    for test in TESTS:
        q, after = after_results(probs, predictor.bundle.outcomes[test.key].likelihood)
        np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)
        np.testing.assert_allclose((q[:, :, None] * after).sum(axis=1), probs, atol=1e-12)


def test_a_result_equally_likely_under_every_diagnosis_is_not_worth_ordering(predictor: Predictor,
                                                                              tables: OutcomeTables) -> None:
    """What a result says, not that it is written down, is what a test is worth: with every test's results
    equally likely under every diagnosis no test is proposed, whatever the record leaves unrecorded."""
    def flat(o: Outcomes) -> Outcomes:  # each result keeps its overall frequency, the same in every diagnosis
        return Outcomes(o.test, o.records, np.repeat(o.likelihood.mean(axis=1, keepdims=True), len(DIAGNOSES), axis=1))

    uninformative = OutcomeTables({key: flat(o) for key, o in tables.tables.items()}, tables.provenance)
    records = [BASE, *frame_records(generate_cohort(10, seed=33).drop(columns=[LABEL]))]
    read = read_records(records, validated=True)
    probs = predictor.score(records).probs
    assert any(predictor.predict(r).next_test is not None for r in records)
    assert next_tests(read, probs, uninformative) == [None] * len(records)


PATIENT = {"age_at_onset_years": 45.0, "sex": "male"}
STATED = [  # (record, tests it holds a result of): findings stated in words, and a study stated as not done
    pytest.param({**PATIENT, "motor_conduction_block": "multiple", "motor_ncs_pattern": "demyelinating",
                  "sensory_ncs": "normal", "anti_gm1_igm": "positive"}, {"motor_ncs", "sensory_ncs", "anti_gm1"},
                 id="the auditor's record in words"),
    pytest.param({**PATIENT, "sensory_ncs": "abnormal"}, {"sensory_ncs"}, id="abnormal sensory conduction"),
    pytest.param({**PATIENT, "csf_protein_raised": True}, {"csf"}, id="CSF protein raised"),
    pytest.param({**PATIENT, "motor_nerves_studied": 0}, set(), id="0 motor nerves studied"),
    pytest.param({**PATIENT, "motor_nerves_studied": 0, "sensory_nerves_studied": 0, "sensory_nerves_abnormal": 0},
                 set(), id="0 motor and 0 sensory nerves studied"),
]


@pytest.mark.parametrize(("record", "done"), STATED)
def test_the_candidates_are_the_tests_without_a_result_in_numbers_or_words(record: dict[str, Any],
                                                                           done: set[str]) -> None:
    read = read_records([validate_one(record)], validated=True)
    pending = {key for key, who in candidate_tests(read).items() if len(who)}
    assert pending == {t.key for t in TESTS} - done


def _only(tables: OutcomeTables, informative: set[str]) -> OutcomeTables:
    """The tables with every test but ``informative`` made worthless (each result equally likely everywhere)."""
    def flat(o: Outcomes) -> Outcomes:
        return Outcomes(o.test, o.records, np.repeat(o.likelihood.mean(axis=1, keepdims=True), len(DIAGNOSES), axis=1))
    return OutcomeTables({key: o if key in informative else flat(o) for key, o in tables.tables.items()},
                         tables.provenance)


@pytest.mark.parametrize(("record", "done"), STATED)
def test_a_test_with_a_result_in_words_is_never_proposed_and_one_stated_not_done_is(
        quick_bundle_dir: Path, record: dict[str, Any], done: set[str]) -> None:
    """Through the served result: with only one test worth ordering, it is proposed exactly when the record
    holds no result of it (the auditor's record was offered sensory conduction studies it states as normal)."""
    bundle = load_bundle(quick_bundle_dir)
    tables = bundle.outcomes
    for key in ("motor_ncs", "sensory_ncs", "anti_gm1", "csf"):
        bundle.outcomes = _only(tables, {key})
        chosen = Predictor(bundle).predict(record, setting="balanced").next_test
        assert (chosen.test if chosen else None) == (None if key in done else key), key


def test_outcome_tables_survive_the_bundle_round_trip(tables: OutcomeTables, tmp_path: Path) -> None:
    tables.save(tmp_path)
    loaded = OutcomeTables.load(tmp_path)
    assert loaded.provenance == tables.provenance
    for key, outcomes in tables.tables.items():
        assert loaded[key].records == outcomes.records
        np.testing.assert_array_equal(loaded[key].likelihood, outcomes.likelihood)


def test_a_test_is_never_proposed_for_a_gain_its_rationale_would_print_as_zero() -> None:
    from mmn_ddx.serving import next_test

    probs = np.array([0.97, 0.01, 0.01, 0.01])
    gains = np.zeros(len(next_test.TESTS))
    gains[0] = 0.004  # "0.00 bits"
    assert next_test._pick(gains, np.zeros_like(gains), probs) is None
    gains[0] = 0.006
    chosen = next_test._pick(gains, np.zeros_like(gains), probs)
    assert chosen is not None and "by 0.01 bits" in chosen.rationale
