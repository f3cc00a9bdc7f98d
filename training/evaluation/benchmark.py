"""The benchmark use case: models vs published criteria vs the Bayes ceiling, with paired bootstrap CIs.

For each cohort and feature mode every method (:mod:`training.benchmark_methods`) is scored on the *same*
bootstrap resamples of the same patients, so each difference (the champion's gain over the best rule-based
classifier, its gap to the Bayes ceiling) is a paired difference with its own CI: far narrower than two
independent intervals would suggest, and honest about it.

Metrics are also re-weighted to the class-prior settings of literature-priors.md section 10 (importance
weights per diagnosis), with the probabilistic methods' outputs shifted to the setting's prior
(:func:`training.metrics.shift_priors`) as a model deployed there would be configured; the criteria do not
use priors, so only their prevalence-dependent figures (PPV, accuracy) move.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from mmn_ddx.data import CLASS_PRIOR_PRESETS, DIAGNOSES, LABEL, World
from mmn_ddx.features import MODES, check_mode
from mmn_ddx.training.evaluation.benchmark_methods import (
    Kind,
    Method,
    ModeModels,
    bayes_method,
    criteria_methods,
    diagnosis_codes,
    frame_for_mode,
    model_methods,
)
from mmn_ddx.training.evaluation.benchmark_worlds import world_shift_note
from mmn_ddx.training.evaluation.metrics import (
    METRIC_KEYS,
    Predictions,
    bootstrap_metrics,
    importance_weights,
    percentile_ci,
    point_estimates,
    shift_priors,
)

COHORT_SETTING = "cohort"
"""The cohort's own class mix (no re-weighting)."""
PRIOR_SETTINGS: tuple[str, ...] = ("new-patients", "follow-up", "referral")
"""Class-prior presets of literature-priors.md section 10 the metrics are re-weighted to."""
GAIN_METRICS: tuple[str, ...] = (
    "balanced_accuracy_all", "accuracy_all", "balanced_accuracy", "accuracy", "macro_f1")
"""Champion minus best rules. ``*_all``: every patient, an abstention of the rules counting as an error;
the others: only the patients the rules classify, the champion scored on the same patients."""
CEILING_METRICS: tuple[str, ...] = ("macro_auroc", "log_loss", "brier", "ece", "balanced_accuracy")
_ON_RULES_COVERAGE = "{} on rules-covered patients"


@dataclass(frozen=True)
class Cohort:
    """A labelled canonical cohort; ``synthetic`` cohorts come from the generator (Bayes ceiling known)."""

    name: str
    frame: pd.DataFrame
    synthetic: bool
    world: World | None = None
    """The world a synthetic cohort was drawn from, whose exact posterior is its ceiling (None: the literature's)."""


@dataclass
class Evaluation:
    """All methods of one cohort and mode, kept for the plots (probabilities, confusion matrices)."""

    cohort: str
    mode: str
    y: np.ndarray
    methods: list[Method]
    abstentions: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def method(self, kind: Kind) -> Method | None:
        return next((m for m in self.methods if m.kind == kind), None)


@dataclass
class BenchmarkResult:
    """``metrics``: one row per cohort x mode x setting x method x metric (estimate, 95 % CI);
    ``comparisons``: the champion's paired gains over the best rules and gaps to the Bayes ceiling."""

    metrics: pd.DataFrame
    comparisons: pd.DataFrame
    evaluations: list[Evaluation]
    n_boot: int
    seed: int


def evaluate_cohort(cohort: Cohort, mode: str, models: ModeModels | None) -> Evaluation:
    """Every applicable method of one cohort in one mode."""
    frame = frame_for_mode(cohort.frame, mode)
    if frame[LABEL].isna().any():
        raise ValueError(f"{cohort.name}: {int(frame[LABEL].isna().sum())} patients without a diagnosis")
    y = diagnosis_codes(frame[LABEL].astype("object").to_numpy())
    methods = model_methods(frame, models) if models is not None else []
    rule_methods, abstentions = criteria_methods(frame)
    methods += rule_methods
    notes = []
    if cohort.synthetic:
        methods.append(bayes_method(frame, mode, cohort.world))
        shift = world_shift_note(models.champion_origin if models is not None else None, cohort.world)
        notes += [shift] if shift else []
    return Evaluation(cohort.name, mode, y, methods, abstentions, notes)


def _in_setting(evaluation: Evaluation, priors: np.ndarray | None) -> tuple[dict[str, Method], np.ndarray | None]:
    """The methods as seen in a class-prior setting (probabilities shifted to its prior) and the
    importance weights that give the cohort that class mix (None: the cohort as it is)."""
    methods: dict[str, Method] = {}
    shifted: dict[int, Predictions] = {}  # a champion that is also a family stays one object
    for m in evaluation.methods:
        pred = m.predictions
        if priors is not None and pred.proba is not None:
            if id(pred) not in shifted:
                shifted[id(pred)] = Predictions.from_proba(shift_priors(pred.proba, priors))
            pred = shifted[id(pred)]
        methods[m.name] = replace(m, predictions=pred)
    weights = None if priors is None else importance_weights(evaluation.y, priors)
    return methods, weights


def _best_rules(methods: Mapping[str, Method], y: np.ndarray, weights: np.ndarray | None) -> Method | None:
    """The full rule-based classifier with the highest balanced accuracy (abstention = error)."""
    rules = [m for m in methods.values() if m.kind == "rules"]
    return max(rules, key=lambda m: point_estimates(y, m.predictions, weights)["balanced_accuracy_all"], default=None)


Replicates = Mapping[str, Mapping[str, np.ndarray]]
Estimates = Mapping[str, Mapping[str, float]]


