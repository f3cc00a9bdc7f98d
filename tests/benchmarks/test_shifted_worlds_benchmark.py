"""benchmarks/shifted_worlds.py's training-mixture floor (issue #13): the exact posterior of the default
training worlds, scored in a shifted world against that world's own ceiling."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from mmn_ddx.data import LABEL, draw_worlds, posterior
from mmn_ddx.features import MODES, fields_unseen_in
from mmn_ddx.training.artifact.calibration import log_loss
from mmn_ddx.training.evaluation.shifted_worlds import world_cohort


@pytest.fixture(scope="module")
def bench(benchmark_script: Callable[[str], ModuleType]) -> ModuleType:
    return benchmark_script("shifted_worlds")


def test_the_floor_is_the_ceiling_in_a_training_world_and_above_it_elsewhere(bench: ModuleType) -> None:
    mode = MODES[0]
    training, shifted = draw_worlds(1, seed=0).worlds[0], draw_worlds(1, seed=2026).worlds[0]
    cohorts = [world_cohort(training, 400, 1, mode), world_cohort(shifted, 400, 2, mode)]
    one, two = bench.mixture_floor(cohorts, [1, 2], mode)
    in_training_world, in_shifted_world = one["log_loss_ratio_by_world"]
    assert in_training_world == pytest.approx(1.0, abs=1e-4)  # the one training world's posterior is its ceiling
    assert in_shifted_world > 1.0
    assert one["median_log_loss_ratio"] == pytest.approx((in_training_world + in_shifted_world) / 2, abs=1e-4)
    assert (one["worlds"], two["worlds"], one["seed"]) == (1, 2, 0)
    # the two-world floor is the data layer's own mixture posterior (one seeded stream of worlds)
    y = cohorts[1].cohort[LABEL].cat.codes.to_numpy()
    mixture = posterior(cohorts[1].cohort, exclude=fields_unseen_in(mode), world=draw_worlds(2, seed=0))
    assert two["log_loss_ratio_by_world"][1] == pytest.approx(
        log_loss(mixture, y) / log_loss(cohorts[1].exact, y), abs=1e-4)
