"""What a world fit must recover (issue #14): write benchmarks/results/world_fit_oracle.json.

Why: ``real_cohort_learning.py`` shows the fitted world's posterior still well above the reality world's
ceiling. Which parameters carry that gap? Give the literature world one group of the reality world's true
parameters at a time (``parameter_groups.py``: the reporting model, phenotype weights, stages, nerve counts,
the other findings and those by kind, the MRC tables) and score its exact posterior on the reality world's
patients, as log-loss / the reality world's own posterior. A group that closes much of the gap is one the
fit must learn; an oracle, not a fit: no cohort, the true values. The reality world is the learning-curve
benchmark's (same seed and document mix).

Run: .venv/bin/python benchmarks/world_fit_oracle.py [--n-test 3000] [--seed 4141]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from parameter_groups import PARAMETER_GROUPS, with_groups_from
from real_cohort_learning import EXCLUDED, MODE, codes, reality_world
from timing import machine, write_results

from mmn_ddx.data import World, generate_cohort, load_world, posterior
from mmn_ddx.training.artifact.calibration import log_loss

RESULTS = Path(__file__).resolve().parent / "results" / "world_fit_oracle.json"
TEST_SEED = 77


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-test", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=4141, help="the reality world's seed (as real_cohort_learning)")
    args = parser.parse_args()
    start, load_before = time.perf_counter(), os.getloadavg()
    reality, literature = reality_world(args.seed), load_world()
    test = generate_cohort(args.n_test, seed=TEST_SEED, world=reality)
    y = codes(test)
    ceiling = log_loss(posterior(test, exclude=EXCLUDED, world=reality), y)

    def ratio(world: World) -> float:
        return round(log_loss(posterior(test, exclude=EXCLUDED, world=world), y) / ceiling, 4)

    figures = {"literature_world": ratio(literature)}
    for group in PARAMETER_GROUPS:
        figures[f"literature_with_{group}_of_reality"] = ratio(
            with_groups_from(literature, reality, (group,), f"literature with {group} of reality"))
        print(group, figures[f"literature_with_{group}_of_reality"], flush=True)
    write_results(RESULTS, {
        "mode": MODE, "n_test": args.n_test, "reality_world": reality.source, "ceiling_log_loss": round(ceiling, 4),
        "scale": "log-loss of each world's exact posterior / the reality world's, on reality-world patients",
        "ratios": figures, "seconds": round(time.perf_counter() - start, 1), "machine": machine(load_before),
        "notice": "Synthetic worlds only; not clinically validated."}, {"written": str(RESULTS)})


if __name__ == "__main__":
    main()
