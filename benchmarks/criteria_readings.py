"""Measure the rule-based criteria under both readings; write benchmarks/results/criteria.json.

Targets (issue #11), measured here and never tuned on:
* complete synthetic work-ups (the generator's ``tertiary_workup`` documents): the cascade labels < 5 % of MMN,
  CIDP and MADSAM patients as MND, under each reading;
* the 15 real development cases (``/work/shared/clinical/real-cases/dev.jsonl``, evaluation only): the
  chart-review cascade labels >= 60 % and is right on >= 80 % of what it labels (n = 15: a development
  check, not a validation);
* serving cost of evaluating both readings instead of one (the criteria run on every prediction).

The real cases are evaluated as coded in schema version 1 and with the version 2 overlay
(benchmarks/real_cases/dev_v2_overlay.jsonl: the statements of each case's text, coded before evaluation).

Run: .venv/bin/python benchmarks/criteria_readings.py [--real-cases PATH] [--overlay PATH]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from timing import best_of, machine, write_results

from mmn_ddx.data.contract import DIAGNOSES, LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.features.criteria import READINGS, evaluate_all, evaluate_readings
from mmn_ddx.training.evaluation.real_cases import RealCases, read_overlay, read_real_cases

RESULTS = Path(__file__).resolve().parent / "results" / "criteria.json"
REAL_CASES = Path("/work/shared/clinical/real-cases/dev.jsonl")
OVERLAY = Path(__file__).resolve().parent / "real_cases" / "dev_v2_overlay.jsonl"
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
    complete = cohort[cohort["latent_document"] == "tertiary_workup"].drop(
        columns=[c for c in cohort.columns if c.startswith("latent_")])
    diagnosis = complete[LABEL].astype(object).to_numpy()
    out: dict[str, Any] = {
        "source": f"generate_cohort({N_SYNTHETIC}, seed={SEED}), tertiary work-ups only (latent_document)"}
    for reading, ev in evaluate_readings(complete).items():
        labels = np.asarray(ev.labels, dtype=object)
        figures = label_figures(diagnosis, labels)
        figures["labelled_mnd"] = {d: float(np.mean(labels[diagnosis == d] == "MND")) for d in MIMICS}
        figures["target_met"] = all(v < TARGET_MIMIC_AS_MND for v in figures["labelled_mnd"].values())
        out[reading] = figures
    return out


def real_cases(path: Path, overlay: Path) -> dict[str, Any]:
    """Each reading's coverage and accuracy on the v1 records and on the v1+v2 records, side by side."""
    schemas: dict[str, RealCases] = {"v1": read_real_cases(path), "v1+v2": read_real_cases(path, read_overlay(overlay))}
    out: dict[str, Any] = {"source": str(path), "overlay": str(overlay),
                           "caveat": "n = 15 real published patients: a development check only"}
    ids = [m["case_id"] for m in schemas["v1"].metadata]
    cases: dict[str, dict[str, str]] = {i: {"diagnosis": DIAGNOSES[y]} for i, y in zip(ids, schemas["v1"].labels,
                                                                                     strict=True)}
    for schema, real in schemas.items():
        diagnosis = np.array([DIAGNOSES[y] for y in real.labels], dtype=object)
        out[schema] = {}
        for reading, ev in evaluate_readings(real.frame).items():
            labels = np.asarray(ev.labels, dtype=object)
            figures = label_figures(diagnosis, labels)
            figures.pop("label_fractions_by_diagnosis")
            out[schema][reading] = figures
            for case_id, label in zip(ids, labels, strict=True):
                cases[case_id][f"{schema} {reading}"] = str(label)
        chart = out[schema]["chart-review"]
        chart["target_met"] = bool(
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
    parser.add_argument("--overlay", type=Path, default=OVERLAY)
    args = parser.parse_args()
    load_before = os.getloadavg()
    figures: dict[str, Any] = {
        "notice": "Criteria applied to synthetic and published records; not clinically validated.",
        "synthetic_complete_workups": synthetic(),
        "serving_cost": serving_cost(),
    }
    if args.real_cases.is_file():
        figures["real_development_cases"] = real_cases(args.real_cases, args.overlay)
    figures["machine"] = machine(load_before)
    write_results(RESULTS, figures, {k: v for k, v in figures.items() if k != "real_development_cases"})
    if "real_development_cases" in figures:
        real = figures["real_development_cases"]
        print({f"{s} {r}": {k: real[s][r][k] for k in ("coverage", "accuracy_on_labelled")}
               for s in ("v1", "v1+v2") for r in READINGS})


if __name__ == "__main__":
    main()
