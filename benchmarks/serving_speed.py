"""Measure explained predictions in-process; write benchmarks/results/serving.json.

Targets (issue #10): one patient's explained prediction p50 <= 2 ms on 2 cores; batch scoring with
explanations (the CLI's output table) >= 15 000 patients/s. The machine may be shared: the JSON records the
load average before and after, and figures are comparable only at similar load. Run:

    .venv/bin/python benchmarks/serving_speed.py [--model URI] [--patients 500] [--batch 5000]

Without ``--model`` the champion is used (``Predictor.load()``); if there is none, a quick model is trained
into a temporary directory (``training.train.train_bundle``, 2 000 patients) and the JSON says so.

What is inside each timed path (reported in the JSON too):

* ``single``: ``Predictor.predict(record)`` from a plain dict - contract validation, one read of the
  record into columns (:mod:`data.columns`, no DataFrame) shared by the features, the criteria and the OOD
  check, features, calibrated probabilities with exact SHAP (one model pass), finding sums and sentences, conformal
  set, OOD check,
  criteria with every element, warnings, audit - and, for ``single_with_next_test``, the next-test search
  (Bayes' rule on the outcome tables, no model call). Every call is a *different* generated patient; nothing is cached
  between calls. The per-stage figures time each stage alone on the same patients.
* ``batch_core``: ``Predictor.score`` on a validated frame: the vectorised part alone (features,
  probabilities, SHAP by feature and finding, sets, OOD, every criteria element), without words or objects.
* ``batch_table``: ``serving.batch.score_table`` on a validated cohort frame (what ``mmn-ddx predict
  cohort.csv -o out.csv`` does per chunk): probabilities, SHAP, finding sums, the top three findings worded,
  prediction sets, OOD, criteria labels and warnings; no next test.
* ``batch_results``: ``Predictor.predict_many(frame)``: full ``PredictionResult`` objects, without and with
  the next test.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb
from timing import best_of, machine, write_results

from mmn_ddx.data import read_records
from mmn_ddx.data.contract import LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.serving import criteria_view, next_test
from mmn_ddx.serving.batch import score_table
from mmn_ddx.serving.predictor import ModelNotFoundError, Predictor
from mmn_ddx.serving.records import frame_records, validate_one

RESULTS = Path(__file__).resolve().parent / "results" / "serving.json"
TARGET_P50_MS = 2.0
TARGET_BATCH_PER_S = 15000.0


def _load(uri: str | None, threads: int, tmp: Path) -> tuple[Predictor, str]:
    if uri is not None:
        return Predictor.load(uri, threads=threads), uri
    try:
        return Predictor.load(threads=threads), "champion"
    except ModelNotFoundError:
        from mmn_ddx.training.fitting.trainer import train_bundle

        path = train_bundle(generate_cohort(2000, seed=0), seed=0, export_dir=tmp)
        return Predictor.load(str(path), threads=threads), "quick model trained for this run (2 000 patients)"


def _latencies(fn: Callable[[dict[str, Any]], Any], records: list[dict[str, Any]]) -> dict[str, float]:
    for record in records[:20]:  # warm-up: lazy tables, caches of the libraries
        fn(record)
    times = []
    for record in records:
        start = time.perf_counter()
        fn(record)
        times.append(time.perf_counter() - start)
    ms = np.array(times) * 1e3
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p90_ms": round(float(np.percentile(ms, 90)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3), "n": len(records)}


def _stages(predictor: Predictor, records: list[dict[str, Any]]) -> dict[str, float]:
    """Median cost of each stage of one prediction, timed alone on the same patients."""
    bundle = predictor.bundle
    one = [[r] for r in records]  # the single-patient path reads record dicts, no DataFrame
    read = [read_records(r, validated=True) for r in one]
    features = [bundle.features.transform_columns(c) for c in read]
    scored = [predictor.score(r, with_next_test=False) for r in one]
    stages: dict[str, Callable[[int], Any]] = {
        "validate": lambda i: validate_one(records[i]),
        "read_columns": lambda i: read_records(one[i], validated=True),
        "features": lambda i: bundle.features.transform_columns(read_records(one[i], validated=True)),
        "probabilities_and_shap": lambda i: bundle.predict_explain(one[i], features=features[i]),
        "out_of_distribution": lambda i: bundle.out_of_distribution(read[i], features=features[i]),
        "criteria": lambda i: criteria_view.evaluate(read_records(one[i], validated=True)),
        "next_test": lambda i: next_test.next_tests(read_records(one[i], validated=True), scored[i].probs,
                                                    bundle.outcomes),
        "result_objects": lambda i: predictor._results(scored[i], [records[i]]),
    }
    out = {}
    with xgb.config_context(nthread=predictor.threads):
        for name, fn in stages.items():
            times = []
            for i in range(len(records)):
                start = time.perf_counter()
                fn(i)
                times.append(time.perf_counter() - start)
            out[name] = round(float(np.median(times)) * 1e3, 3)
    return out


def _rate(fn: Callable[[], Any], n: int, runs: int = 3) -> float:
    return round(n / best_of(runs, fn), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="MLflow model URI or directory (default: the champion).")
    parser.add_argument("--patients", type=int, default=500, help="Distinct patients for the latency figures.")
    parser.add_argument("--batch", type=int, default=5000, help="Patients per batch for the throughput figures.")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="mmn-ddx-bench-") as tmp:
        single_predictor, source = _load(args.model, 1, Path(tmp))
        records = frame_records(generate_cohort(args.patients + 20, seed=123).drop(columns=[LABEL]))
        single = _latencies(lambda r: single_predictor.predict(r, with_next_test=False), records)
        single_next = _latencies(single_predictor.predict, records)
        stages = _stages(single_predictor, records[:200])
        batch_predictor, _ = _load(args.model, min(2, os.cpu_count() or 1), Path(tmp))
        cohort = generate_cohort(args.batch, seed=321).drop(columns=[LABEL])
        small = cohort.iloc[: min(1000, args.batch)]
        score_table(batch_predictor, cohort.iloc[:100])  # warm-up
        figures = {
            "targets": {"single_p50_ms": TARGET_P50_MS, "batch_patients_per_s": TARGET_BATCH_PER_S},
            "model": _model_facts(single_predictor, source),
            "single": single,
            "single_with_next_test": single_next,
            "single_stage_median_ms": stages,
            "batch_core_patients_per_s": _rate(lambda: batch_predictor.score(cohort, with_next_test=False),
                                               len(cohort)),
            "batch_table_patients_per_s": _rate(lambda: score_table(batch_predictor, cohort), len(cohort)),
            "batch_table_with_next_test_patients_per_s": _rate(
                lambda: score_table(batch_predictor, small, with_next_test=True), len(small), runs=1),
            "batch_results_patients_per_s": _rate(
                lambda: batch_predictor.predict_many(small, with_next_test=False), len(small), runs=1),
            "batch_results_with_next_test_patients_per_s": _rate(
                lambda: batch_predictor.predict_many(small), len(small), runs=1),
            "batch_size": len(cohort),
            "timed_paths": {
                "single": "Predictor.predict(dict): validation, features, probabilities, SHAP, findings with "
                          "sentences, set, OOD, criteria with elements, warnings, audit; distinct patients, no cache",
                "single_with_next_test": "the same plus the next-test search (Bayes' rule on the outcome tables)",
                "batch_core": "Predictor.score(validated frame): features, probabilities, SHAP per feature and summed "
                              "per finding, sets, OOD, criteria (all elements), no wording, no result objects",
                "batch_table": "serving.batch.score_table(validated frame): the CLI's per-chunk work, no next test",
                "batch_results": "Predictor.predict_many(frame): full PredictionResult objects",
            },
            "machine": machine(load_before),
        }
    write_results(RESULTS, figures)


def _model_facts(predictor: Predictor, source: str) -> dict[str, Any]:
    meta = predictor.bundle.metadata
    facts: dict[str, Any] = {"source": source, "family": meta.family, "mode": predictor.mode,
                             "features": len(predictor.bundle.feature_names)}
    estimator = predictor.bundle.estimator
    if hasattr(estimator, "get_booster"):
        booster = estimator.get_booster()
        facts["trees"] = len(booster.get_dump())
        facts["max_depth"] = estimator.get_params().get("max_depth")
    return facts


if __name__ == "__main__":
    main()
