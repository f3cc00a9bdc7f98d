"""Measure the rule-based criteria under both readings; write benchmarks/results/criteria.json.

Targets (issue #11), measured here and never tuned on:
* complete synthetic work-ups (the generator's ``tertiary`` reporting): the cascade labels < 5 % of MMN,
  CIDP and MADSAM patients as MND, under each reading;
* the 15 real development cases (``/work/shared/clinical/real-cases/dev.jsonl``, evaluation only): the
  chart-review cascade labels >= 60 % and is right on >= 80 % of what it labels (n = 15: a development
  check, not a validation);
* serving cost of evaluating both readings instead of one (the criteria run on every prediction).

Run: .venv/bin/python benchmarks/criteria_readings.py [--real-cases PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from timing import best_of

from mmn_ddx.data.contract import DIAGNOSES, LABEL, fields, to_canonical
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.data.importer import read_record_json
from mmn_ddx.features.criteria import READINGS, evaluate_all, evaluate_readings

RESULTS = Path(__file__).resolve().parent / "results" / "criteria.json"
REAL_CASES = Path("/work/shared/clinical/real-cases/dev.jsonl")
N_SYNTHETIC = 40_000
SEED = 11
MIMICS = ("MMN", "CIDP", "MADSAM")
TARGET_MIMIC_AS_MND = 0.05
TARGET_REAL_COVERAGE, TARGET_REAL_ACCURACY = 0.60, 0.80


def label_figures(diagnosis: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Coverage (one of the four labels), accuracy on the labelled, and the label mix per diagnosis."""
    labelled = np.isin(labels, DIAGNOSES)
    right = labelled & (labels == diagnosis)
    per_diagnosis = {
        d: {label: float(np.mean(labels[diagnosis == d] == label)) for label in pd.unique(labels[diagnosis == d])}
        for d in DIAGNOSES if (diagnosis == d).any()
    }
    return {
        "patients": len(labels),
        "coverage": float(labelled.mean()),
        "accuracy_on_labelled": float(right.sum() / labelled.sum()) if labelled.any() else None,
        "label_fractions_by_diagnosis": per_diagnosis,
    }


def synthetic() -> dict[str, Any]:
    cohort = generate_cohort(N_SYNTHETIC, seed=SEED, return_latents=True)
    complete = cohort[cohort["latent_completeness"] == "tertiary"].drop(
        columns=[c for c in cohort.columns if c.startswith("latent_")])
    diagnosis = complete[LABEL].astype(object).to_numpy()
    out: dict[str, Any] = {"source": f"generate_cohort({N_SYNTHETIC}, seed={SEED}), tertiary reporting only"}
    for reading, ev in evaluate_readings(complete).items():
        labels = np.asarray(ev.labels, dtype=object)
        figures = label_figures(diagnosis, labels)
        figures["labelled_mnd"] = {d: float(np.mean(labels[diagnosis == d] == "MND")) for d in MIMICS}
        figures["target_met"] = all(v < TARGET_MIMIC_AS_MND for v in figures["labelled_mnd"].values())
        out[reading] = figures
    return out


def real_cases(path: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = [read_record_json({k: v for k, v in row.items() if k in fields()}) for row in rows]
    frame = to_canonical(pd.DataFrame(records))
    diagnosis = np.array([row["diagnosis"] for row in rows], dtype=object)
    out: dict[str, Any] = {"source": str(path), "caveat": "n = 15 real published patients: a development check only"}
    cases: dict[str, dict[str, str]] = {row["case_id"]: {"diagnosis": row["diagnosis"]} for row in rows}
    for reading, ev in evaluate_readings(frame).items():
        labels = np.asarray(ev.labels, dtype=object)
        figures = label_figures(diagnosis, labels)
        figures.pop("label_fractions_by_diagnosis")
        out[reading] = figures
        for row, label in zip(rows, labels, strict=True):
            cases[row["case_id"]][reading] = str(label)
    chart = out["chart-review"]
    out["chart-review"]["target_met"] = bool(
        chart["coverage"] >= TARGET_REAL_COVERAGE and (chart["accuracy_on_labelled"] or 0) >= TARGET_REAL_ACCURACY)
    out["cases"] = cases
    return out


def serving_cost() -> dict[str, Any]:
    """Milliseconds to evaluate the criteria for 1 and 100 validated record dicts: strict only, both readings."""
    frame = generate_cohort(100, seed=SEED).drop(columns=[LABEL])
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    out: dict[str, Any] = {}
    for n in (1, 100):
        batch = records[:n]
        strict = best_of(50, lambda b=batch: evaluate_all(b))
        both = best_of(50, lambda b=batch: evaluate_readings(b, READINGS))
        out[f"{n}_records"] = {"strict_ms": 1000 * strict, "both_readings_ms": 1000 * both}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-cases", type=Path, default=REAL_CASES)
    args = parser.parse_args()
    figures: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "notice": "Criteria applied to synthetic and published records; not clinically validated.",
        "synthetic_complete_workups": synthetic(),
        "serving_cost": serving_cost(),
    }
    if args.real_cases.is_file():
        figures["real_development_cases"] = real_cases(args.real_cases)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in figures.items() if k != "real_development_cases"}, indent=2))
    if "real_development_cases" in figures:
        real = figures["real_development_cases"]
        print({r: {k: real[r][k] for k in ("coverage", "accuracy_on_labelled")} for r in READINGS})


if __name__ == "__main__":
    main()
