"""The pieces of benchmarks/real_cohort_learning.py (issue #14): the reality world, the parameter errors,
the intervals, the targets, and a tiny run end to end with an exact fitter (one that returns the reality
world itself), whose fitted world's exact posterior must then reach the ceiling exactly."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data import generate_cohort, load_world


@pytest.fixture(scope="module")
def bench(benchmark_script: Callable[[str], ModuleType]) -> ModuleType:
    return benchmark_script("real_cohort_learning")


@pytest.fixture
def few_worlds(bench: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """The literature-world model drawn from 2 worlds, not 100: building 100 worlds' cohort models is most of a
    tiny run's time, and nothing here depends on how many there are."""
    monkeypatch.setattr(bench, "DEFAULT_WORLDS", 2)


def test_the_reality_world_is_away_from_the_literature_with_its_own_reporting_mix(bench: ModuleType,
                                                                                  tmp_path: Path) -> None:
    reality = bench.reality_world(7)
    assert reality.digest != load_world().digest
    assert reality.parameters["reporting"]["weights"] == list(bench.REALITY_DOCUMENTS)
    assert load_world().parameters["reporting"]["weights"] != list(bench.REALITY_DOCUMENTS)
    assert bench.reality_world(7).digest == reality.digest != bench.reality_world(8).digest  # seeded
    assert load_world(reality.to_yaml(tmp_path / "reality.yaml")).digest == reality.digest  # a valid world


@pytest.fixture(scope="module")
def fitted(bench: ModuleType) -> tuple[Any, dict[str, str]]:
    """The benchmark's fitter on 300 patients of a reality world: the fitted world and its groups."""
    fitter = bench.default_fitter()
    assert fitter is not None
    return fitter(generate_cohort(300, seed=2, world=bench.reality_world(7)))


def test_parameter_errors_compare_the_fit_and_the_prior_with_the_truth(bench: ModuleType,
                                                                      fitted: tuple[Any, dict[str, str]]) -> None:
    literature, truth = load_world(), bench.reality_world(7)
    world, groups = fitted
    assert "document mix" in groups.values() and "phenotype weights" in groups.values()
    exact = bench.parameter_errors(truth, literature, truth, groups)
    assert set(exact) == set(groups.values()) and all(g["fitted_mae"] == 0.0 for g in exact.values())
    assert exact["document mix"]["prior_mae"] == pytest.approx(
        np.mean(np.abs(np.subtract([0.40, 0.25, 0.35], bench.REALITY_DOCUMENTS))), abs=1e-9)
    assert all(g["prior_mae"] > 0.0 for g in exact.values())  # the reality is away from the literature
    # 300 reality patients move the document mix towards the reality's (sparse letters show in the records)
    learned = bench.parameter_errors(world, literature, truth, groups)["document mix"]
    assert learned["fitted_mae"] < learned["prior_mae"] / 2


def test_interval_is_the_mean_with_a_95_percent_t_interval(bench: ModuleType) -> None:
    figures = bench.interval([1.0, 2.0, 3.0])
    assert figures["mean"] == 2.0 and figures["n"] == 3
    assert figures["high"] - 2.0 == pytest.approx(4.3027 / np.sqrt(3), abs=1e-3)
    assert bench.interval([1.5]) == {"mean": 1.5, "low": 1.5, "high": 1.5, "n": 1}


def _by_n(updated: float | None, others: float = 1.5) -> dict[str, Any]:
    one = {m: {"mean": others} for m in ("literature_world_model", "cohort_alone_model")}
    return {str(n): one | ({} if updated is None else {"updated_world_model": {"mean": updated}})
            for n in (50, 200)}


def test_targets_need_the_updated_world_lowest_everywhere_and_near_the_ceiling_at_200(bench: ModuleType) -> None:
    assert list(bench.targets(_by_n(1.1)).values()) == [True, True]
    assert list(bench.targets(_by_n(1.3)).values()) == [True, False]
    assert list(bench.targets(_by_n(1.6)).values()) == [False, False]
    assert list(bench.targets(_by_n(None)).values()) == [None, None]  # not measured is not passed


