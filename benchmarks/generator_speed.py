"""Measure the synthetic-cohort generator and the exact posterior; write benchmarks/results/generator.json.

Target (issue #2): 100 000 patients in under 10 s on 2 cores. Run: .venv/bin/python benchmarks/generator_speed.py
"""

from __future__ import annotations

import os
from pathlib import Path

from timing import best_of, machine, write_results

from mmn_ddx.data.exact_posterior import posterior
from mmn_ddx.data.generator import generate_cohort

RESULTS = Path(__file__).resolve().parent / "results" / "generator.json"


def main() -> None:
    load_before = os.getloadavg()
    generate_cohort(1_000, seed=0)  # warm the cached model
    generate_s = best_of(3, lambda: generate_cohort(100_000, seed=1))
    cohort = generate_cohort(20_000, seed=2)
    posterior_s = best_of(1, lambda: posterior(cohort))
    figures = {
        "generate_100k_patients_seconds": round(generate_s, 2),
        "generate_target_seconds": 10.0,
        "posterior_20k_patients_seconds": round(posterior_s, 2),
        "machine": machine(load_before),
    }
    write_results(RESULTS, figures)


if __name__ == "__main__":
    main()
