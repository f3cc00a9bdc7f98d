"""The shifted-world check (issue #13): the model against each world's own Bayes ceiling, in the model card."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data import DIAGNOSES, LABEL, draw_worlds, generate_cohort, load_world, posterior
from mmn_ddx.features import MODES, TREATMENT_FIELDS
from mmn_ddx.training.artifact.calibration import log_loss
from mmn_ddx.training.artifact.information import little_information_mask, optional_fields
from mmn_ddx.training.evaluation.shifted_worlds import (
    MIN_COVERAGE,
    SHIFT_SEED,
    card_lines,
    shift_check,
    shift_seed,
    world_cohort,
    world_figures,
)
from mmn_ddx.training.fitting.trainer import TrainSettings, build_bundle, fit_candidates

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


def _uniform(frame: pd.DataFrame) -> np.ndarray:
    return np.full((len(frame), len(DIAGNOSES)), 1 / len(DIAGNOSES))


def test_a_world_cohort_carries_its_own_posterior_and_the_base_worlds() -> None:
    world = draw_worlds(1, seed=11).worlds[0]
    data = world_cohort(world, 60, seed=4, mode=MODES[0])
    pd.testing.assert_frame_equal(data.cohort, generate_cohort(60, seed=4, world=world))
    np.testing.assert_allclose(data.exact, posterior(data.cohort, exclude=tuple(TREATMENT_FIELDS), world=world))
    np.testing.assert_allclose(data.base, posterior(data.cohort, exclude=tuple(TREATMENT_FIELDS)))
    assert not np.allclose(data.exact, data.base)
    assert data.document_weights == pytest.approx(world.parameters["reporting"]["weights"], abs=5e-4)


def test_the_figures_compare_the_model_with_the_worlds_ceiling() -> None:
    data = world_cohort(load_world(), 80, seed=5, mode=MODES[1])
    y = data.cohort[LABEL].cat.codes.to_numpy()
    uniform = world_figures(_uniform, np.ones(4), data)  # every set holds all four diagnoses
    assert uniform["log_loss"] == pytest.approx(np.log(4), abs=1e-4)
    assert uniform["log_loss_ratio"] == pytest.approx(np.log(4) / log_loss(data.exact, y), abs=1e-3)
    assert uniform["set_coverage"] == 1.0 and uniform["mean_set_size"] == 4.0
    assert uniform["literature_posterior_log_loss_ratio"] == 1.0  # the base world is the world itself
    exact = world_figures(lambda frame: data.exact, -np.ones(4), data)  # sets of the top diagnosis only
    assert exact["log_loss_ratio"] == 1.0 and exact["mean_set_size"] == 1.0
    assert exact["set_coverage"] == exact["ceiling_accuracy"] == pytest.approx((data.exact.argmax(1) == y).mean())


def test_sets_on_sparse_records_use_their_own_thresholds_and_are_reported_apart() -> None:
    data = world_cohort(load_world(), 200, seed=6, mode=MODES[0])
    little = data.little_information
    assert 0 < little.sum() < len(little)
    np.testing.assert_array_equal(little, little_information_mask(data.cohort, optional_fields(MODES[0])))
    y = data.cohort[LABEL].cat.codes.to_numpy()
    figures = world_figures(_uniform, np.array([[-1.0] * 4, [1.0] * 4]), data)  # complete: top only; sparse: all
    assert figures["little_information_share"] == pytest.approx(little.mean(), abs=1e-4)
    assert figures["set_coverage_little_information"] == 1.0 and figures["mean_set_size_little_information"] == 4.0
    assert figures["set_coverage_lowest_diagnosis_little_information"] == 1.0
    assert figures["mean_set_size"] == pytest.approx(1 + 3 * little.mean(), abs=1e-3)
    top_only = (_uniform(data.cohort).argmax(1) == y)[~little].mean()
    assert figures["set_coverage"] == pytest.approx(little.mean() + (1 - little.mean()) * top_only, abs=1e-4)


def _always_mmn(frame: pd.DataFrame) -> np.ndarray:
    return np.tile([0.97, 0.01, 0.01, 0.01], (len(frame), 1))


def test_the_check_flags_sets_that_do_not_keep_their_promise() -> None:
    check = shift_check(_always_mmn, -np.ones(4), MODES[0], base=load_world(), n_worlds=2, n_patients=40)
    assert check.summary["lowest_set_coverage"] < 0.5  # {MMN} for everyone covers the MMN patients only
    assert check.summary["targets"][f"set coverage >= {MIN_COVERAGE} in every world"] is False
    assert check.summary["nominal_log_loss_ratio"] > 1.0
    text = "\n".join(card_lines(check, 0.9))
    assert "2 worlds" in text and "40 synthetic patients each" in text
    assert f"lowest {check.summary['lowest_set_coverage']:.3f}" in text


def test_a_synthetic_training_states_the_check_in_its_card_and_metrics() -> None:
    settings = TrainSettings(families=("logistic",), quick=True, outer_k=2, inner_k=2, n_boot=20, n_jobs=1,
                             shift_worlds=2, shift_patients=100)
    bundle = build_bundle(fit_candidates(generate_cohort(500, seed=3), settings), source="synthetic",
                          generator_version="test")
    again = shift_check(bundle.predict_proba, bundle.qhat, settings.mode, base=load_world(), n_worlds=2,
                        n_patients=100)
    assert bundle.metadata.metrics["shift_median_log_loss_ratio"] == again.summary["median_log_loss_ratio"]
    assert "## Shifted worlds" in bundle.model_card
    assert f"median {again.summary['median_log_loss_ratio']:.2f}" in bundle.model_card
    user = build_bundle(fit_candidates(generate_cohort(500, seed=3), settings), source="cohort.csv",
                        generator_version=None)
    assert "shift_median_log_loss_ratio" not in user.metadata.metrics
    assert "Not measured for this model" in user.model_card


def test_the_shifted_worlds_are_never_the_training_worlds() -> None:
    """A training drawn from the shifted worlds' own seed would be checked on its own worlds, while the card says
    "none of the training worlds": such a training gets another seed."""
    for training_seed in (0, 7, SHIFT_SEED):
        seed = shift_seed(training_seed)
        assert seed != training_seed
        shifted = {w.digest for w in draw_worlds(2, seed=seed).worlds}
        assert not shifted & {w.digest for w in draw_worlds(2, seed=training_seed).worlds}
