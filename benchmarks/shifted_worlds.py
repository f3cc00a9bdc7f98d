"""The champion in worlds it was not trained on; write benchmarks/results/shift.json.

Why: the literature world is one guess among the worlds its cited intervals allow (issue #13). Each
shifted world redraws every generator parameter within its stated uncertainty (``data/uncertainty.py``),
the document mix included (another reporting mix), with a seed none of the training worlds used. In each,
the champion is measured against that world's own exact posterior (its Bayes ceiling): log-loss ratio,
accuracy, and the coverage and mean size of its 90 % prediction sets. The nominal (literature) world is
measured the same way. With ``--mixture-floor K`` each shifted world's patients are also scored by the exact
posterior of the first K worlds ``train`` draws by default (seed 0): the Bayes answer of one who knows the training
worlds but not the shifted one, the floor for any model trained on them (as ``ceiling_gap.py --mixture`` is on
the nominal world).

Targets: median log-loss ratio <= 1.25 over the shifted worlds; set coverage >= 0.85 in every world;
nominal world log-loss <= 1.10 x its ceiling.

Run: .venv/bin/python benchmarks/shifted_worlds.py [--model NAME=DIR ...] [--worlds 10] [--n-test 3000]
     [--n-nominal 10000] [--seed 2026] [--mixture-floor K ...] [--output F]
DIR is an exported model directory (default: <home>/models/<model name>, as `mmn-ddx train` exports it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import machine, write_results  # sibling script (also when a test loads this file by path)

from mmn_ddx.data import LABEL, draw_worlds, growing_mixture_posteriors, load_world
from mmn_ddx.features import MODES, fields_unseen_in
from mmn_ddx.settings import MODEL_NAMES, get_settings
from mmn_ddx.training.artifact.bundle import load_bundle
from mmn_ddx.training.artifact.calibration import log_loss
from mmn_ddx.training.artifact.metadata import code_version
from mmn_ddx.training.evaluation.shifted_worlds import SHIFT_SEED, WorldCohort, summarise, world_cohort, world_figures

RESULTS = Path(__file__).resolve().parent / "results" / "shift.json"


def mixture_floor(cohorts: list[WorldCohort], ks: list[int], mode: str) -> list[dict[str, Any]]:
    """For each k of ``ks``, the exact posterior of the first k training worlds in each shifted world, as a ratio
    to that world's ceiling (``draw_worlds(k, seed=0)`` is the first k of one seeded stream)."""
    worlds = draw_worlds(max(ks), seed=0).worlds
    ratios: dict[int, list[float]] = {k: [] for k in ks}
    for data in cohorts:
        y = data.cohort[LABEL].cat.codes.to_numpy()
        for k, probs in growing_mixture_posteriors(data.cohort, worlds, ks, fields_unseen_in(mode)):
            ratios[k].append(round(log_loss(probs, y) / log_loss(data.exact, y), 4))
    out = [{"worlds": k, "seed": 0, "log_loss_ratio_by_world": ratios[k],
            "median_log_loss_ratio": round(statistics.median(ratios[k]), 4)} for k in sorted(ratios)]
    for row in out:
        print(row, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], metavar="NAME=DIR",
                        help="an exported model to measure (repeatable); default: the exported at-presentation model")
    parser.add_argument("--worlds", type=int, default=10)
    parser.add_argument("--n-test", type=int, default=3000, help="patients per shifted world")
    parser.add_argument("--n-nominal", type=int, default=10_000, help="patients of the nominal world")
    parser.add_argument("--seed", type=int, default=SHIFT_SEED,
                        help="seed of the shifted worlds (training uses others)")
    parser.add_argument("--mixture-floor", type=int, nargs="+", default=[], metavar="K",
                        help="also score each shifted world with the exact posterior of the first K default "
                             "training worlds (seed 0), for each K: the floor for a model trained on them "
                             "(costs max K posteriors)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"results file (default {RESULTS.name})")
    args = parser.parse_args()
    default = str(get_settings().models_dir / MODEL_NAMES[MODES[0]])
    specs = [m.split("=", 1) for m in args.model] or [["champion", default]]
    bundles = {name: load_bundle(path) for name, path in specs}
    modes = {b.mode for b in bundles.values()}
    if len(modes) != 1:
        raise SystemExit(f"all models must share one feature mode, got {sorted(modes)}")
    mode = modes.pop()
    start, load_before = time.perf_counter(), os.getloadavg()
    worlds = draw_worlds(args.worlds, seed=args.seed).worlds
    cohorts = [world_cohort(w, args.n_test, args.seed + k, mode) for k, w in enumerate(worlds)]
    nominal = world_cohort(load_world(), args.n_nominal, args.seed + 10_000, mode)
    models: dict[str, Any] = {}
    for name, bundle in bundles.items():
        shifted = [{"world": k + 1, "document_weights": data.document_weights,
                    **world_figures(bundle.predict_proba, bundle.qhat, data)} for k, data in enumerate(cohorts)]
        at_nominal = world_figures(bundle.predict_proba, bundle.qhat, nominal)
        models[name] = {
            "model": str(dict(specs)[name]), "training_worlds": bundle.metadata.training_worlds,
            "n_training": bundle.metadata.n_training, "family": bundle.family,
            "summary": summarise(shifted, at_nominal), "nominal_world": at_nominal, "shifted_worlds": shifted,
        }
    figures = {
        "mode": mode, "n_worlds": args.worlds, "n_test_per_world": args.n_test, "n_nominal": args.n_nominal,
        "seed": args.seed, "coverage_claimed": next(iter(bundles.values())).coverage,
        "nominal_document_weights": nominal.document_weights, "code_version": code_version(),
        "notice": "Synthetic worlds only; the models are not clinically validated.",
        "models": models,
        "training_mixture_posterior": mixture_floor(cohorts, args.mixture_floor, mode) if args.mixture_floor else [],
        "seconds": round(time.perf_counter() - start, 1),
        "machine": machine(load_before),
    }
    write_results(args.output, figures, {name: m["summary"] for name, m in models.items()})


if __name__ == "__main__":
    main()
