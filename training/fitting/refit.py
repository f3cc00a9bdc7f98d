"""Refit the champion on more synthetic patients: what the log-loss target needs.

Measured (benchmarks/results/training.json, 20 000 test patients, at presentation): the champion
trained on 5 000 patients has a log-loss about 1.5x the Bayes ceiling, for every family and every
setting tried; the gap is estimation error, and it shrinks with more patients and a model that uses its
capped rounds fully (XGBoost, serving-sized at 300 rounds of depth 3, uncalibrated log-loss ratio to the
ceiling: 1.13 at 200 000 patients and learning rate 0.2, still falling at round 300; 1.105 at 200 000 and
0.5, flat from round 250; 1.078 at 400 000 and 0.5, 1.080 at 400 000 and 0.35). Synthetic patients are
free, so ``train --synthetic 5000 --refit-synthetic 800000`` (``make demo``) keeps the nested CV on 5 000
patients (the family choice and the honest performance estimate) and exports the champion refitted on
800 000 fresh ones.

The refit never sees the held-out evaluation split: its hyperparameters (a small large-data grid for
XGBoost, the champion's own otherwise) and its temperature are chosen on a separate fresh validation
cohort, and the OOD flag rate and the registry comparison still use the held-out split of the original
cohort. The conformal thresholds are calibrated on a third fresh cohort of the same worlds
(:data:`CONFORMAL_SHARE` of the refit's size), used for nothing else. Why: the thresholds are quantiles per
diagnosis and information group (:func:`conformal.group_class_thresholds`), eight cells; the held-out split of
5 000 patients leaves ~50 patients in a cell of complete records and ~160 in one of sparse records, and at
such sizes a cell's 90 % threshold moves its coverage by several points. Synthetic patients are free.
"""

from __future__ import annotations

from joblib import Parallel, delayed

from mmn_ddx.data import generate_cohort
from mmn_ddx.features import ClinicalFeatures
from mmn_ddx.training.artifact import calibration
from mmn_ddx.training.artifact.calibration import log_loss
from mmn_ddx.training.fitting.candidates import Candidates, ConformalCalibration, FinalFit, labels
from mmn_ddx.training.fitting.fitting import ProgressFactory, summary
from mmn_ddx.training.fitting.models import Family, Params, describe_params
from mmn_ddx.training.fitting.posterior_targets import generate_with_targets

LARGE_DATA_GRIDS: dict[str, tuple[Params, ...]] = {
    "xgboost": (
        {"n_estimators": 300, "learning_rate": 0.5, "max_depth": 3, "colsample_bytree": 1.0},
        {"n_estimators": 300, "learning_rate": 0.8, "max_depth": 3, "colsample_bytree": 1.0},
    ),
}
"""Two settings, fitted in parallel on the 2 cores, the same serving size as the small-data grid (300
rounds x 4 classes of depth-3 trees: exact SHAP stays under 1 ms per patient). With many patients a
large learning rate is what lets 300 rounds reach the sharp posteriors of this problem (see above), and
column sampling, a regulariser for small cohorts, only costs fit.

Measured for the default champion (100 randomised worlds, seed 0; at presentation; log-loss / the literature
world's exact posterior on 20 000 literature-world patients, temperature chosen on the validation cohort; an
ad-hoc run of 2026-12-07, docs/measurements.md): at 400 000 patients, rate 0.5 with half the columns per
tree (the grid before) 1.112, with all columns 1.105 (rate 0.35 / 0.7: 1.107 / 1.106; 600 rounds: 1.108, the
label noise); at 800 000, all columns, rate 0.5 / 0.8 / 1.0: 1.098 / 1.090 (1.087 with another fit seed) /
1.101; 600 rounds of 0.5: 1.082, at twice the trees that the single-patient serving budget cannot take. The
100 worlds' own exact posterior, the floor for any model of them, scores 1.037 (1.015-1.059) on 3 000
literature-world patients (``benchmarks/ceiling_gap.py --mixture 100``)."""
POSTERIOR_TARGET_GRIDS: dict[str, tuple[Params, ...]] = {
    "xgboost": (
        {"n_estimators": 300, "learning_rate": 0.5, "max_depth": 3},
        {"n_estimators": 600, "learning_rate": 0.5, "max_depth": 3, "colsample_bytree": 1.0},
        {"n_estimators": 1500, "learning_rate": 0.5, "max_depth": 3, "colsample_bytree": 1.0},
    ),
}
"""With posterior targets (``train --posterior-targets``) the label noise that stops drawn labels from
using more rounds is gone: 600 rounds fit better (measured: 1.23 against 1.25 x the ceiling, see
:mod:`training.fitting.posterior_targets`), and every feature in every tree (no column sampling, which
only regularises against that noise): 1.177 against 1.190 at 300 000 patients, 1.195-1.204 against
1.197-1.213 at 100 000 (one reality-world cohort of issue #14 at N = 200, two training draws). Deeper
trees (6: 1.209), smaller ``min_child_weight`` or ``reg_lambda`` and finer bins changed nothing at 100 000.
At 300 000 more rounds do pay (another draw of the same cohort's fitted world, one fit read at every
300 rounds: 1.183 at 600, 1.176 / 1.173 / 1.171 / 1.171 at 900 / 1 200 / 1 500 / 1 800, the validation
log-loss falling with it up to 1 200), hence the 1 500-round setting; the validation cohort chooses, so it
is exported only where it validates better. Still depth 3, so SHAP stays tabulated: five times the trees
of the 300-round setting (on one core, a model fitted on 5 000 patients: 0.14 against 0.05 ms per patient
for the explanation, 2.2 against 0.6 s to build the table when the model loads)."""
REFIT_SEED_OFFSET = 1_000_003
VALIDATION_SEED_OFFSET = 2_000_003
CONFORMAL_SEED_OFFSET = 3_000_003
MIN_VALIDATION = 2000
CONFORMAL_SHARE = 20
"""The conformal calibration cohort is 1 / this of the refit's patients (40 000 for 800 000), at least
:data:`MIN_VALIDATION`."""


