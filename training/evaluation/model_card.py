"""The model card (Markdown), in the spirit of TRIPOD+AI (Collins et al., BMJ 2024;385:e078378).

Sections follow the items a reader needs to judge a prediction model: intended use, the data it learnt
from (here synthetic, with the generator version and the dataset digest), how it was developed, how
well it performs with confidence intervals, how it compares with the published criteria and with the
best any model could do on this data, its limitations, and the plain not-for-clinical-use statement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mmn_ddx.training.artifact.clinical_setting import DEFAULT_SETTING, SETTINGS, pre_test_probabilities
from mmn_ddx.training.artifact.metadata import (
    BundleMetadata,
    TrainingWorld,
    intended_use,
    training_data_words,
    user_cohort,
)
from mmn_ddx.training.evaluation.shifted_worlds import ShiftCheck, card_lines


def not_for_clinical_use(source: str) -> str:
    """The card's first and last words, true of what the model was trained on (``training_data_source``)."""
    return (f"**Not for clinical use.** This model was trained on {training_data_words(source)}. It has not been "
            "validated on real patients; its probabilities, prediction sets and explanations must not inform "
            "the care of any patient until it has been.")

_METRIC_LABELS = {
    "log_loss": "Log-loss (lower is better)",
    "macro_auroc": "Macro AUROC (one-vs-rest)",
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "brier": "Brier score",
    "ece": "Expected calibration error (its bootstrap interval sits above the estimate: resampling miscalibrates)",
}


@dataclass(frozen=True)
class FamilySummary:
    name: str
    params: Mapping[str, Any]
    calibration: str
    outer: Mapping[str, float]
    outer_ci: Mapping[str, tuple[float, float]]
    holdout: Mapping[str, float]


@dataclass(frozen=True)
class CardFacts:
    """Everything the card states, gathered by the training use case."""

    metadata: BundleMetadata
    champion: str
    families: Sequence[FamilySummary]
    outer_k: int
    inner_k: int
    n_development: int
    n_holdout: int
    coverage: float
    conformal_coverage_holdout: float | None
    tie_tolerance: float
    n_conformal_calibration: int | None = None
    """Fresh synthetic patients the prediction sets were calibrated on; None: the held-out split."""
    sets_per_information_group: bool = True
    """The sets' thresholds are per diagnosis and information group; False: per diagnosis only (too few
    calibration patients in some cell, :func:`conformal.sets_thresholds`)."""
    always_in_sets: tuple[str, ...] = ()
    """Diagnoses (with their information group) in every prediction set: too few calibration patients of them."""
    min_calibration_patients: int = 0
    """The fewest calibration patients of a diagnosis that can leave it out of a set at the coverage."""
    benchmark: Mapping[str, Any] | None = None
    """Criteria and Bayes-ceiling comparison from the benchmark, when available."""
    notes: Sequence[str] = field(default_factory=tuple)
    final_holdout: Mapping[str, float] | None = None
    """Held-out metrics of the exported model when it is a refit on more patients (else the champion's)."""
    shifted_worlds: ShiftCheck | None = None
    """The exported model in worlds it was not trained on (synthetic training only)."""
    fingerprinted_records: int | None = None
    """Distinct training records whose fingerprints the bundle stores (a user cohort); None: none stored."""


def fingerprint_line(n_records: int) -> str:
    """What the bundle's record fingerprints are, what they allow and what they reveal
    (:mod:`training.artifact.fingerprints`)."""
    return (f"- Record fingerprints: the bundle stores a 64-bit keyed hash of each of the {n_records} distinct "
            "training records' findings (patient_id and diagnosis left out), so `mmn-ddx benchmark` refuses to "
            "score this model on its own training patients. No value can be read from them, but whoever holds a "
            "patient's record (or can guess a sparse one) can test whether it was a training record: share the "
            "bundle only where it may be known who was in the cohort.")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.3f}"


def _performance_table(facts: CardFacts) -> list[str]:
    held_out = "Held-out" if facts.final_holdout is None else "Held-out (development fit)"
    rows = [f"| Family | Metric | Outer CV (95 % CI) | {held_out} |", "|---|---|---|---|"]
    for family in facts.families:
        mark = " (champion)" if family.name == facts.champion else ""
        for key, label in _METRIC_LABELS.items():
            lo, hi = family.outer_ci.get(key, (float("nan"), float("nan")))
            rows.append(f"| {family.name}{mark} | {label} | {_fmt(family.outer.get(key))} "
                        f"({_fmt(lo)} to {_fmt(hi)}) | {_fmt(family.holdout.get(key))} |")
    return rows


def _comparison(facts: CardFacts) -> list[str]:
    if not facts.benchmark:
        return ["The comparison with the EFNS/PNS 2010, EAN/PNS 2021 and Gold Coast criteria, the rule-based "
                "cascade and the Bayes-optimal ceiling is in the benchmark report (`mmn-ddx benchmark`)."]
    return [f"- {key}: {value}" for key, value in facts.benchmark.items()]


