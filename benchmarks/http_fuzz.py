"""A long schemathesis run against the live API -> benchmarks/results/http_fuzz.json.

Target (issue #15): 0 x 5xx and 0 disguised internal errors in >= 10 000 fuzzed requests. This runs the
reliability test the suite runs (``tests/serving/test_http_fuzz.py``: valid and invalid requests from the
live ``/openapi.json``, on uvicorn with the serve CLI's options) with a large example budget, and writes
its tally of requests and statuses. Only 127.0.0.1 is contacted.

    .venv/bin/python benchmarks/http_fuzz.py --examples 5000   # ~2 x examples requests
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

from timing import machine, write_results

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "http_fuzz.json"
TEST = "tests/serving/test_http_fuzz.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000, help="examples per operation (split valid/invalid)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "tally.json"
        env = {**os.environ, "MMN_DDX_FUZZ_EXAMPLES": str(args.examples), "MMN_DDX_FUZZ_REPORT": str(report)}
        started = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        tally = json.loads(report.read_text()) if report.exists() else {}
    statuses = {k.removeprefix("status_"): v for k, v in sorted(tally.items()) if k.startswith("status_")}
    figures = {
        "what": "schemathesis (positive and negative generation) against the live /openapi.json; each answer "
                "must be < 500 and, if an error, a JSON error that is not the disguised 'processing_failed'",
        "examples_per_operation": args.examples,
        "requests": tally.get("requests", 0),
        "by_operation": {k: v for k, v in sorted(tally.items()) if " /" in k},
        "statuses": statuses,
        "server_errors_5xx": sum(v for k, v in statuses.items() if k.startswith("5")),
        "passed": run.returncode == 0,
        "failure": None if run.returncode == 0 else run.stdout[-3000:],
        "seconds": round(seconds, 1),
        "machine": machine(load_before),
    }
    write_results(args.output, figures, {k: v for k, v in figures.items() if k != "failure"})
    if not figures["passed"]:
        raise SystemExit(figures["failure"])


if __name__ == "__main__":
    main()