def test_a_tiny_run_writes_figures_and_plot_and_an_exact_fit_reaches_the_ceiling(
        bench: ModuleType, fitted: tuple[Any, dict[str, str]], tmp_path: Path, few_worlds: None) -> None:
    config = bench.Config(sizes=(50,), reps=1, n_test=300, n_synthetic=600, seed=11)
    reality = bench.reality_world(config.seed)
    groups = fitted[1]
    figures = bench.run(config, lambda cohort: (reality, groups), tmp_path)  # an exact fit: the reality itself
    assert json.loads((tmp_path / "real_cohort.json").read_text(encoding="utf-8")) == figures
    assert (tmp_path / "real_cohort.png").read_bytes()[:4] == b"\x89PNG"
    at_50 = figures["by_n"]["50"]
    assert at_50["fitted_world_posterior"]["mean"] == pytest.approx(1.0)
    assert at_50["literature_world_posterior"]["mean"] > 1.0
    assert {"literature_world_model", "cohort_alone_model", "updated_world_model"} <= set(at_50)
    assert all(g["fitted_mae"]["mean"] == 0.0 for g in at_50["parameters"].values())
    assert figures["reality_world"]["digest"] == reality.digest and figures["updated_world_measured"]


def test_a_checkpointed_run_resumes_its_finished_repetitions_and_an_interrupted_one_at_its_fit(
        bench: ModuleType, fitted: tuple[Any, dict[str, str]], tmp_path: Path, few_worlds: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = bench.Config(sizes=(50,), reps=1, n_test=300, n_synthetic=600, seed=11, posterior_targets=True,
                          checkpoint=tmp_path / "kept")
    reality, groups = bench.reality_world(config.seed), fitted[1]
    first = bench.run(config, lambda cohort: (reality, groups), tmp_path / "first")
    assert first["resumed_repetitions"] == 0

    def must_not_fit(cohort: Any) -> tuple[Any, dict[str, str]]:
        raise AssertionError("a kept repetition was fitted again")

    again = bench.run(config, must_not_fit, tmp_path / "again")
    assert again["resumed_repetitions"] == 1 and again["by_n"] == first["by_n"]
    assert again["repetition_code_versions"] == first["repetition_code_versions"] == [first["code_version"]]

    keep = bench.checkpoint_dir(config)
    (kept_targets,) = keep.glob("targets-*.npy")
    assert kept_targets.name.startswith(f"targets-{reality.digest[:12]}-n600-")
    (keep / "n50-rep0.json").unlink()  # the repetition was interrupted after its posterior targets were kept

    def must_not_compute(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("kept posterior targets were computed again")

    monkeypatch.setattr(bench, "generate_with_targets", must_not_compute)
    refitted = bench.run(config, lambda cohort: (reality, groups), tmp_path / "refitted")
    assert refitted["resumed_repetitions"] == 0
    assert {m: refitted["by_n"]["50"][m] for m in bench.METHODS} == {m: first["by_n"]["50"][m] for m in bench.METHODS}

    other = bench.replace(config, n_test=301)  # another configuration: nothing of the first is reused
    with pytest.raises(AssertionError, match="fitted again"):
        bench.run(other, must_not_fit, tmp_path / "other")


def test_kept_targets_belong_to_the_same_patients_as_when_computed(bench: ModuleType, tmp_path: Path) -> None:
    world = load_world()
    computed = bench.kept_targets(tmp_path, world, 40, 3)
    reread = bench.kept_targets(tmp_path, world, 40, 3)
    pd.testing.assert_frame_equal(reread.frame, computed.frame)
    np.testing.assert_array_equal(reread.targets, computed.targets)
    assert bench.kept_targets(None, world, 40, 4).frame.shape[0] == 40 and len(list(tmp_path.glob("*.npy"))) == 1