def _world_line(world: TrainingWorld) -> str:
    provenance = "; ".join(f"{k}: {v}" for k, v in world.provenance.items() if k != "digest")
    return (f"- World: {world.source}, digest `{world.digest}`" + (f" (provenance: {provenance})" if provenance else "")
            + "; a tracked training logs the world file with its MLflow run.")


def _next_test_lines(meta: BundleMetadata) -> list[str]:
    """Where the next test's P(result | diagnosis) came from (training.fitting.outcome_tables): the worlds the
    model learnt, never a user cohort."""
    if meta.next_test_world is None:
        return []
    source = (f"the synthetic training patients' generator: {meta.next_test_world}" if meta.generator_version
              else meta.next_test_world)
    cohort = user_cohort(meta.training_data_source)
    refused = (f", not from the user cohort ({cohort}), whose tests are neither all done nor recorded regardless of "
               "their results") if cohort else ""
    fitted = (" (`mmn-ddx world fit` and `train --synthetic N --world FILE` give a model and tables of a world "
              "fitted to the cohort)") if cohort and not meta.generator_version else ""
    return [f"- Next test: the test not yet done with the largest expected information gain, by Bayes' rule with "
            f"the probability of each of its results given each diagnosis taken from {source}{refused}{fitted}."]


SETS_ON_SYNTHETIC_PATIENTS = (
    "Prediction sets are calibrated on synthetic patients, and their coverage is measured there only (Performance; "
    "Shifted worlds, when measured); real records differ from the training worlds more than redrawn worlds do, and "
    "the sets have not been shown to keep their coverage on real patients (the README's development check on "
    "published cases): read a set as a statement about the synthetic worlds, not a clinical guarantee.")


def render(facts: CardFacts) -> str:
    """The whole card as Markdown."""
    meta = facts.metadata
    champion = next(f for f in facts.families if f.name == facts.champion)
    data_line = (f"synthetic patients from the mmn-ddx generator version {meta.generator_version}"
                 if meta.generator_version else f"a user cohort ({meta.training_data_source})")
    if meta.synthetic_training == "partly":
        data_line += (f", together with a user cohort ({user_cohort(meta.training_data_source)}), each patient "
                      "weighted alike")
    lines = [
        f"# Model card: {meta.name}",
        "",
        not_for_clinical_use(meta.training_data_source),
        "",
        "## Model details",
        f"- Name: `{meta.name}`; feature mode: `{meta.mode}` "
        + ("(treatment responses excluded: usable at the first work-up)" if meta.mode == "at-presentation"
           else "(uses the response to IVIg / corticosteroids)"),
        f"- Champion family: **{facts.champion}**"
        + (f" with {_params(champion.params)}; calibration: {champion.calibration}" if facts.final_holdout is None
           else f", chosen with {_params(champion.params)} (calibration: {champion.calibration}); the exported model "
                "is this family refitted on more patients, with its own parameters and temperature (Limitations)"),
        f"- Code version `{meta.code_version}`, record schema version {meta.schema_version}, trained {meta.trained_at}"
        + (f", seed {meta.seed}" if meta.seed is not None else ""),
        "- Outputs: calibrated probabilities of MMN, MND, CIDP and MADSAM; a split-conformal prediction set at "
        f"{facts.coverage:.0%} coverage; exact additive SHAP explanations; out-of-distribution warnings.",
        *_next_test_lines(meta),
        "",
        "## Intended use",
        intended_use(meta.training_data_source),
        "",
        *clinical_setting_section(meta),
        "",
        "## Training data",
        f"- Source: {data_line}; dataset digest `{meta.training_data_digest}`; {meta.n_training} patients"
        + (" in total." if facts.final_holdout is None else " (the exported model's refit cohort)."),
        *([f"- User cohort: trained on {meta.skipped_rows.words}."] if meta.skipped_rows else []),
        *([f"- Generator worlds: {meta.training_worlds} (a drawn world has every parameter drawn within its "
           "stated uncertainty, issue #13; each patient comes from one world)."] if meta.training_worlds else []),
        *([_world_line(meta.training_world)] if meta.training_world else []),
        *([fingerprint_line(facts.fingerprinted_records)] if facts.fingerprinted_records is not None else []),
        ("- Model selection on a separate cohort: development" if facts.final_holdout is not None else "- Development")
        + f" split {facts.n_development} patients (nested cross-validation), held-out evaluation split "
        f"{facts.n_holdout} patients (stratified), never used for fitting.",
        "- Nulls mean 'not examined / not tested' and are kept as information, never imputed as normal.",
        "",
        "## Development",
        f"- Candidate families: {', '.join(f.name for f in facts.families)}; stratified nested cross-validation "
        f"({facts.outer_k} outer x {facts.inner_k} inner folds), hyperparameters searched in the inner folds.",
        "- Class imbalance: balanced class weights (the model's probabilities are for equal prevalences of the four "
        "diagnoses: the training prior recorded in the bundle; served probabilities are moved to a clinical setting).",
        "- Calibration (temperature scaling, or shrinkage towards uniform for the forest) kept only where it "
        "lowers the cross-fitted out-of-fold log-loss.",
        f"- Champion: lowest outer-CV multiclass log-loss; differences below {facts.tie_tolerance} nats are ties, "
        "won by the simpler family (logistic < forest < XGBoost).",
        "",
        "## Performance",
        *_performance_table(facts),
        "",
    ]
    if facts.final_holdout is not None:
        lines += [
            "Exported model (refit on more patients, see Limitations), on the same held-out split: "
            + ", ".join(
                f"{_METRIC_LABELS[k].split(' (')[0].lower()} {_fmt(v)}"
                for k, v in facts.final_holdout.items()
                if k in _METRIC_LABELS
            )
            + ".",
            "",
        ]
    if facts.conformal_coverage_holdout is not None:
        where = ("the held-out split" if facts.n_conformal_calibration is None else
                 f"{facts.n_conformal_calibration} fresh synthetic patients of the training worlds, used for nothing "
                 "else")
        if facts.sets_per_information_group:
            per = ("one threshold per diagnosis and per information group (records the little-information warning "
                   f"flags, and the others; target coverage {facts.coverage:.0%} within each diagnosis among records "
                   "with as much or as little information, whatever the diagnosis' prevalence)")
        else:
            per = (f"one threshold per diagnosis (target coverage {facts.coverage:.0%} within each diagnosis, whatever "
                   "its prevalence; too few calibration patients to calibrate records with little information apart)")
        same = " (the patients they were calibrated on: a check of the arithmetic, not of coverage)" if (
            facts.n_conformal_calibration is None) else ""
        lines += [f"Prediction sets are calibrated on {where}, {per}; on the held-out split{same} they cover "
                  f"{facts.conformal_coverage_holdout:.3f}."]
        if facts.always_in_sets:
            lines += [f"**Uninformative for {', '.join(facts.always_in_sets)}:** in every prediction set, since fewer "
                      f"than {facts.min_calibration_patients} calibration patients of it were available at "
                      f"{facts.coverage:.0%} coverage (valid, but it says nothing about that diagnosis); a larger "
                      "cohort calibrates it."]
        lines += [""]
    lines += ["## Comparison with the criteria and the Bayes ceiling", *_comparison(facts), "",
              "## Shifted worlds", *card_lines(facts.shifted_worlds, facts.coverage), "",
              "## Limitations",
              *(["- Synthetic training data: the generator encodes published frequencies and their dependencies as "
                 "far as the literature reports them; real cohorts differ (recording habits, referral patterns, "
                 "rarer phenotypes, misdiagnoses in the reference standard)."] if meta.generator_version else []),
              *([f"- Training cohort ({user}): the model learns its recording habits, referral pattern and "
                 "reference-standard errors as well as its patients' findings; another clinic's records may differ."]
                if (user := user_cohort(meta.training_data_source)) else []),
              *([f"- {SETS_ON_SYNTHETIC_PATIENTS}"] if meta.generator_version else []),
              "- Four diagnoses only: other causes of asymmetric weakness (e.g. vasculitic neuropathy, "
              "hereditary neuropathy with liability to pressure palsies, radiculopathy) are outside the model.",
              "- The clinical settings' pre-test probabilities are estimates (literature-priors section 10), and "
              "Bayes' rule assumes the findings of each diagnosis are the same in every setting (label shift only).",
              "- Out-of-distribution warnings detect records unlike the training data; they cannot detect a "
              "record that is typical but wrong.",
              *[f"- {note}" for note in facts.notes],
              "", "## Ethical considerations and use", not_for_clinical_use(meta.training_data_source), ""]
    return "\n".join(lines)


