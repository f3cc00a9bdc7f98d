"""The champion in worlds it was not trained on; write benchmarks/results/shift.json.

Why: the literature world is one guess among the worlds its cited intervals allow (issue #13). Each
shifted world redraws every generator parameter within its stated uncertainty (``data/uncertainty.py``),
the document mix included (another reporting mix), with a seed none of the training worlds used. In each,
the champion is measured against that world's own exact posterior (its Bayes ceiling): log-loss ratio,
accuracy, and the coverage and mean size of its 90 % prediction sets. The nominal (literature) world is
measured the same way.

Targets: median log-loss ratio <= 1.25 over the shifted worlds; set coverage >= 0.85 in every world;
nominal world log-loss <= 1.10 x its ceiling.

Run: .venv/bin/python benchmarks/shifted_worlds.py [--model NAME=DIR ...] [--worlds 10] [--n-test 3000]
     [--n-nominal 10000] [--seed 2026]
DIR is an exported model directory (default: <home>/models/<model name>, as `mmn-ddx train` exports it).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from timing import machine, write_results

from mmn_ddx.data import draw_worlds, load_world
from mmn_ddx.features import MODES
from mmn_ddx.settings import MODEL_NAMES, get_settings
from mmn_ddx.training.artifact.bundle import load_bundle
from mmn_ddx.training.artifact.metadata import code_version
from mmn_ddx.training.evaluation.shifted_worlds import SHIFT_SEED, summarise, world_cohort, world_figures

RESULTS = Path(__file__).resolve().parent / "results" / "shift.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], metavar="NAME=DIR",
                        help="an exported model to measure (repeatable); default: the exported at-presentation model")
    parser.add_argument("--worlds", type=int, default=10)
    parser.add_argument("--n-test", type=int, default=3000, help="patients per shifted world")
    parser.add_argument("--n-nominal", type=int, default=10_000, help="patients of the nominal world")
    parser.add_argument("--seed", type=int, default=SHIFT_SEED,
                        help="seed of the shifted worlds (training uses others)")
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
        "models": models, "seconds": round(time.perf_counter() - start, 1),
        "machine": machine(load_before),
    }
    write_results(RESULTS, figures, {name: m["summary"] for name, m in models.items()})


if __name__ == "__main__":
    main()