def _rows(evaluation: Evaluation, setting: str, methods: Mapping[str, Method], reps: Replicates,
          estimates: Estimates) -> list[dict[str, object]]:
    rows = []
    for name, method in methods.items():
        for metric in METRIC_KEYS:
            low, high = percentile_ci(reps[name][metric])
            rows.append({"cohort": evaluation.cohort, "mode": evaluation.mode, "setting": setting,
                         "method": name, "kind": method.kind, "metric": metric,
                         "estimate": estimates[name][metric], "ci_low": low, "ci_high": high, "n": len(evaluation.y)})
    return rows


def _difference(a: str, b: str, metric: str, reps: Replicates, estimates: Estimates,
                ratio: bool = False) -> tuple[float, float, float]:
    """``a - b`` (or ``a / b``) of a metric, with the percentile CI of the paired replicate differences."""
    op = np.divide if ratio else np.subtract
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = percentile_ci(op(reps[a][metric], reps[b][metric]))
        return float(op(estimates[a][metric], estimates[b][metric])), low, high


def _comparisons(evaluation: Evaluation, setting: str, methods: Mapping[str, Method], best: Method | None,
                 reps: Replicates, estimates: Estimates) -> list[dict[str, object]]:
    champion = next(m for m in methods.values() if m.kind == "champion")
    base = {"cohort": evaluation.cohort, "mode": evaluation.mode, "setting": setting, "champion": champion.name}
    rows = []
    if best is not None:
        for metric in GAIN_METRICS:
            a = champion.name if metric.endswith("_all") else _ON_RULES_COVERAGE.format(champion.name)
            est, low, high = _difference(a, best.name, metric, reps, estimates)
            rows.append({**base, "comparison": "gain over best rules", "reference": best.name, "metric": metric,
                         "estimate": est, "ci_low": low, "ci_high": high})
    bayes = next((m for m in methods.values() if m.kind == "bayes"), None)
    if bayes is not None:
        for metric in CEILING_METRICS:
            est, low, high = _difference(champion.name, bayes.name, metric, reps, estimates)
            rows.append({**base, "comparison": "gap to Bayes ceiling", "reference": bayes.name, "metric": metric,
                         "estimate": est, "ci_low": low, "ci_high": high})
        est, low, high = _difference(champion.name, bayes.name, "log_loss", reps, estimates, ratio=True)
        rows.append({**base, "comparison": "ratio to Bayes ceiling", "reference": bayes.name, "metric": "log_loss",
                     "estimate": est, "ci_low": low, "ci_high": high})
    return rows


def score(evaluation: Evaluation, settings: Mapping[str, np.ndarray | None], n_boot: int,
          seed: int) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Metric rows and comparison rows of one evaluation in every class-prior setting (paired resamples)."""
    metric_rows: list[dict[str, object]] = []
    comparison_rows: list[dict[str, object]] = []
    present = np.bincount(evaluation.y, minlength=len(DIAGNOSES)) > 0
    for setting, priors in settings.items():
        if priors is not None and (priors[~present] > 0).any():
            absent = ", ".join(d for d, p in zip(DIAGNOSES, present, strict=True) if not p)
            evaluation.notes.append(f"Not re-weighted to '{setting}': no patient with {absent} in the cohort.")
            continue
        methods, weights = _in_setting(evaluation, priors)
        best = _best_rules(methods, evaluation.y, weights)
        champion = next((m for m in methods.values() if m.kind == "champion"), None)
        scored = {name: m.predictions for name, m in methods.items()}
        if champion is not None and best is not None:
            restricted = champion.predictions.restricted_to(best.predictions.covered)
            scored[_ON_RULES_COVERAGE.format(champion.name)] = restricted
        reps = bootstrap_metrics(evaluation.y, scored, weights=weights, n_boot=n_boot, seed=seed)
        estimates = {name: point_estimates(evaluation.y, pred, weights) for name, pred in scored.items()}
        metric_rows += _rows(evaluation, setting, methods, reps, estimates)
        if champion is not None:
            comparison_rows += _comparisons(evaluation, setting, methods, best, reps, estimates)
    return metric_rows, comparison_rows


def prior_settings(names: Sequence[str] = PRIOR_SETTINGS) -> dict[str, np.ndarray | None]:
    """The cohort's own mix plus the named presets as probability vectors in ``DIAGNOSES`` order."""
    settings: dict[str, np.ndarray | None] = {COHORT_SETTING: None}
    for name in names:
        preset = CLASS_PRIOR_PRESETS[name]
        settings[name] = np.array([preset[d] for d in DIAGNOSES], dtype=np.float64)
    return settings


def run_benchmark(cohorts: Sequence[Cohort], models: Mapping[str, ModeModels | None], *, n_boot: int = 1000,
                  seed: int = 0, settings: Sequence[str] = PRIOR_SETTINGS,
                  progress: Callable[[str], None] | None = None) -> BenchmarkResult:
    """Evaluate every method on every cohort in every mode given in ``models`` (mode -> models, or None
    to benchmark the criteria and the ceiling alone)."""
    for mode in models:
        check_mode(mode)
    metric_rows: list[dict[str, object]] = []
    comparison_rows: list[dict[str, object]] = []
    evaluations = []
    for cohort in cohorts:
        for mode in (m for m in MODES if m in models):
            if progress is not None:
                progress(f"{cohort.name}, {mode}")
            evaluation = evaluate_cohort(cohort, mode, models[mode])
            rows, comparisons = score(evaluation, prior_settings(settings), n_boot, seed)
            metric_rows += rows
            comparison_rows += comparisons
            evaluations.append(evaluation)
    return BenchmarkResult(pd.DataFrame(metric_rows), pd.DataFrame(comparison_rows), evaluations, n_boot, seed)
