"""Measure the clinical feature transform; write benchmarks/results/features.json.

Target (issue #3): 100 000 patients in under 5 s on 2 cores. Also measured: one patient at a time,
as serving calls it - through a one-row DataFrame (``transform``) and straight from a record dict
(``transform_records``, the serving path; aim ~1 ms). Run: .venv/bin/python benchmarks/features_speed.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from timing import best_of, machine, write_results

from mmn_ddx.features import MODES, ClinicalFeatures

RESULTS = Path(__file__).resolve().parent / "results" / "features.json"
N_PATIENTS = 100_000
TARGET_SECONDS = 5.0


def cohort(n: int, seed: int) -> tuple[pd.DataFrame, str]:
    """The synthetic cohort if the generator is there, else random contract-valid records."""
    try:
        from mmn_ddx.data.generator import generate_cohort
    except ImportError:
        from mmn_ddx.features._random_frame import random_frame

        return random_frame(n, seed=seed), "mmn_ddx.features._random_frame.random_frame"
    return generate_cohort(n, seed=seed), "mmn_ddx.data.generator.generate_cohort"


def median_ms(runs: int, fn: Callable[[], Any]) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    frame, source = cohort(N_PATIENTS, seed=1)
    figures: dict[str, Any] = {"patients": N_PATIENTS, "cohort_source": source, "target_seconds": TARGET_SECONDS}
    one_row = frame.iloc[[0]]
    record = {k: (None if pd.isna(v) else v) for k, v in one_row.drop(columns="diagnosis", errors="ignore")
              .to_dict("records")[0].items()}
    for mode in MODES:
        transformer = ClinicalFeatures(mode=mode).fit(frame.iloc[:100])
        seconds = best_of(3, lambda t=transformer: t.transform(frame))
        figures[mode] = {
            "columns": len(transformer.get_feature_names_out()),
            "transform_100k_seconds": round(seconds, 3),
            "within_target": seconds < TARGET_SECONDS,
            "one_row_frame_transform_ms": round(median_ms(200, lambda t=transformer: t.transform(one_row)), 2),
            "one_record_transform_records_ms": round(
                median_ms(1000, lambda t=transformer: t.transform_records([record])), 2
            ),
        }
    figures["machine"] = machine()
    write_results(RESULTS, figures)


if __name__ == "__main__":
    main()
