"""benchmarks/champion_vs_ceiling.py's figures: the rules' coverage beside the gain is the referenced cascade's."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data import generate_cohort, posterior
from mmn_ddx.features import MODES, fields_unseen_in
from mmn_ddx.training.evaluation.benchmark import COHORT_SETTING, BenchmarkResult, Cohort, run_benchmark
from mmn_ddx.training.evaluation.benchmark_methods import CASCADE, CASCADE_CHART_REVIEW, ModeModels

MODE = MODES[0]


@pytest.fixture(scope="module")
def bench(benchmark_script: Callable[[str], ModuleType]) -> ModuleType:
    return benchmark_script("champion_vs_ceiling")


@pytest.fixture(scope="module")
def result() -> BenchmarkResult:
    def oracle(frame: pd.DataFrame) -> np.ndarray:
        return posterior(frame, exclude=fields_unseen_in(MODE))

    models = ModeModels(MODE, {"oracle": oracle}, "oracle", oracle)
    return run_benchmark([Cohort("synthetic test", generate_cohort(300, seed=7), synthetic=True)], {MODE: models},
                         n_boot=10, seed=1, settings=())


def _coverage(result: BenchmarkResult, method: str) -> float:
    m = result.metrics
    row = m[(m["method"] == method) & (m["metric"] == "coverage") & (m["setting"] == COHORT_SETTING)]
    return round(float(row["estimate"].iloc[0]), 5)


@pytest.mark.parametrize("reference", [CASCADE, CASCADE_CHART_REVIEW])
def test_the_rules_coverage_is_that_of_the_cascade_the_gain_is_over(bench: ModuleType, result: BenchmarkResult,
                                                                     reference: str) -> None:
    """Whichever cascade is the best rules: the strict cascade's coverage was reported beside the chart-review
    cascade's gain (the first of the two "rules" rows)."""
    assert _coverage(result, CASCADE) != _coverage(result, CASCADE_CHART_REVIEW)  # the two readings differ here
    comparisons = result.comparisons.assign(reference=reference)  # as if this cascade were the best
    figures = bench.mode_figures(BenchmarkResult(result.metrics, comparisons, [], 10, 1), MODE, "oracle")
    assert figures["gain_over_best_rules"]["reference"] == reference
    assert figures["rules_coverage"]["estimate"] == _coverage(result, reference)