def clinical_setting_section(meta: BundleMetadata) -> list[str]:
    """The settings a prediction can be asked for, the default, and what the adjustment does and does not do."""
    def mix(prior: Mapping[str, float]) -> str:
        return ", ".join(f"{d} {p:.0%}" for d, p in prior.items())

    trained = mix(meta.training_prior) if meta.training_prior else "not recorded (retrain to serve a setting)"
    return [
        "## Clinical setting",
        f"- Probabilities are given for an intended-use population (`--setting`, `?setting=`, the page's selector, "
        f"the pyfunc's `setting` parameter): {', '.join(f'`{s}`' for s in SETTINGS)}. Default: **{DEFAULT_SETTING}** "
        f"({mix(pre_test_probabilities(DEFAULT_SETTING))}), the population the README names: a neuromuscular "
        "referral clinic seeing asymmetric, motor-predominant or LMN-predominant weakness. Name your clinic's "
        "setting to get its pre-test probabilities; `balanced` gives the model's own probabilities.",
        f"- Training prior: {trained}. A setting re-weights each diagnosis by pre-test / training prior and "
        "renormalises (Bayes' rule); on the log-odds scale this moves only the base term of the explanation, the "
        "findings' SHAP contributions are unchanged.",
        "- Prediction sets decide membership on the training population's probabilities, where the per-diagnosis "
        "(and per information group) conformal thresholds were calibrated (each diagnosis' coverage does not "
        "depend on the setting's mix); "
        "they are listed in the setting's order, its most probable diagnosis always in and first.",
    ]


def _params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"`{k}={v}`" for k, v in sorted(params.items())) or "default parameters"
