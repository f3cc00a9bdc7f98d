"""Training targets of issue #4, measured; writes benchmarks/results/training.json.

* wall time of ``mmn-ddx train --synthetic 5000`` (and, with ``--refit N``, of the same command with
  ``--refit-synthetic N``, whose exported champion is refitted on N fresh patients) (all families, nested CV,
  search, MLflow logging,
  registration, export), run as the real command in a subprocess, per mode; target <= 180 s on 2 cores;
* the exported champion on a 20 000-patient synthetic test cohort vs the Bayes-optimal posterior:
  macro AUROC within 0.01, log-loss within 10 %;
* the bundle's own serving cost (features + probabilities + SHAP + conformal set + OOD): one patient
  p50/p99 and batch patients/s, plus CPU time per patient (robust to other load on the machine);
* ``--curve 20000,50000``: the log-loss ratio of XGBoost trained on more patients (fixed search-free
  configuration, early stopping on 20 % of the training patients), to show how many patients the 10 %
  target needs.

The machine's load average is recorded next to every timing: on a shared 2-core box, wall times are only
comparable at similar load.

Run: .venv/bin/python benchmarks/train_speed.py [--modes at-presentation,with-treatment] [--n-train 5000]
     [--n-test 20000] [--refit 100000] [--curve 20000,50000,100000] [--skip-train]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from timing import machine, write_results

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "training.json"
TARGETS = {"train_seconds": 180.0, "auroc_gap": 0.01, "log_loss_ratio": 1.10, "single_p50_ms": 5.0,
           "batch_patients_per_s": 5000.0}


def load() -> float:
    return round(os.getloadavg()[0], 2)


def timed_train(mode: str, n: int, seed: int, workdir: Path, refit: int | None = None) -> dict[str, Any]:
    """The real CLI in a subprocess, with ``workdir`` as its home (private tracking store and export directory)."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"} | {"MMN_DDX_HOME": str(workdir)}
    command = [sys.executable, "-c", "from mmn_ddx.cli import app; app()",
               "train", "--synthetic", str(n), "--mode", mode, "--seed", str(seed),
               *(["--refit-synthetic", str(refit)] if refit else [])]
    before, start = load(), time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"train failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return {"seconds": round(seconds, 1), "load_before": before, "load_after": load(),
            "met": seconds <= TARGETS["train_seconds"]}


def quality(bundle: Any, test: pd.DataFrame, y: np.ndarray, ceiling: np.ndarray) -> dict[str, Any]:
    from mmn_ddx.training.fitting.fitting import summary

    model = summary(y, bundle.predict_proba(test))
    bayes = summary(y, ceiling)
    ratio = model["log_loss"] / bayes["log_loss"]
    gap = bayes["macro_auroc"] - model["macro_auroc"]
    return {"family": bundle.metadata.family, "params": bundle.metadata.params,
            "champion": {k: round(v, 5) for k, v in model.items()}, "bayes": {k: round(v, 5) for k, v in bayes.items()},
            "auroc_gap": round(gap, 5), "auroc_met": gap <= TARGETS["auroc_gap"],
            "log_loss_ratio": round(ratio, 4), "log_loss_met": ratio <= TARGETS["log_loss_ratio"]}


def serving_cost(bundle: Any, test: pd.DataFrame, n_single: int = 300, n_batch: int = 5000) -> dict[str, Any]:
    """One explained patient (the records fast path) and a batch, end to end through the bundle."""
    from mmn_ddx.training.artifact import little_information_mask, optional_fields

    frame = test.head(n_batch)
    records = [{k: (None if pd.isna(v) else v) for k, v in r.items()}
               for r in frame.head(n_single).astype(object).to_dict("records")]
    # each record's information group, read beforehand: serving reads it from the null mask it already has
    little = little_information_mask(frame.head(n_single), optional_fields(bundle.mode))

    def one(record: dict[str, Any], flag: np.ndarray) -> None:
        X = bundle.transform([record])
        probs = bundle.predict_proba([record], features=X)
        bundle.explain([record], features=X)
        bundle.prediction_set(probs, flag)
        bundle.out_of_distribution([record], features=X)

    for i, record in enumerate(records[:20]):
        one(record, little[i : i + 1])
    wall, cpu = [], []
    for i, record in enumerate(records):
        w, c = time.perf_counter(), time.process_time()
        one(record, little[i : i + 1])
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    w, c, before = time.perf_counter(), time.process_time(), load()
    X = bundle.transform(frame)
    probs = bundle.predict_proba(frame, features=X)
    bundle.explain(frame, features=X)
    bundle.record_sets(frame, probs)
    bundle.out_of_distribution(frame, features=X)
    batch_wall, batch_cpu = time.perf_counter() - w, time.process_time() - c
    trees = getattr(bundle.estimator, "n_estimators", None)
    return {
        "model": {"family": bundle.metadata.family, "params": bundle.metadata.params,
                  "trees": trees * len(bundle.classes) if trees and bundle.metadata.family == "xgboost" else trees},
        "single_p50_ms": round(float(np.median(wall)) * 1000, 3),
        "single_p99_ms": round(float(np.quantile(wall, 0.99)) * 1000, 3),
        "single_cpu_p50_ms": round(float(np.median(cpu)) * 1000, 3),
        "single_met": float(np.median(wall)) * 1000 <= TARGETS["single_p50_ms"],
        "batch_patients_per_s": round(n_batch / batch_wall),
        "batch_cpu_ms_per_patient": round(batch_cpu / n_batch * 1000, 4),
        "batch_met": n_batch / batch_wall >= TARGETS["batch_patients_per_s"], "load": before,
    }


