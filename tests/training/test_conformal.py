"""Split-conformal prediction sets: the finite-sample threshold, and ~90 % coverage on new patients."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import softmax

from mmn_ddx.data.contract import DIAGNOSES
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.training.artifact import conformal
from mmn_ddx.training.artifact.bundle import BundleError, load_bundle
from mmn_ddx.training.artifact.information import little_information_mask, optional_fields


def test_threshold_is_the_finite_sample_quantile() -> None:
    probs = np.tile([0.7, 0.1, 0.1, 0.1], (9, 1))
    y = np.arange(9) % 4
    # scores: 0.3 where y == 0, else 0.9; rank ceil(10 * 0.8) = 8 of 9 sorted scores
    assert conformal.threshold(probs, y, coverage=0.8) == pytest.approx(0.9)
    assert conformal.threshold(probs[:3], y[:3], coverage=0.9) == 1.0  # too few patients: every class


def test_sets_always_hold_the_most_probable_class_and_are_ordered() -> None:
    probs = np.array([[0.1, 0.6, 0.2, 0.1], [0.4, 0.3, 0.2, 0.1]])
    assert conformal.prediction_sets(probs, qhat=0.0, classes=DIAGNOSES) == [["MND"], ["MMN"]]
    # qhat 0.85: every class with p >= 0.15
    assert conformal.prediction_sets(probs, qhat=0.85, classes=DIAGNOSES) == [["MND", "CIDP"], ["MMN", "MND", "CIDP"]]


def test_coverage_holds_on_exchangeable_synthetic_scores() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, size=(40000, 4))
    p = softmax(z, axis=1)
    y = (p.cumsum(axis=1) > rng.random((len(p), 1))).argmax(axis=1)
    qhat = conformal.threshold(p[:2000], y[:2000], 0.9)
    assert conformal.empirical_coverage(p[2000:], y[2000:], qhat) == pytest.approx(0.90, abs=0.02)


def test_bundle_sets_cover_about_90_percent_of_new_synthetic_patients(quick_bundle_dir: Path) -> None:
    bundle = load_bundle(quick_bundle_dir)
    cohort = generate_cohort(3000, seed=2024)
    y = cohort["diagnosis"].cat.codes.to_numpy()
    probs = bundle.predict_proba(cohort)
    little = little_information_mask(cohort, optional_fields(bundle.mode))
    covered = np.mean([DIAGNOSES[t] in s for t, s in zip(y, bundle.prediction_set(probs, little), strict=True)])
    # qhat comes from 400 held-out patients: coverage is >= 0.90 in expectation, within a few points here
    assert 0.87 <= covered <= 0.96
    sizes = np.array([len(s) for s in bundle.prediction_set(probs, little)])
    assert sizes.mean() < 2.0  # informative: most patients get one or two diagnoses


def _skewed(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Exchangeable scores whose classes differ in difficulty (class 3 hardest)."""
    y = rng.integers(0, 4, size=n)
    z = rng.normal(0, 1.5, size=(n, 4))
    z[np.arange(n), y] += np.array([3.0, 2.0, 1.0, 0.3])[y]
    return softmax(z, axis=1), y


def test_mondrian_sets_cover_every_class_whatever_its_prevalence() -> None:
    rng = np.random.default_rng(1)
    p_cal, y_cal = _skewed(rng, 8000)
    qhat = conformal.class_thresholds(p_cal, y_cal, 0.9)
    assert qhat.shape == (4,) and qhat[3] > qhat[0]  # the hard class needs a looser threshold
    p, y = _skewed(rng, 40000)
    marginal = conformal.threshold(p_cal, y_cal, 0.9)
    for c in range(4):
        own = y == c
        assert conformal.empirical_coverage(p[own], y[own], qhat) == pytest.approx(0.90, abs=0.02)
    # a population made of the hard class: the marginal threshold breaks its promise, Mondrian keeps it
    hard = y == 3
    assert conformal.empirical_coverage(p[hard], y[hard], marginal) < 0.85
    assert conformal.empirical_coverage(p[hard], y[hard], qhat) >= 0.88


def test_a_class_with_too_few_calibration_patients_gets_every_set() -> None:
    probs = np.tile([0.7, 0.1, 0.1, 0.1], (20, 1))
    y = np.r_[np.zeros(17, dtype=int), [1, 2, 3]]
    qhat = conformal.class_thresholds(probs, y, 0.9)
    assert qhat[0] == pytest.approx(0.3) and list(qhat[1:]) == [1.0, 1.0, 1.0]


