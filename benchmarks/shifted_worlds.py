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
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from mmn_ddx.data import LABEL, draw_worlds, generate_cohort, load_world, posterior
from mmn_ddx.data.world import World
from mmn_ddx.features import MODES, TREATMENT_FIELDS
from mmn_ddx.settings import MODEL_NAMES, get_settings
from mmn_ddx.training.artifact.bundle import ModelBundle, load_bundle
from mmn_ddx.training.artifact.calibration import log_loss
from mmn_ddx.training.artifact.conformal import set_mask
from mmn_ddx.training.artifact.metadata import code_version

RESULTS = Path(__file__).resolve().parent / "results" / "shift.json"
MEDIAN_RATIO = 1.25
MIN_COVERAGE = 0.85
NOMINAL_RATIO = 1.10


def world_figures(bundle: ModelBundle, cohort: Any, exact: np.ndarray, literature: np.ndarray) -> dict[str, float]:
    """The champion against the world's exact posterior on one cohort of that world.

    ``literature`` is the literature world's exact posterior on the same cohort: the Bayes answer of one who
    knows the literature but not the shifted world, a reference for what any model trained without that
    world's data can reach (its ratio is not a floor for a model trained on many worlds, but a yardstick).
    """
    y = cohort[LABEL].cat.codes.to_numpy()
    probs = bundle.predict_proba(cohort)
    mask = set_mask(probs, bundle.qhat)
    covered = mask[np.arange(len(y)), y]
    champion, ceiling = log_loss(probs, y), log_loss(exact, y)
    return {
        "log_loss": round(champion, 4), "ceiling_log_loss": round(ceiling, 4),
        "log_loss_ratio": round(champion / ceiling, 4),
        "literature_posterior_log_loss_ratio": round(log_loss(literature, y) / ceiling, 4),
        "accuracy": round(float((probs.argmax(axis=1) == y).mean()), 4),
        "ceiling_accuracy": round(float((exact.argmax(axis=1) == y).mean()), 4),
        "set_coverage": round(float(covered.mean()), 4),
        "set_coverage_lowest_diagnosis": round(float(min(covered[y == c].mean() for c in np.unique(y))), 4),
        "mean_set_size": round(float(mask.sum(axis=1).mean()), 3),
    }


def cohort_of(world: World, n: int, seed: int,
              excluded: tuple[str, ...]) -> tuple[Any, np.ndarray, np.ndarray, list[float]]:
    """A cohort of ``world``, its exact posterior there and under the literature world, its document mix."""
    cohort = generate_cohort(n, seed=seed, world=world)
    weights = [round(float(w), 3) for w in world.parameters["reporting"]["weights"]]
    exact = posterior(cohort, exclude=excluded, world=world)
    literature = exact if world.is_literature else posterior(cohort, exclude=excluded)
    return cohort, exact, literature, weights


def summary(shifted: list[dict[str, Any]], nominal: dict[str, Any]) -> dict[str, Any]:
    ratios = [w["log_loss_ratio"] for w in shifted]
    coverage = [w["set_coverage"] for w in shifted]
    return {
        "median_log_loss_ratio": round(float(np.median(ratios)), 4),
        "worst_log_loss_ratio": round(float(max(ratios)), 4),
        "lowest_set_coverage": round(float(min(coverage)), 4),
        "median_accuracy": round(float(np.median([w["accuracy"] for w in shifted])), 4),
        "median_mean_set_size": round(float(np.median([w["mean_set_size"] for w in shifted])), 3),
        "median_literature_posterior_log_loss_ratio": round(float(np.median(
            [w["literature_posterior_log_loss_ratio"] for w in shifted])), 4),
        "nominal_log_loss_ratio": nominal["log_loss_ratio"],
        "targets": {
            f"median log-loss ratio <= {MEDIAN_RATIO}": bool(np.median(ratios) <= MEDIAN_RATIO),
            f"set coverage >= {MIN_COVERAGE} in every world": bool(min([*coverage, nominal["set_coverage"]])
                                                                   >= MIN_COVERAGE),
            f"nominal world log-loss ratio <= {NOMINAL_RATIO}": bool(nominal["log_loss_ratio"] <= NOMINAL_RATIO),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], metavar="NAME=DIR",
                        help="an exported model to measure (repeatable); default: the exported at-presentation model")
    parser.add_argument("--worlds", type=int, default=10)
    parser.add_argument("--n-test", type=int, default=3000, help="patients per shifted world")
    parser.add_argument("--n-nominal", type=int, default=10_000, help="patients of the nominal world")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the shifted worlds (training uses others)")
    args = parser.parse_args()
    default = str(get_settings().models_dir / MODEL_NAMES[MODES[0]])
    specs = [m.split("=", 1) for m in args.model] or [["champion", default]]
    bundles = {name: load_bundle(path) for name, path in specs}
    modes = {b.mode for b in bundles.values()}
    if len(modes) != 1:
        raise SystemExit(f"all models must share one feature mode, got {sorted(modes)}")
    mode = modes.pop()
    excluded = tuple(TREATMENT_FIELDS) if mode == MODES[0] else ()
    start = time.perf_counter()
    worlds = draw_worlds(args.worlds, seed=args.seed).worlds
    cohorts = [cohort_of(w, args.n_test, args.seed + k, excluded) for k, w in enumerate(worlds)]
    nominal = cohort_of(load_world(), args.n_nominal, args.seed + 10_000, excluded)
    models: dict[str, Any] = {}
    for name, bundle in bundles.items():
        shifted = [{"world": k + 1, "document_weights": weights, **world_figures(bundle, cohort, exact, literature)}
                   for k, (cohort, exact, literature, weights) in enumerate(cohorts)]
        at_nominal = world_figures(bundle, nominal[0], nominal[1], nominal[2])
        models[name] = {
            "model": str(dict(specs)[name]), "training_worlds": bundle.metadata.training_worlds,
            "n_training": bundle.metadata.n_training, "family": bundle.family,
            "summary": summary(shifted, at_nominal), "nominal_world": at_nominal, "shifted_worlds": shifted,
        }
    figures = {
        "mode": mode, "n_worlds": args.worlds, "n_test_per_world": args.n_test, "n_nominal": args.n_nominal,
        "seed": args.seed, "coverage_claimed": next(iter(bundles.values())).coverage,
        "nominal_document_weights": nominal[3], "code_version": code_version(),
        "notice": "Synthetic worlds only; the models are not clinically validated.",
        "models": models, "seconds": round(time.perf_counter() - start, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_1min": round(os.getloadavg()[0], 2)},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({name: m["summary"] for name, m in models.items()}, indent=2))


if __name__ == "__main__":
    main()
