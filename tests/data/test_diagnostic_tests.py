"""Which tests a record holds a result of (``data.recorded_tests``): the one rule of the little-information warning,
the prediction sets' information groups and the next-test search. A result stated in words is a result; a
number of nerves studied of 0 says the study was not done, as the features and the explanation say."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data import TESTS, fields, find_test, read_frame, read_records, recorded_tests, result_recorded
from mmn_ddx.data.qualitative import TREE_WORDS, VALUE_WORDS, spec
from mmn_ddx.features import ConductionFeatures, SensoryFeatures
from mmn_ddx.features._random_frame import random_frame

PATIENT = {"age_at_onset_years": 45.0, "sex": "male"}
KEYS = [test.key for test in TESTS]


def _recorded(record: dict[str, Any]) -> set[str]:
    done = recorded_tests(read_records([{**PATIENT, **record}]))
    assert done.shape == (1, len(TESTS))
    return {key for key, yes in zip(KEYS, done[0], strict=True) if yes}


@pytest.mark.parametrize(("record", "recorded"), [
    pytest.param({"motor_conduction_block": "multiple", "motor_ncs_pattern": "demyelinating", "sensory_ncs": "normal",
                  "anti_gm1_igm": "positive"}, {"motor_ncs", "sensory_ncs", "anti_gm1"}, id="the auditor's record"),
    pytest.param({"sensory_ncs": "abnormal"}, {"sensory_ncs"}, id="sensory in words"),
    pytest.param({"motor_conduction_block": "none"}, {"motor_ncs"}, id="no block, in words"),
    pytest.param({"motor_ncs_pattern": "axonal"}, {"motor_ncs"}, id="motor pattern in words"),
    pytest.param({"anti_gm1_igm": "negative"}, {"anti_gm1"}, id="anti-GM1 negative, in words"),
    pytest.param({"csf_protein_raised": False}, {"csf"}, id="CSF protein not raised, in words"),
    pytest.param({"nerves_definite_cb": 2}, {"motor_ncs"}, id="a count without the nerves studied"),
    pytest.param({"nerves_definite_cb": 0}, {"motor_ncs"}, id="none found without the nerves studied"),
    pytest.param({"sensory_nerves_abnormal": 0}, {"sensory_ncs"}, id="no abnormal sensory nerve, none studied given"),
    pytest.param({"sensory_normal_across_cb": True}, {"sensory_ncs"}, id="sensory normal across the blocks"),
    pytest.param({"motor_nerves_studied": 0}, set(), id="0 motor nerves studied: not done"),
    pytest.param({"motor_nerves_studied": 0, "nerves_definite_cb": 0, "nerves_any_demyelinating": 0}, set(),
                 id="0 studied with its zero counts: not done"),
    pytest.param({"sensory_nerves_studied": 0, "sensory_nerves_abnormal": 0}, set(), id="0 sensory nerves studied"),
    pytest.param({"motor_nerves_studied": 0, "motor_ncs_pattern": "normal"}, {"motor_ncs"},
                 id="0 studied beside a result in words: the words are a result"),
    pytest.param({"motor_nerves_studied": 6}, {"motor_ncs"}, id="nerves studied, results not given"),
    pytest.param({}, set(), id="nothing"),
])
def test_a_test_is_recorded_when_any_field_of_its_report_is_in_numbers_or_words(
        record: dict[str, Any], recorded: set[str]) -> None:
    assert _recorded(record) == recorded


def test_every_word_belongs_to_the_test_of_the_number_it_restates() -> None:
    """The words the generator derives from a test's numbers (``data.qualitative``) are that test's words, and
    no section the generator writes in words about the examination (strength, reflexes) is a test."""
    owner = {name: test.key for test in TESTS for name in test.fields}
    restated = {**TREE_WORDS, **VALUE_WORDS}
    assert {word: owner[number] for word, number in restated.items()} == {
        word: test.key for test in TESTS for word in test.words}
    tested = {name for test in TESTS for name in test.report}
    for section, written in spec()["sections"].items():
        assert bool(set(written["words"]) & tested) == bool(set(written["numbers"]) & tested), section


def test_columns_need_only_the_fields_of_the_report() -> None:
    motor = find_test("motor_ncs")
    frame = pd.DataFrame({"motor_conduction_block": pd.Categorical(["multiple", None]),
                          "motor_nerves_studied": pd.array([None, 0], dtype="Int64")})
    read = read_frame(frame, motor.report)
    np.testing.assert_array_equal(result_recorded(motor, read), [True, False])


@pytest.mark.parametrize("seed", [0, 1])
def test_the_rule_is_the_features_not_done_rule(seed: int) -> None:
    """Random records, half their fields null and many nerves-studied counts 0: a conduction study is recorded
    exactly where the features do not call it "not done" (the one exception, documented: sensory conduction
    normal across the blocks with nothing else of the sensory study)."""
    frame = random_frame(3000, seed=seed, null_rate=0.5)
    rng = np.random.default_rng(seed)
    for test in (find_test("motor_ncs"), find_test("sensory_ncs")):
        zero = rng.random(len(frame)) < 0.3
        frame.loc[zero, test.studied] = 0
        for name in test.fields:
            if fields()[name].type == "int":
                frame.loc[zero & frame[name].notna(), name] = 0  # a count is at most its nerves studied
    frame.loc[frame["motor_nerves_studied"] == 0, ["motor_conduction_block"]] = None  # the contract refuses
    frame.loc[(frame["motor_nerves_studied"] == 0) & frame["motor_ncs_pattern"].isin(["demyelinating", "mixed"]),
              "motor_ncs_pattern"] = None                                              # these beside 0 studied
    frame.loc[(frame["sensory_nerves_studied"] == 0) & (frame["sensory_ncs"] == "abnormal"), "sensory_ncs"] = None
    done = recorded_tests(read_frame(frame))
    for transformer, key, flag in ((ConductionFeatures(), "motor_ncs", "motor_ncs_not_done"),
                                   (SensoryFeatures(), "sensory_ncs", "sensory_ncs_not_done")):
        features = transformer.fit(frame)
        not_done = features.transform(frame)[:, list(features.get_feature_names_out()).index(flag)]
        recorded = done[:, KEYS.index(key)]
        assert (not_done == 1).any() and (not_done == 0).any()
        differs = recorded != (not_done == 0)
        if key == "motor_ncs":
            assert not differs.any()
        else:
            only_across = frame[["sensory_nerves_studied", "sensory_nerves_abnormal", "sensory_ncs"]].isna().all(
                axis=1) & frame["sensory_normal_across_cb"].notna()
            assert only_across.any()
            np.testing.assert_array_equal(differs, only_across.to_numpy())
