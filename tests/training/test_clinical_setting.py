"""The clinical setting in the artifact: Bayes' rule from the recorded training prior, the pyfunc's parameter.

Served probabilities for a setting must equal the training-population probabilities re-weighted by
pre-test / training prior (Saerens et al. 2002); the presets are the generator's (one source); a bundle
that does not record its training prior refuses a setting rather than assume one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data import CLASS_PRIOR_PRESETS
from mmn_ddx.data.contract import DIAGNOSES, LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.training.artifact.bundle import BundleError, load_bundle
from mmn_ddx.training.artifact.clinical_setting import (
    DEFAULT_SETTING,
    SETTINGS,
    SettingError,
    adjust,
    check_setting,
    log_shift,
    pre_test_probabilities,
)
from mmn_ddx.training.artifact.pyfunc import PROBABILITY_COLUMNS, BundlePyfunc
from mmn_ddx.training.fitting import tracking
from mmn_ddx.training.fitting.models import Family

UNIFORM = dict.fromkeys(DIAGNOSES, 0.25)


def test_settings_are_the_generators_presets_and_the_default_is_one_of_them() -> None:
    assert tuple(CLASS_PRIOR_PRESETS) == SETTINGS
    assert DEFAULT_SETTING in SETTINGS
    for name in SETTINGS:
        pre_test = pre_test_probabilities(name)
        assert list(pre_test) == list(DIAGNOSES) and sum(pre_test.values()) == pytest.approx(1.0, abs=1e-12)
        weights = CLASS_PRIOR_PRESETS[name]
        assert pre_test == pytest.approx({d: weights[d] / sum(weights.values()) for d in DIAGNOSES}, abs=1e-12)


@pytest.mark.parametrize("name", ["ICU", "Referral", "", "balanced "])
def test_an_unknown_setting_is_refused_listing_the_allowed_ones(name: str) -> None:
    with pytest.raises(SettingError, match="allowed: balanced, new-patients, follow-up, referral") as caught:
        check_setting(name)
    assert repr(name) in str(caught.value)


def test_adjust_is_bayes_rule_and_the_identity_for_the_training_prior() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(len(DIAGNOSES)), size=50)
    assert adjust(probs, log_shift("balanced", UNIFORM)) is probs
    referral = np.array([pre_test_probabilities("referral")[d] for d in DIAGNOSES])
    moved = adjust(probs, log_shift("referral", UNIFORM))
    by_hand = probs * referral / 0.25
    np.testing.assert_allclose(moved, by_hand / by_hand.sum(axis=1, keepdims=True), rtol=0, atol=1e-12)
    # a skewed training prior is divided out: training on 'referral' and serving 'referral' changes nothing
    trained_on_referral = pre_test_probabilities("referral")
    np.testing.assert_allclose(adjust(probs, log_shift("referral", trained_on_referral)), probs, atol=1e-12)


def test_the_training_prior_of_balanced_sample_weights_is_uniform_whatever_the_cohort_mix() -> None:
    y = np.repeat(np.arange(len(DIAGNOSES)), [700, 150, 50, 100])  # a referral-like cohort
    np.testing.assert_array_equal(Family.class_prior(y, len(DIAGNOSES)), np.full(len(DIAGNOSES), 0.25))


def test_the_bundle_records_its_training_prior(quick_bundle_dir: Path) -> None:
    bundle = load_bundle(quick_bundle_dir)
    assert bundle.metadata.training_prior == UNIFORM  # exactly: the balanced setting is then bit for bit
    assert not bundle.setting_shift("balanced").any()


def test_a_bundle_without_a_training_prior_refuses_a_setting(quick_bundle_dir: Path) -> None:
    bundle = load_bundle(quick_bundle_dir)
    bundle.metadata = bundle.metadata.model_copy(update={"training_prior": None})
    with pytest.raises(BundleError, match="does not record the class mix"):
        bundle.setting_shift("balanced")


@pytest.fixture(scope="module")
def raw_input() -> pd.DataFrame:
    cohort = generate_cohort(40, seed=11)
    return tracking.input_example(cohort.drop(columns=[LABEL]), "at-presentation", n=len(cohort))


def test_pyfunc_takes_the_setting_as_a_parameter(quick_bundle_dir: Path, raw_input: pd.DataFrame) -> None:
    model = BundlePyfunc(load_bundle(quick_bundle_dir))
    balanced = model.predict(raw_input, params={"setting": "balanced"})
    default, follow_up = model.predict(raw_input), model.predict(raw_input, params={"setting": "follow-up"})
    assert (default["setting"] == DEFAULT_SETTING).all() and (follow_up["setting"] == "follow-up").all()
    p = balanced[list(PROBABILITY_COLUMNS)].to_numpy()
    for out, name in ((default, DEFAULT_SETTING), (follow_up, "follow-up")):
        prior = np.array([pre_test_probabilities(name)[d] for d in DIAGNOSES])
        expected = p * prior / (p * prior).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(out[list(PROBABILITY_COLUMNS)].to_numpy(), expected, rtol=0, atol=1e-9)
        assert (out["predicted_diagnosis"] == [DIAGNOSES[k] for k in expected.argmax(axis=1)]).all()
        # set membership stays on the training population's scale, plus each setting's top diagnosis, listed in
        # the setting's order: set = M | {top}, so the two settings' sets differ only by their top diagnoses
        for row, base in zip(out.itertuples(), balanced.itertuples(), strict=True):
            assert set(row.prediction_set) | {base.predicted_diagnosis} == \
                set(base.prediction_set) | {row.predicted_diagnosis}
            assert row.prediction_set[0] == row.predicted_diagnosis
    with pytest.raises(SettingError, match="allowed: balanced, new-patients, follow-up, referral"):
        model.predict(raw_input, params={"setting": "icu"})


def test_the_mlflow_signature_declares_the_setting_parameter() -> None:
    params = tracking.model_signature().params
    assert params is not None
    (spec,) = params.params
    assert (spec.name, spec.default) == ("setting", DEFAULT_SETTING)
