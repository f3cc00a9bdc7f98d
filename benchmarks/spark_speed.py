"""Measure scoring with explanations on Spark local[2]; write benchmarks/results/spark.json.

Target (issue #10): >= 5 000 patients/s on 2 cores. Run:

    .venv/bin/python benchmarks/spark_speed.py [--model URI] [--patients 200000] [--master local[2]]

Without ``--model`` the champion is used (``Predictor.load()`` finds it); if there is none, a quick model is
trained into a temporary directory (``training.train.train_bundle``, 2 000 patients) and the JSON says so.

What is timed: what ``mmn-ddx predict cohort.parquet -o out/ --engine spark`` does after the JVM has
started - ``serving.spark.score_file``: read the generated Parquet cohort, create MLflow's ``spark_udf``
over the exported model (which copies the model and has each Python worker load it once), score
(every column of the struct: probabilities, prediction set, top findings with their SHAP contributions,
criteria label, warnings, OOD reasons) and write the Parquet result. A warm-up run on 2 000 patients
first starts the Python workers (Spark reuses them, with their imports); the best of ``--runs`` runs is
reported. For reference, ``one_process_pyfunc_patients_per_s`` is the same pyfunc on one 10 000-row
batch in this process (no Spark): local[2] should reach about twice it on an idle 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from timing import best_of, machine, write_results

from mmn_ddx.data.contract import LABEL, fields
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.data.importer import write_table
from mmn_ddx.serving import spark as spark_engine
from mmn_ddx.serving.predictor import ModelNotFoundError, Predictor

RESULTS = Path(__file__).resolve().parent / "results" / "spark.json"
TARGET_PER_S = 5000.0
WARM_UP = 2000


def _model(uri: str | None, tmp: Path) -> tuple[str, str]:
    if uri is not None:
        return uri, uri
    try:
        predictor = Predictor.load()
        return predictor.uri, "champion"
    except ModelNotFoundError:
        from mmn_ddx.training.fitting.trainer import train_bundle

        path = train_bundle(generate_cohort(2000, seed=0), seed=0, export_dir=tmp / "model")
        return str(path), "quick model trained for this run (2 000 patients)"


def _run(source: Path, destination: Path, uri: str, master: str) -> float:
    shutil.rmtree(destination, ignore_errors=True)
    start = time.perf_counter()
    spark_engine.score_file(source, destination, uri, master=master)
    return time.perf_counter() - start


def _one_process(uri: str, cohort: Path, n: int) -> float:
    """Patients/s of the same pyfunc in this process on one Arrow-batch-like frame: Spark's overhead and
    the machine's load are read against it (the same code, without Spark)."""
    import mlflow.pyfunc
    import pandas as pd

    frame = pd.read_parquet(cohort).drop(columns=[LABEL]).head(n)
    specs = fields()
    frame = pd.DataFrame({c: frame[c].to_numpy(dtype="float64", na_value=float("nan")) if specs[c].is_numeric
                          else frame[c].astype(object).where(frame[c].notna(), None) for c in frame.columns})
    model = mlflow.pyfunc.load_model(uri)
    model.predict(frame.head(100))
    return n / best_of(2, lambda: model.predict(frame))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--master", default=spark_engine.DEFAULT_MASTER)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        uri, source = _model(args.model, tmp)
        cohort, small = tmp / "cohort.parquet", tmp / "warm-up.parquet"
        write_table(generate_cohort(args.patients, seed=11), cohort)
        write_table(generate_cohort(WARM_UP, seed=12), small)
        start = time.perf_counter()
        spark_engine.session(args.master)
        session_s = time.perf_counter() - start
        warm_up_s = _run(small, tmp / "warm-up-out", uri, args.master)
        seconds = min(_run(cohort, tmp / "out", uri, args.master) for _ in range(args.runs))
        spark_engine.session(args.master).stop()
        one_process = _one_process(uri, cohort, spark_engine.ARROW_BATCH)
    per_s = args.patients / seconds
    figures = {
        "target_patients_per_s": TARGET_PER_S,
        "model": {"source": source},
        "spark": {"master": args.master, "arrow_batch_rows": spark_engine.ARROW_BATCH,
                  "result_type": spark_engine.RESULT_TYPE},
        "patients": args.patients,
        "seconds": round(seconds, 2),
        "patients_per_s": round(per_s),
        "meets_target": per_s >= TARGET_PER_S,
        "one_process_pyfunc_patients_per_s": round(one_process),
        "session_start_s": round(session_s, 2),
        "warm_up_s": round(warm_up_s, 2),
        "machine": machine(load_before),
    }
    write_results(RESULTS, figures)


if __name__ == "__main__":
    main()
