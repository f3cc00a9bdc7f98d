"""Which unfitted parameters keep a fitted world from the reality ceiling (issue #14): write
benchmarks/results/world_fit_gap.json.

Why: at N = 200 the fitted world's exact posterior scores ~1.18 x the reality world's on reality patients
(``real_cohort_learning.py``); the target needs about 1.13. ``world_fit_oracle.py`` gave the *literature*
world one group of true parameters at a time; this asks the question of the *fitted* world: fit the world to a
labelled reality cohort as the benchmark does (``fit_world(cohort)``, the benchmark's own cohort seeds), then
score its exact posterior with one not-fitted group (``parameter_groups.NOT_FITTED_GROUPS``) replaced by the
reality world's true values. A group whose truth closes much of the gap is worth fitting; what is left with
every not-fitted group true is the fitted parameters' estimation error at this N.

Run: .venv/bin/python benchmarks/world_fit_gap.py [--n 200] [--reps 3] [--n-test 3000] [--seed 4141]
     [--groups strength_rates,...] [--save-worlds DIR]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from parameter_groups import NOT_FITTED_GROUPS, with_groups_from
from real_cohort_learning import EXCLUDED, MODE, TEST_SEED_OFFSET, codes, cohort_seed, interval, reality_world
from timing import machine, write_results

from mmn_ddx.data import World, fit_world, generate_cohort, load_world, posterior
from mmn_ddx.training.artifact.calibration import log_loss
from mmn_ddx.training.artifact.metadata import code_version

RESULTS = Path(__file__).resolve().parent / "results" / "world_fit_gap.json"
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="labelled reality patients per cohort")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--n-test", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=4141, help="the reality world's seed (as real_cohort_learning)")
    parser.add_argument("--groups", type=lambda s: tuple(s.split(",")), default=NOT_FITTED_GROUPS)
    parser.add_argument("--save-worlds", type=Path, help="also write each fitted world there (YAML)")
    args = parser.parse_args()
    start, load_before = time.perf_counter(), os.getloadavg()
    reality = reality_world(args.seed)
    test = generate_cohort(args.n_test, seed=args.seed + TEST_SEED_OFFSET, world=reality)
    y = codes(test)
    ceiling = log_loss(posterior(test, exclude=EXCLUDED, world=reality), y)

    def ratio(world: World) -> float:
        return log_loss(posterior(test, exclude=EXCLUDED, world=world), y) / ceiling

    variants = {**{g: (g,) for g in args.groups}, "all_not_fitted": tuple(args.groups)}
    rows: list[dict[str, float]] = []
    fit_seconds = []
    for rep in range(args.reps):
        cohort = generate_cohort(args.n, seed=cohort_seed(args.seed, args.n, rep), world=reality)
        began = time.perf_counter()
        fitted = fit_world(cohort).world
        fit_seconds.append(time.perf_counter() - began)
        if args.save_worlds is not None:
            args.save_worlds.mkdir(parents=True, exist_ok=True)
            fitted.to_yaml(args.save_worlds / f"fitted_n{args.n}_rep{rep}.yaml")
        row = {"fitted_world": ratio(fitted)}
        for name, groups in variants.items():
            row[name] = ratio(with_groups_from(fitted, reality, groups, f"fitted with {name} of reality"))
            print(rep, name, round(row[name], 4), "fitted", round(row["fitted_world"], 4), flush=True)
        rows.append(row)
    names = ["fitted_world", *variants]
    gain = {n: interval([r["fitted_world"] - r[n] for r in rows]) for n in variants}
    write_results(RESULTS, {
        "mode": MODE, "n": args.n, "reps": args.reps, "n_test": args.n_test, "seed": args.seed,
        "cohort_seeds": [cohort_seed(args.seed, args.n, rep) for rep in range(args.reps)],
        "reality_world": reality.source, "ceiling_log_loss": round(ceiling, 4),
        "scale": "log-loss of each world's exact posterior / the reality world's, on reality-world patients; "
                 "mean and 95 % t interval over the cohorts",
        "ratios": {n: interval([r[n] for r in rows]) for n in names},
        "gain_over_fitted_world": gain,
        "per_cohort": [{k: round(v, 4) for k, v in r.items()} for r in rows],
        "fit_seconds": [round(s, 1) for s in fit_seconds],
        "literature_world": round(ratio(load_world()), 4),
        "code_version": code_version(), "seconds": round(time.perf_counter() - start, 1),
        "machine": machine(load_before), "notice": "Synthetic worlds only; not clinically validated."},
        {"ratios": {n: interval([r[n] for r in rows])["mean"] for n in names},
         "mean_gain": {n: float(np.round(g["mean"], 4)) for n, g in gain.items()}})


if __name__ == "__main__":
    main()
