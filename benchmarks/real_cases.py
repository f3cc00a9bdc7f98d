"""The development check on the 15 real published patients; write benchmarks/results/real_cases.json.

Evaluation only (n = 15; nothing is fitted or tuned on them): the exported champion of each mode, the
exact posterior of the synthetic world and the strict rule-based cascade, with accuracy, log-loss and
prediction-set coverage. A separate set of real patients that the project never sees judges the work.

Run: .venv/bin/python benchmarks/real_cases.py [--cases ../shared/clinical/real-cases/dev.jsonl]
     [--model DIR_OR_URI] (default: the champion of each mode, as ``mmn-ddx predict`` finds it)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from dataclasses import asdict
from pathlib import Path

from mmn_ddx.data import DIAGNOSES
from mmn_ddx.features import MODES
from mmn_ddx.serving import Predictor
from mmn_ddx.training.evaluation.real_cases import case_rows, evaluate_real_cases, read_real_cases

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "real_cases.json"
CASES = ROOT.parent / "shared" / "clinical" / "real-cases" / "dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--model", default=None, help="one model for both modes (default: each mode's champion)")
    args = parser.parse_args()
    cases = read_real_cases(args.cases)
    report: dict[str, object] = {"cases": str(args.cases), "n": len(cases.labels),
                                 "caveat": "n = 15 development cases: a check, not a validation",
                                 "machine": {"platform": platform.platform(), "load": os.getloadavg()}}
    for mode in MODES:
        predictor = Predictor.load(args.model, mode=None if args.model else mode)

        def champion(frame, predictor=predictor):  # type: ignore[no-untyped-def]
            results = predictor.predict_many(frame)
            return ([[r.probabilities[d] for d in DIAGNOSES] for r in results],
                    [r.prediction_set.diagnoses for r in results])

        figures = evaluate_real_cases(cases, predictor.mode, {"champion": champion})
        report[predictor.mode] = {"model": predictor.uri,
                                  "figures": {name: {k: v for k, v in asdict(f).items() if k != "predicted"}
                                              for name, f in figures.items()},
                                  "per_case": case_rows(cases, figures)}
        if args.model:
            break
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps({m: report[m]["figures"] for m in MODES if m in report}, indent=1))  # type: ignore[index]


if __name__ == "__main__":
    main()
