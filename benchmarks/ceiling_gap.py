"""Where the champion's excess log-loss over the exact posterior sits (issue #12, literature world).

The champion is the refit the exported model gets (``training.fitting.refit``: XGBoost, a large-data
setting, temperature chosen on fresh validation patients), fitted here directly on ``--sizes`` fresh
literature-world patients, at presentation. For each fit it writes to benchmarks/results/ceiling_gap.json:

* the log-loss ratio to the exact posterior (bootstrap CI) after 100, 200, ... boosting rounds (is the
  model still learning at its cap?) and over the refit sizes (a learning curve: data or representation?);
* the excess ``-log p_model(y) + log p_bayes(y)`` per document type, writing style of each worded section
  (numbers / words / both / not reported, read from which of its fields the record has), diagnosis and
  phenotype: its mean and its share of the total excess;
* with ``--mixture K [K ...]``: the exact posterior of the first K randomised worlds ``train`` draws by default
  (seed 0) on the first ``--mixture-n`` test patients, for each K: the best a model trained on those worlds can
  do on the literature world, so the part of its gap that no amount of data or features closes, and how it
  shrinks with K (``--sizes`` with no value skips the fits: ``--sizes --mixture 5 10 20 40 --output F``);
* with ``--train-worlds K [K ...]``: the same fit on patients of the first K randomised worlds (what ``train``
  does by default), beside the literature-world fit (0); with ``--drawn-only GROUP``, each of those worlds
  redraws only that group of parameters and keeps the literature's values elsewhere (an ablation: which
  uncertainty costs the randomised model its gap on the literature world);
* with ``--extra``: the same model given the contract fields themselves (category codes, numbers) beside the
  clinical features. If that closes the gap, the features lose information the posterior uses;
* with ``--posterior-targets``: every fit on its training patients' exact posterior instead of their drawn
  diagnoses (``train --posterior-targets``; each patient's own world's posterior for randomised worlds).

Run: nice .venv/bin/python benchmarks/ceiling_gap.py [--sizes 100000 400000] [--n-test 10000] [--extra all]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from parameter_groups import PARAMETER_GROUPS, with_groups_from
from timing import machine, write_results

from mmn_ddx.data import WorldMixture, draw_worlds, generate_cohort, load_world
from mmn_ddx.data.contract import DIAGNOSES, LABEL, fields
from mmn_ddx.data.exact_posterior import growing_mixture_posteriors, posterior
from mmn_ddx.data.generator import GENERATOR_VERSION
from mmn_ddx.data.qualitative import spec as qualitative_spec
from mmn_ddx.features import ClinicalFeatures, feature_names, fields_unseen_in
from mmn_ddx.training.artifact import calibration
from mmn_ddx.training.evaluation.metrics import percentile_ci
from mmn_ddx.training.fitting.models import get_family
from mmn_ddx.training.fitting.posterior_targets import generate_with_targets
from mmn_ddx.training.fitting.refit import LARGE_DATA_GRIDS

RESULTS = Path(__file__).resolve().parent / "results" / "ceiling_gap.json"
MODE = "at-presentation"
TEST_SEED, TRAIN_SEED, VALIDATION_SEED = 1, 11, 12
N_VALIDATION = 10_000
ROUND_STEP = 100


def test_cohort(n: int, cache: Path | None) -> tuple[pd.DataFrame, np.ndarray]:
    """The literature-world test patients with their latents, and the exact posterior at presentation."""
    if cache and (cache / f"test_{n}.pkl").exists():
        return pd.read_pickle(cache / f"test_{n}.pkl"), np.load(cache / f"post_{n}.npy")
    frame = generate_cohort(n, seed=TEST_SEED, return_latents=True)
    post = posterior(records(frame), exclude=fields_unseen_in(MODE))
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
        frame.to_pickle(cache / f"test_{n}.pkl")
        np.save(cache / f"post_{n}.npy", post)
    return frame, post


def records(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if c.startswith("latent_")])


def labels(frame: pd.DataFrame) -> np.ndarray:
    return frame[LABEL].cat.codes.to_numpy()


def raw_fields(frame: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    """Contract fields as floats: category codes, booleans 0/1, NaN for null."""
    out = np.empty((len(frame), len(names)))
    for j, name in enumerate(names):
        column = frame[name] if name in frame else pd.Series(np.nan, index=frame.index)
        if fields()[name].type == "category":
            codes = column.cat.codes.to_numpy().astype(float)
            out[:, j] = np.where(codes < 0, np.nan, codes)
        else:
            out[:, j] = column.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return out


def extra_fields(extra: list[str]) -> tuple[str, ...]:
    """Field names from ``--extra``: "all" (every field the mode reads), a worded section's name (its numbers
    and words), or field names."""
    sections = qualitative_spec()["sections"]
    names: list[str] = []
    for item in extra:
        if item == "all":
            names += ClinicalFeatures(mode=MODE)._fields()
        elif item in sections:
            names += [*sections[item]["numbers"], *sections[item]["words"]]
        else:
            names.append(fields()[item].name)
    return tuple(dict.fromkeys(names))


def design(frame: pd.DataFrame, extra: tuple[str, ...]) -> np.ndarray:
    X = ClinicalFeatures(mode=MODE).fit(records(frame)).transform(records(frame))
    return np.hstack([X, raw_fields(frame, extra)]) if extra else X


def section_styles(frame: pd.DataFrame) -> pd.DataFrame:
    """Per worded section, the style the record shows: numbers, words, both, or none written."""
    out = {}
    for section, s in qualitative_spec()["sections"].items():
        numbers = frame[list(s["numbers"])].notna().any(axis=1)
        words = frame[list(s["words"])].notna().any(axis=1)
        out[f"style_{section}"] = np.select([numbers & words, numbers, words], ["both", "numbers", "words"], "none")
    return pd.DataFrame(out, index=frame.index)


def ratio_ci(model: np.ndarray, bayes: np.ndarray, n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """Ratio of mean log-losses with a paired percentile bootstrap interval."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(len(model), size=(n_boot, len(model)))
    low, high = percentile_ci(model[idx].mean(axis=1) / bayes[idx].mean(axis=1))
    return {"estimate": round(float(model.mean() / bayes.mean()), 4), "ci_low": round(float(low), 4),
            "ci_high": round(float(high), 4)}


