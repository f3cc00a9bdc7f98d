"""Measure ``mmn-ddx world fit`` on 500 patients; write benchmarks/results/world_fit.json.

Target (issue #14): a world fit on 500 patients in under a minute on 2 cores. Run:

    .venv/bin/python benchmarks/world_fit_speed.py [--patients 500]

Two figures: the whole command as a user runs it (its own process: start-up, reading and validating the
CSV, the fit, writing the world and the report), and the fit alone in this process, split into its one
expensive step (the per-state likelihood of every record, computed once) and the EM iterations. The load
average is recorded: on a shared machine the times move with it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import best_of, machine, write_results

from mmn_ddx.data import fit_world, generate_cohort, load_world
from mmn_ddx.data.exact_posterior import log_state_likelihoods

RESULTS = Path(__file__).resolve().parent / "results" / "world_fit.json"
TARGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=500)
    args = parser.parse_args()
    load_before = os.getloadavg()
    cohort = generate_cohort(args.patients, seed=14)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "cohort.csv"
        cohort.to_csv(csv, index=False)
        command = [str(Path(sys.executable).parent / "mmn-ddx"), "world", "fit", "--data", str(csv),
                   "-o", str(Path(tmp) / "world.yaml"), "--report", str(Path(tmp) / "report.md")]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        command_s = time.perf_counter() - start
    likelihood_s = best_of(1, lambda: log_state_likelihoods(cohort, world=load_world()))
    iterations: list[float] = []
    start = time.perf_counter()
    fit = fit_world(cohort, on_iteration=lambda _i, _lp: iterations.append(time.perf_counter()))
    fit_s = time.perf_counter() - start
    figures = {
        "patients": args.patients,
        "command_seconds": round(command_s, 2),
        "fit_seconds": round(fit_s, 2),
        "per_state_likelihood_seconds": round(likelihood_s, 2),
        "em_iterations": len(fit.report.log_posterior),
        "em_seconds": round(iterations[-1] - iterations[0], 2),
        "converged": fit.report.converged,
        "target_seconds": TARGET_SECONDS,
        "within_target": command_s < TARGET_SECONDS,
        "machine": machine(load_before),
    }
    write_results(RESULTS, figures)


if __name__ == "__main__":
    main()
