"""Calibration: temperature scaling and shrinkage recover known miscalibration, and are kept only when
they lower the cross-fitted out-of-fold log-loss."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from mmn_ddx.training.artifact import calibration
from mmn_ddx.training.artifact.calibration import Calibration


def _overconfident(n: int, t_true: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose calibrated version is softmax(z / t_true): labels drawn from that distribution."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 3.0, size=(n, 4))
    p = softmax(z / t_true, axis=1)
    y = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return z, y


@pytest.mark.parametrize("t_true", [0.5, 1.0, 2.5])
def test_temperature_recovers_the_true_temperature(t_true: float) -> None:
    z, y = _overconfident(20000, t_true, seed=1)
    assert calibration.fit_temperature(z, y) == pytest.approx(t_true, rel=0.05)


def test_uniform_mix_recovers_the_shrinkage() -> None:
    rng = np.random.default_rng(2)
    sharp = softmax(rng.normal(0, 4, size=(20000, 4)), axis=1)
    true = 0.8 * sharp + 0.05  # eps = 0.2 of uniform mass
    y = (true.cumsum(axis=1) > rng.random((20000, 1))).argmax(axis=1)
    assert calibration.fit_uniform_mix(sharp, y) == pytest.approx(0.2, abs=0.02)


def test_choose_keeps_a_calibrator_that_helps_and_drops_one_that_does_not() -> None:
    z, y = _overconfident(6000, 2.5, seed=3)
    fold = np.arange(len(y)) % 5
    helps = calibration.choose(z, y, fold, "logits")
    assert helps.improves and helps.calibration.value == pytest.approx(2.5, rel=0.1)
    assert helps.log_loss_calibrated < helps.log_loss_raw
    z_ok, y_ok = _overconfident(6000, 1.0, seed=4)
    neutral = calibration.choose(z_ok, y_ok, fold, "logits")
    if not neutral.improves:
        assert neutral.calibration.is_identity
    assert abs(neutral.log_loss_calibrated - neutral.log_loss_raw) < 0.01


def test_calibrators_round_trip_and_produce_distributions() -> None:
    raw = np.array([[2.0, 0.0, -1.0, 0.5]])
    for cal in (Calibration("temperature", 1.7), Calibration("uniform_mix", 0.1)):
        again = Calibration.from_dict(cal.to_dict())
        inputs = raw if cal.kind == "temperature" else softmax(raw, axis=1)
        probs = again.probabilities(inputs)
        assert again == cal and probs.sum() == pytest.approx(1.0) and (probs > 0).all()


def test_log_loss_is_finite_for_a_zero_probability() -> None:
    assert np.isfinite(calibration.log_loss(np.array([[1.0, 0.0, 0.0, 0.0]]), np.array([1])))


def test_softmax_equals_scipy_bit_for_bit() -> None:
    """The served probabilities use calibration.softmax (scipy's arithmetic without its dispatch): the same numbers."""
    logits = np.random.default_rng(3).normal(scale=8.0, size=(500, 4))
    for rows in (logits[:1], logits):
        np.testing.assert_array_equal(calibration.softmax(rows, axis=1), softmax(rows, axis=1))