def breakdown(groups: pd.DataFrame, excess: np.ndarray, bayes: np.ndarray) -> dict[str, Any]:
    """Per grouping column and level: patients, mean excess, share of the total excess, ratio to the posterior."""
    total = excess.sum()
    out: dict[str, Any] = {}
    for column in groups.columns:
        levels = {}
        for level, rows in groups.groupby(column, observed=True).indices.items():
            levels[str(level)] = {"n": len(rows), "mean_excess": round(float(excess[rows].mean()), 4),
                                  "share_of_excess": round(float(excess[rows].sum() / total), 3),
                                  "ratio": round(float(1 + excess[rows].sum() / bayes[rows].sum()), 3)}
        out[column] = dict(sorted(levels.items(), key=lambda kv: -kv[1]["share_of_excess"]))
    return out


def drawn_only(k: int, group: str) -> WorldMixture:
    """The first k worlds ``draw_worlds(k, seed=0)`` draws, each with only ``group`` taken from the draw."""
    literature = load_world()
    return WorldMixture(tuple(with_groups_from(literature, drawn, (group,), f"{drawn.source}; only {group} drawn")
                              for drawn in draw_worlds(k, seed=0).worlds), seed=0)


def fit(n: int, extra: tuple[str, ...], params: dict[str, Any], test: pd.DataFrame, bayes_ll: np.ndarray,
        worlds: int = 0, group: str | None = None, posterior_targets: bool = False) -> dict[str, Any]:
    family = get_family("xgboost")
    start = time.perf_counter()
    world = (drawn_only(worlds, group) if group else draw_worlds(worlds, seed=0)) if worlds else None
    targets = None
    if posterior_targets:
        targeted = generate_with_targets(n, TRAIN_SEED, world, MODE, n_jobs=2)
        train, targets = targeted.frame, targeted.targets
    else:
        train = generate_cohort(n, seed=TRAIN_SEED, world=world)
    validation = generate_cohort(N_VALIDATION, seed=VALIDATION_SEED, world=world)
    X, y = design(train, extra), labels(train)
    estimator = family.fit(params, X, y, seed=0, targets=targets)
    fit_seconds = time.perf_counter() - start
    X_val, X_test, y_test = design(validation, extra), design(test, extra), labels(test)
    by_round = {}
    for rounds in range(ROUND_STEP, params["n_estimators"] + 1, ROUND_STEP):
        raw_val = estimator.predict(X_val, output_margin=True, iteration_range=(0, rounds))
        cal = calibration.Calibration("temperature", calibration.fit_temperature(raw_val, labels(validation)))
        probs = cal.probabilities(estimator.predict(X_test, output_margin=True, iteration_range=(0, rounds)))
        model_ll = calibration.log_losses(probs, y_test)
        by_round[rounds] = {"ratio": ratio_ci(model_ll, bayes_ll), "temperature": round(cal.value, 3)}
    excess = model_ll - bayes_ll
    groups = pd.concat([test[["latent_document", LABEL, "latent_phenotype"]].astype(str), section_styles(test)], axis=1)
    return {"n_train": n, "training_worlds": worlds or "literature", "drawn_only": group, "extra_fields": list(extra),
            "targets": "exact posterior" if posterior_targets else "drawn diagnoses",
            "params": params, "fit_seconds": round(fit_seconds, 1),
            "n_features": X.shape[1], "by_round": by_round, "excess_by_group": breakdown(groups, excess, bayes_ll)}


