"""Evaluation and reporting: metrics, the benchmark against criteria and the Bayes ceiling, reports, the model card.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmn_ddx._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)

if TYPE_CHECKING:  # the public names, listed once: type checkers read them, lazy_exports too
    from mmn_ddx.training.evaluation.benchmark import (
        COHORT_SETTING,
        PRIOR_SETTINGS,
        BenchmarkResult,
        Cohort,
        run_benchmark,
    )
    from mmn_ddx.training.evaluation.benchmark_methods import ModeModels, ProbaFn, SetsFn
    from mmn_ddx.training.evaluation.benchmark_worlds import TrainingOrigin, world_digest
    from mmn_ddx.training.evaluation.real_cases import evaluate_real_cases, read_real_cases
    from mmn_ddx.training.evaluation.report import print_tables, real_case_section, terminal_tables, write_reports