def learning_curve(mode: str, sizes: list[int], test: pd.DataFrame, y: np.ndarray, ceiling: np.ndarray
                   ) -> list[dict[str, Any]]:
    """XGBoost (depth 3, learning rate 0.05, early stopping) trained on more patients, temperature-scaled."""
    import xgboost as xgb
    from scipy.special import softmax
    from sklearn.utils.class_weight import compute_sample_weight

    from mmn_ddx.data.generator import generate_cohort
    from mmn_ddx.features import ClinicalFeatures
    from mmn_ddx.training.artifact.calibration import fit_temperature
    from mmn_ddx.training.fitting.fitting import summary

    features = ClinicalFeatures(mode=mode).fit(test)
    X_test, bayes = features.transform(test), summary(y, ceiling)
    out = []
    for n in sizes:
        cohort = generate_cohort(n, seed=10_000 + n)
        X, labels = features.transform(cohort), cohort["diagnosis"].cat.codes.to_numpy()
        valid = n // 5
        model = xgb.XGBClassifier(objective="multi:softprob", n_estimators=4000, learning_rate=0.05, max_depth=3,
                                  min_child_weight=2, subsample=0.8, colsample_bytree=0.5, tree_method="hist",
                                  n_jobs=2, early_stopping_rounds=50, eval_metric="mlogloss")
        start = time.perf_counter()
        model.fit(X[valid:], labels[valid:], sample_weight=compute_sample_weight("balanced", labels[valid:]),
                  eval_set=[(X[:valid], labels[:valid])], verbose=False)
        t = fit_temperature(model.predict(X[:valid], output_margin=True), labels[:valid])
        metrics = summary(y, softmax(model.predict(X_test, output_margin=True) / t, axis=1))
        out.append(
            {
                "n_train": n,
                "rounds": int(model.best_iteration) + 1,
                "temperature": round(t, 3),
                "log_loss": round(metrics["log_loss"], 5),
                "log_loss_ratio": round(metrics["log_loss"] / bayes["log_loss"], 4),
                "auroc_gap": round(bayes["macro_auroc"] - metrics["macro_auroc"], 5),
                "fit_seconds": round(time.perf_counter() - start, 1),
            }
        )
        print(f"  curve {mode} n={n}: {out[-1]}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="at-presentation,with-treatment")
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--n-test", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--curve", default="", help="comma-separated training sizes for the learning curve")
    parser.add_argument("--skip-train", action="store_true", help="only the learning curve")
    parser.add_argument("--refit", type=int, default=0,
                        help="also time and score `train --synthetic N --refit-synthetic REFIT`")
    args = parser.parse_args()
    load_before = os.getloadavg()

    from mmn_ddx.data.exact_posterior import posterior
    from mmn_ddx.data.generator import GENERATOR_VERSION, generate_cohort
    from mmn_ddx.features import fields_unseen_in
    from mmn_ddx.settings import Settings
    from mmn_ddx.training.artifact.bundle import load_bundle
    from mmn_ddx.training.artifact.metadata import code_version

    test = generate_cohort(args.n_test, seed=424242)
    y = test["diagnosis"].cat.codes.to_numpy()
    report: dict[str, Any] = {
        "targets": TARGETS, "n_train": args.n_train, "n_test": args.n_test, "seed": args.seed,
        "generator_version": GENERATOR_VERSION, "code_version": code_version(), "modes": {},
    }
    for mode in args.modes.split(","):
        ceiling = posterior(test, exclude=fields_unseen_in(mode))
        entry: dict[str, Any] = {}
        runs = [] if args.skip_train else [("train", None)]
        runs += [(f"train_refit_{args.refit}", args.refit)] if args.refit else []
        for key, refit in runs:
            with tempfile.TemporaryDirectory(prefix="mmn-ddx-bench-") as tmp:
                timing = timed_train(mode, args.n_train, args.seed, Path(tmp), refit)
                bundle = load_bundle(Settings(home=Path(tmp)).exported_model(mode))
                entry[key] = {
                    "command": f"mmn-ddx train --synthetic {args.n_train} --mode {mode}"
                               + (f" --refit-synthetic {refit}" if refit else ""),
                    "time": timing,
                    "quality": quality(bundle, test.drop(columns=["diagnosis"]), y, ceiling),
                    "serving": serving_cost(bundle, test.drop(columns=["diagnosis"])),
                }
                print(f"{mode} {key}: {json.dumps(entry[key])}", flush=True)
        if args.curve:
            entry["learning_curve"] = learning_curve(mode, [int(s) for s in args.curve.split(",")], test, y, ceiling)
        report["modes"][mode] = entry
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for mode, entry in report["modes"].items():  # keep earlier figures of parts not re-run
        report["modes"][mode] = {**previous.get("modes", {}).get(mode, {}), **entry}
    report["machine"] = machine(load_before)
    write_results(RESULTS, report, {"written": str(RESULTS)})


if __name__ == "__main__":
    main()
