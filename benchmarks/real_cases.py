"""The development check on the 15 real published patients; write benchmarks/results/real_cases.json.

Evaluation only (n = 15; nothing is fitted or tuned on them): the exported champion of each mode, the
exact posterior of the literature world and the rule-based cascade in both readings, with accuracy, log-loss,
prediction-set coverage and the cascade's coverage - on the schema version 1 records and on the same records
with the version 2 overlay (benchmarks/real_cases/dev_v2_overlay.jsonl), side by side. A separate set of
real patients that the project never sees judges the work.

Run: .venv/bin/python benchmarks/real_cases.py [--cases ../shared/clinical/real-cases/dev.jsonl]
     [--overlay benchmarks/real_cases/dev_v2_overlay.jsonl]
     [--model DIR_OR_URI] (default: the champion of each mode, as ``mmn-ddx predict`` finds it)
     [--criteria-only] (no model: the exact posterior and the cascade only)
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from timing import machine, write_results

from mmn_ddx.data import DIAGNOSES
from mmn_ddx.features import MODES
from mmn_ddx.serving import ModelNotFoundError, Predictor
from mmn_ddx.training.evaluation.real_cases import (
    ProbaAndSets,
    case_rows,
    evaluate_real_cases,
    read_overlay,
    read_real_cases,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "real_cases.json"
CASES = ROOT.parent / "shared" / "clinical" / "real-cases" / "dev.jsonl"
OVERLAY = ROOT / "benchmarks" / "real_cases" / "dev_v2_overlay.jsonl"
CAVEAT = "n = 15 development cases: a check, not a validation"


def _champion(model: str | None, mode: str, setting: str) -> tuple[str, str, ProbaAndSets]:
    predictor = Predictor.load(model, mode=None if model else mode)

    def champion(frame):  # type: ignore[no-untyped-def]
        results = predictor.predict_many(frame, setting=setting)
        return ([[r.probabilities[d] for d in DIAGNOSES] for r in results],
                [r.prediction_set.diagnoses for r in results])

    return predictor.mode, predictor.uri, champion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--overlay", type=Path, default=OVERLAY)
    parser.add_argument("--model", default=None, help="one model for both modes (default: each mode's champion)")
    parser.add_argument("--criteria-only", action="store_true", help="no model: posterior and cascade only")
    parser.add_argument("--setting", default="balanced",
                        help="clinical setting of the champion's probabilities (default balanced: published case "
                             "reports are a selected population, not a referral clinic, and the world's exact "
                             "posterior beside it is balanced too)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    records = {"v1": read_real_cases(args.cases), "v1+v2": read_real_cases(args.cases, read_overlay(args.overlay))}
    report: dict[str, Any] = {"cases": str(args.cases), "overlay": str(args.overlay),
                              "n": len(records["v1"].labels), "caveat": CAVEAT,
                              "setting": args.setting}
    for mode in MODES:
        models: dict[str, ProbaAndSets] = {}
        uri = None
        if not args.criteria_only:
            try:
                mode, uri, champion = _champion(args.model, mode, args.setting)
                models["champion"] = champion
            except ModelNotFoundError as exc:  # a mode without a trained champion: its criteria figures still count
                uri = f"none: {exc}"
        report[mode] = {"model": uri}
        for schema, cases in records.items():
            try:
                figures = evaluate_real_cases(cases, mode, models)
            except (KeyError, ValueError) as exc:  # a model or its wording not yet ready for the v2 values
                report[mode][f"{schema} models not scored"] = f"{type(exc).__name__}: {exc}"
                figures = evaluate_real_cases(cases, mode, {})
            report[mode][schema] = {
                "figures": {name: {k: v for k, v in asdict(f).items() if k != "predicted"}
                            for name, f in figures.items()},
                "per_case": case_rows(cases, figures),
            }
        if args.model:
            break
    report["machine"] = machine(load_before)
    summary = {f"{mode} / {schema}": {name: {k: f[k] for k in ("accuracy", "coverage", "accuracy_when_labelled")}
                                      for name, f in report[mode][schema]["figures"].items()}
               for mode in MODES if mode in report for schema in records}
    write_results(RESULTS, report, summary)


if __name__ == "__main__":
    main()