def _sparse_and_complete(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exchangeable scores of two kinds of record: sparse ones (flagged) are much harder to classify."""
    y = rng.integers(0, 4, size=n)
    little = rng.random(n) < 0.6
    z = rng.normal(0, 1.5, size=(n, 4))
    z[np.arange(n), y] += np.where(little, 0.8, 3.0)
    return softmax(z, axis=1), y, little


def test_sets_per_information_group_keep_their_promise_in_each_group() -> None:
    rng = np.random.default_rng(3)
    p_cal, y_cal, little_cal = _sparse_and_complete(rng, 12000)
    qhat = conformal.group_class_thresholds(p_cal, y_cal, little_cal, 0.9)
    assert qhat.shape == (2, 4) and np.all(qhat[1] > qhat[0])  # sparse records need looser thresholds
    p, y, little = _sparse_and_complete(rng, 40000)
    pooled = conformal.class_thresholds(p_cal, y_cal, 0.9)
    for group in (little, ~little):
        assert conformal.empirical_coverage(p[group], y[group], qhat, little[group]) == pytest.approx(0.90, abs=0.02)
    # pooled thresholds spend the complete records' easy coverage on the sparse ones, which they under-cover
    assert conformal.empirical_coverage(p[little], y[little], pooled) < 0.86
    assert conformal.set_mask(p[~little], qhat, little[~little]).sum(axis=1).mean() < \
        conformal.set_mask(p[~little], pooled).sum(axis=1).mean()  # and complete records get tighter sets


def test_sets_are_split_by_information_only_when_every_cell_has_enough_patients() -> None:
    assert conformal.min_patients(0.9) == 9 and conformal.min_patients(0.8) == 4
    rng = np.random.default_rng(4)
    p, y, little = _sparse_and_complete(rng, 400)  # ~60 per diagnosis and group
    assert conformal.sets_thresholds(p, y, little, 0.9).shape == (2, 4)
    few = little.copy()
    few[(y == 2) & ~little] = True  # no complete record of one diagnosis left
    few[np.flatnonzero((y == 2) & little)[:8]] = False  # eight: one short of the minimum
    np.testing.assert_array_equal(conformal.sets_thresholds(p, y, few, 0.9), conformal.class_thresholds(p, y, 0.9))


def test_thresholds_per_information_group_need_each_records_flag() -> None:
    probs = np.tile([0.7, 0.1, 0.1, 0.1], (3, 1))
    qhat = np.array([[0.0] * 4, [1.0] * 4])
    with pytest.raises(ValueError, match="little_information flag"):
        conformal.set_mask(probs, qhat)
    with pytest.raises(ValueError, match=r"one flag per patient \(3\)"):
        conformal.set_mask(probs, qhat, np.array([True, False]))
    assert conformal.set_mask(probs, qhat, np.array([True, False, True])).sum(axis=1).tolist() == [4, 1, 4]
    with pytest.raises(ValueError, match=r"one flag per calibration patient \(3\)"):
        conformal.group_class_thresholds(probs, np.zeros(3, dtype=int), np.array([True]))


def test_a_bundle_with_thresholds_for_unknown_groups_is_refused(quick_bundle_dir: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from mmn_ddx.training.artifact.manifest import write_manifest

    copy = tmp_path / "bundle"
    shutil.copytree(quick_bundle_dir / "data" / "bundle", copy)
    document = json.loads((copy / "bundle.json").read_text())
    document["conformal"]["qhat"] = [[0.5] * 4] * 3
    (copy / "bundle.json").write_text(json.dumps(document))
    write_manifest(copy)
    with pytest.raises(BundleError, match="3 rows, expected one per information group"):
        load_bundle(copy)


@pytest.fixture(scope="module")
def worlds_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A quick bundle trained (and its sets calibrated) on patients of 20 randomised worlds."""
    from mmn_ddx.data.world import draw_worlds
    from mmn_ddx.training.fitting.trainer import train_bundle

    cohort = generate_cohort(4000, seed=5, world=draw_worlds(20, seed=5))
    return train_bundle(cohort, mode="at-presentation", seed=5, export_dir=tmp_path_factory.mktemp("worlds-bundle"))


def test_sets_keep_their_promise_in_a_held_out_shifted_world(worlds_bundle_dir: Path) -> None:
    """A world none of the training worlds is (another seed): coverage within sampling error of 90 %."""
    from mmn_ddx.data.world import draw_world

    bundle = load_bundle(worlds_bundle_dir)
    shifted = draw_world(np.random.default_rng(987))
    cohort = generate_cohort(4000, seed=77, world=shifted)
    y = cohort["diagnosis"].cat.codes.to_numpy()
    little = little_information_mask(cohort, optional_fields(bundle.mode))
    covered = conformal.set_mask(bundle.predict_proba(cohort), bundle.qhat, little)[np.arange(len(y)), y]
    # 200 calibration patients per diagnosis: the threshold's own coverage has sd ~0.02 per class
    assert covered.mean() >= 0.90 - 3 * np.sqrt(0.09 / 800) - 0.02
    for c in range(len(DIAGNOSES)):
        assert covered[y == c].mean() >= 0.80, DIAGNOSES[c]


def test_sets_shown_with_other_probabilities_keep_membership_and_follow_their_order() -> None:
    """A clinical setting re-weights the probabilities: membership stays on the calibrated scale, the shown
    most probable class is added, and the set is listed in the shown order."""
    calibrated = np.array([[0.50, 0.45, 0.03, 0.02]])
    shown = np.array([[0.30, 0.60, 0.06, 0.04]])
    first, second = DIAGNOSES[0], DIAGNOSES[1]
    assert conformal.prediction_sets(calibrated, qhat=0.56, classes=DIAGNOSES) == [[first, second]]
    assert conformal.prediction_sets(calibrated, qhat=0.56, classes=DIAGNOSES, shown=shown) == [[second, first]]
    assert conformal.prediction_sets(calibrated, qhat=0.0, classes=DIAGNOSES) == [[first]]
    assert conformal.prediction_sets(calibrated, qhat=0.0, classes=DIAGNOSES, shown=shown) == [[second, first]]


def test_the_diagnoses_in_every_set_are_named_with_their_group() -> None:
    assert conformal.always_in_sets(np.array([0.3, 1.0, 0.5, 1.0])) == [(None, 1), (None, 3)]
    grouped = np.array([[0.3, 0.4, 0.5, 0.6], [1.0, 0.4, 0.5, 0.6]])
    assert conformal.always_in_sets(grouped) == [("little information", 0)]
    assert conformal.always_in_sets(0.8) == []