def refit_on_synthetic(candidates: Candidates, n_patients: int, *, progress: ProgressFactory | None = None
                       ) -> FinalFit:
    """The champion's family fitted on ``n_patients`` fresh synthetic patients (see the module docstring)."""
    settings, champion = candidates.settings, candidates.champion
    family = champion.family
    grid = LARGE_DATA_GRIDS.get(family.name, (champion.params,))
    world = settings.synthetic_world()
    targets = None
    if settings.posterior_targets:
        grid = POSTERIOR_TARGET_GRIDS.get(family.name, grid)
        targeted = generate_with_targets(n_patients, settings.seed + REFIT_SEED_OFFSET, world, settings.mode,
                                         n_jobs=settings.n_jobs, progress=progress)
        train_frame, targets = targeted.frame, targeted.targets
    else:
        train_frame = generate_cohort(n_patients, seed=settings.seed + REFIT_SEED_OFFSET, world=world)
    validation = generate_cohort(max(MIN_VALIDATION, n_patients // 10), seed=settings.seed + VALIDATION_SEED_OFFSET,
                                 world=world)
    features = ClinicalFeatures(mode=settings.mode).fit(train_frame)
    X, y = features.transform(train_frame), labels(train_frame)
    X_val, y_val = features.transform(validation), labels(validation)
    advance = progress(f"{family.name}: refit on {n_patients} synthetic patients", len(grid)) if progress else None
    jobs = (delayed(_fit_and_validate)(family, params, X, y, X_val, y_val, settings.seed, targets) for params in grid)
    fits = []
    for fit in Parallel(n_jobs=min(settings.n_jobs, len(grid)), return_as="generator")(jobs):
        fits.append(fit)
        if advance:
            advance(1)
    params, estimator, cal, _losses = min(fits, key=lambda f: f[3])
    holdout_probs = cal.probabilities(family.raw_output(estimator, candidates.X[candidates.holdout]))
    holdout_metrics = summary(candidates.y[candidates.holdout], holdout_probs)
    conformal = generate_cohort(max(MIN_VALIDATION, n_patients // CONFORMAL_SHARE),
                                seed=settings.seed + CONFORMAL_SEED_OFFSET, world=world)
    conformal_probs = cal.probabilities(family.raw_output(estimator, features.transform(conformal)))
    targeted_words = " with their world's exact posterior as targets" if targets is not None else ""
    note = (f"The exported model is the {family.name} champion refitted on {n_patients} fresh synthetic patients"
            f"{targeted_words} ({describe_params(params)}, chosen with its temperature on {len(validation)} further "
            "fresh patients); "
            f"the outer-CV figures describe the procedure on the original {len(candidates.frame)} patients, the "
            "table's held-out column the development fit and the line below the table the exported model; its "
            f"prediction sets are calibrated on {len(conformal)} more fresh patients.")
    return FinalFit(frame=train_frame, X=X, estimator=estimator, calibration=cal, params=params,
                    holdout_probs=holdout_probs, holdout_metrics=holdout_metrics, note=note,
                    conformal=ConformalCalibration(conformal, conformal_probs))


def _fit_and_validate(family: Family, params: Params, X, y, X_val, y_val, seed: int, targets=None):
    """Fit one parameter set, fit its calibrator on the validation cohort, return its validation log-loss."""
    estimator = family.fit(params, X, y, seed, targets)
    raw = family.raw_output(estimator, X_val)
    cal = calibration.fit(raw, y_val, family.output)
    return params, estimator, cal, log_loss(cal.probabilities(raw), y_val)