def mixture_ceiling(test: pd.DataFrame, bayes_ll: np.ndarray, ks: list[int], n: int) -> list[dict[str, Any]]:
    """The log-loss ratio of the k-world mixture's exact posterior to the literature world's, on n patients,
    for each k of ``ks`` (the first k of one seeded stream, ``draw_worlds(max(ks), seed=0)``: a learning curve
    in k)."""
    start = time.perf_counter()
    part = records(test.iloc[:n])
    y = labels(test.iloc[:n])
    out = []
    for k, post in growing_mixture_posteriors(part, draw_worlds(max(ks), seed=0).worlds, ks, fields_unseen_in(MODE)):
        out.append({"worlds": k, "seed": 0, "n_test": n,
                    "ratio": ratio_ci(calibration.log_losses(post, y), bayes_ll[:n]),
                    "seconds": round(time.perf_counter() - start, 1)})
        print(json.dumps(out[-1]), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 400_000])
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--extra", nargs="+", action="append", default=[],
                        help="also fit with these contract fields added as columns: 'all', a worded section or "
                             "field names (repeat the option for several fits)")
    parser.add_argument("--rounds", type=int, default=None, help="override the boosting rounds")
    parser.add_argument("--depth", type=int, default=None, help="override the tree depth")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--mixture", type=int, nargs="*", default=[],
                        help="worlds of the randomised-world ceiling, e.g. 5 10 20 40 (none: skipped)")
    parser.add_argument("--train-worlds", type=int, nargs="*", default=[0],
                        help="fit on patients of the first K randomised worlds (seed 0, as train draws them); "
                             "0: the literature world (default); several values: one fit each")
    parser.add_argument("--drawn-only", nargs="+", choices=("all", *PARAMETER_GROUPS), default=["all"],
                        help="with --train-worlds K > 0: one fit per group, each world drawing only that group "
                             "('all': every parameter, as train does)")
    parser.add_argument("--mixture-n", type=int, default=2000)
    parser.add_argument("--posterior-targets", action="store_true",
                        help="fit the training patients' exact posterior instead of their drawn diagnoses")
    parser.add_argument("--cache", type=Path, default=None, help="keep the test cohort and its posterior here")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    params = dict(LARGE_DATA_GRIDS["xgboost"][0])
    for key, value in (("n_estimators", args.rounds), ("max_depth", args.depth), ("learning_rate", args.learning_rate)):
        if value is not None:
            params[key] = value
    start, load_before = time.perf_counter(), os.getloadavg()
    test, post = test_cohort(args.n_test, args.cache)
    y = labels(test)
    bayes_ll = calibration.log_losses(post, y)
    seconds = {"test_cohort_and_posterior": round(time.perf_counter() - start, 1)}
    mixture = mixture_ceiling(test, bayes_ll, args.mixture, args.mixture_n) if args.mixture else None
    fits = []
    for n in args.sizes:
        groups = [None if g == "all" else g for g in args.drawn_only]
        runs = [(w, g) for w in args.train_worlds for g in (groups if w else [None])]
        for worlds, group in runs:
            for extra in ((), *(extra_fields(e) for e in args.extra)):
                fits.append(fit(n, extra, params, test, bayes_ll, worlds, group, args.posterior_targets))
                summary = {k: fits[-1][k] for k in ("n_train", "training_worlds", "drawn_only", "extra_fields",
                                                    "targets", "fit_seconds", "by_round")}
            print(json.dumps(summary), flush=True)
    figures = {"generator_version": GENERATOR_VERSION, "mode": MODE, "world": "literature", "n_test": args.n_test,
               "bayes_log_loss": round(float(bayes_ll.mean()), 5), "diagnoses": list(DIAGNOSES),
               "n_clinical_features": len(feature_names(MODE)), "fits": fits, "mixture_ceiling": mixture,
               "seconds": seconds, "machine": machine(load_before)}
    write_results(args.output, figures, {"written": str(args.output)})


if __name__ == "__main__":
    main()
