"""Evaluation and reporting: metrics, the benchmark against criteria and the Bayes ceiling, reports, the model card.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmn_ddx._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "BenchmarkResult": "mmn_ddx.training.evaluation.benchmark",
    "Cohort": "mmn_ddx.training.evaluation.benchmark",
    "COHORT_SETTING": "mmn_ddx.training.evaluation.benchmark",
    "PRIOR_SETTINGS": "mmn_ddx.training.evaluation.benchmark",
    "run_benchmark": "mmn_ddx.training.evaluation.benchmark",
    "ModeModels": "mmn_ddx.training.evaluation.benchmark_methods",
    "ProbaFn": "mmn_ddx.training.evaluation.benchmark_methods",
    "SetsFn": "mmn_ddx.training.evaluation.benchmark_methods",
    "evaluate_real_cases": "mmn_ddx.training.evaluation.real_cases",
    "read_real_cases": "mmn_ddx.training.evaluation.real_cases",
    "print_tables": "mmn_ddx.training.evaluation.report",
    "real_case_section": "mmn_ddx.training.evaluation.report",
    "terminal_tables": "mmn_ddx.training.evaluation.report",
    "write_reports": "mmn_ddx.training.evaluation.report",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers and IDEs
    from mmn_ddx.training.evaluation.benchmark import (
        COHORT_SETTING,
        PRIOR_SETTINGS,
        BenchmarkResult,
        Cohort,
        run_benchmark,
    )
    from mmn_ddx.training.evaluation.benchmark_methods import ModeModels, ProbaFn, SetsFn
    from mmn_ddx.training.evaluation.real_cases import evaluate_real_cases, read_real_cases
    from mmn_ddx.training.evaluation.report import print_tables, real_case_section, terminal_tables, write_reports
