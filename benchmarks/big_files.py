"""Big cohort files: rows/s and peak memory of ``cohort validate`` and ``predict -o``; writes
benchmarks/results/big_files.json.

Target (issue #15, item 7): a 500 000-row CSV validates and predicts with flat memory, under 500 MB peak
RSS (measured before streaming: validate 10.6 s at 1.0 GB, predict 76 s at 1.2 GB). Run:

    .venv/bin/python benchmarks/big_files.py [--rows 500000] [--model DIR]

The CSV is generated patients (50 000 generated, repeated with fresh ids: the generator is not what is
measured). Each command runs as its own process (the real ``mmn-ddx`` entry point), and its peak resident
memory is the kernel's ``ru_maxrss`` of that process alone. Without ``--model`` a quick model is trained
into a temporary directory (2 000 patients) and the JSON says so. The load average is recorded: on a
shared machine the rates move with it, the memory figures do not.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from timing import machine, write_results

RESULTS = Path(__file__).parent / "results" / "big_files.json"
BLOCK = 50_000
TARGET_MB = 500

_MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
seconds = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(done.returncode, seconds, peak_kb)
sys.stderr.write(done.stderr[-2000:])
"""
"""Runs one command in a fresh process, so RUSAGE_CHILDREN holds that command's peak alone."""


def write_cohort(path: Path, rows: int) -> None:
    """``rows`` generated patients as a CSV, written block by block (the benchmark itself stays small)."""
    from mmn_ddx.data.contract import LABEL
    from mmn_ddx.data.generator import generate_cohort

    block = generate_cohort(min(rows, BLOCK), seed=0).drop(columns=[LABEL])
    with path.open("w", encoding="utf-8", newline="") as stream:
        for start in range(0, rows, len(block)):
            part = block.iloc[: min(len(block), rows - start)].copy()
            part["patient_id"] = [f"BIG-{start + i:07d}" for i in range(len(part))]
            part.to_csv(stream, index=False, header=start == 0)


def measure(command: list[str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, check=True)
    code, seconds, peak_kb = done.stdout.split()
    return {"exit_code": int(code), "seconds": round(float(seconds), 2), "peak_rss_mb": round(int(peak_kb) / 1024, 1),
            "stderr_tail": done.stderr.strip().splitlines()[-3:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--model", help="Exported model directory (default: train a quick one).")
    args = parser.parse_args()
    cli = str(Path(sys.executable).with_name("mmn-ddx"))
    with tempfile.TemporaryDirectory(prefix="mmn-ddx-big-") as tmp:
        folder = Path(tmp)
        model, model_source = args.model, "given"
        if model is None:
            from mmn_ddx.data.generator import generate_cohort
            from mmn_ddx.training.fitting.trainer import train_bundle

            model = str(train_bundle(generate_cohort(2000, seed=0), seed=0, export_dir=folder / "model"))
            model_source = "quick model trained for this run (2 000 synthetic patients, XGBoost)"
        cohort = folder / "big.csv"
        write_cohort(cohort, args.rows)
        size_mb = cohort.stat().st_size / 2**20
        load_before = os.getloadavg()
        runs = {
            "validate": measure([cli, "cohort", "validate", str(cohort)]),
            "predict": measure([cli, "predict", str(cohort), "--model", model, "-o", str(folder / "scored.parquet")]),
        }
    for run in runs.values():
        run["rows_per_s"] = round(args.rows / run["seconds"])
        run["under_target"] = run["peak_rss_mb"] < TARGET_MB
    result = {
        "rows": args.rows,
        "file_mb": round(size_mb, 1),
        "target_peak_rss_mb": TARGET_MB,
        "runs": runs,
        "model": model_source,
        "machine": machine(load_before),
    }
    write_results(RESULTS, result)


if __name__ == "__main__":
    main()
