"""From fitted candidates to a bundle: pipeline, calibration, conformal threshold, OOD reference, card (with
the shifted-world check of a synthetic training), and its export as an MLflow model directory."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import pandas as pd

from mmn_ddx.data import DIAGNOSES, LABEL, LITERATURE_WORLD, SkippedRows, generate_cohort
from mmn_ddx.training.artifact import conformal
from mmn_ddx.training.artifact.bundle import ModelBundle
from mmn_ddx.training.artifact.fingerprints import RecordFingerprints
from mmn_ddx.training.artifact.information import little_information_mask, optional_fields
from mmn_ddx.training.artifact.metadata import BundleMetadata, TrainingWorld, code_version, data_digest, intended_use
from mmn_ddx.training.artifact.reference import fit_reference
from mmn_ddx.training.evaluation.model_card import CardFacts, FamilySummary, render
from mmn_ddx.training.evaluation.shifted_worlds import shift_check, shift_seed
from mmn_ddx.training.fitting.candidates import Candidates, labels
from mmn_ddx.training.fitting.fitting import TIE_TOLERANCE, FamilyResult
from mmn_ddx.training.fitting.models import Family, assemble
from mmn_ddx.training.fitting.outcome_tables import fit_outcome_tables


def build_bundle(candidates: Candidates, *, source: str, generator_version: str | None,
                 skipped: SkippedRows | None = None) -> ModelBundle:
    """The exported model as a bundle: pipeline, calibration, conformal threshold, OOD reference, card;
    ``skipped``: the user cohort's rows ``--skip-invalid`` left out, recorded in the metadata and the card."""
    settings, champion, final = candidates.settings, candidates.champion, candidates.final
    pipeline = assemble(settings.mode, final.estimator, final.frame)
    y_holdout = candidates.y[candidates.holdout]
    little_holdout = little_information_mask(candidates.holdout_frame, optional_fields(settings.mode))
    if final.conformal is None:  # the sets are calibrated on the held-out split
        set_probs, set_y, little = final.holdout_probs, y_holdout, little_holdout
    else:  # on a synthetic refit's own fresh patients (training/fitting/refit.py says why)
        set_probs, set_y = final.conformal.probs, labels(final.conformal.frame)
        little = little_information_mask(final.conformal.frame, optional_fields(settings.mode))
    qhat = conformal.sets_thresholds(set_probs, set_y, little, settings.coverage)
    reference = fit_reference(final.frame, final.X, candidates.feature_names, seed=settings.seed,
                              held_out_features=candidates.X[candidates.holdout])
    trained_on = candidates.frame if candidates.refit is None else final.frame
    # the next test's P(result | diagnosis) from the worlds the model learnt (outcome_tables.py says why)
    outcomes = fit_outcome_tables(world=settings.synthetic_world() if generator_version else None)
    metadata = BundleMetadata(
        name=settings.model_name, mode=settings.mode, family=champion.name, params=final.params,
        training_data_digest=data_digest(trained_on), training_data_source=source, n_training=len(trained_on),
        skipped_rows=skipped,
        intended_use=intended_use(source),
        training_prior=_training_prior(final.frame),
        generator_version=generator_version, code_version=code_version(), seed=settings.seed,
        training_worlds=settings.worlds_description if generator_version else None,
        training_world=TrainingWorld.of(settings.base_world) if generator_version else None,
        next_test_world=settings.worlds_description if generator_version else LITERATURE_WORLD,
        metrics=_metrics(champion) | {f"holdout_{k}": v for k, v in final.holdout_metrics.items()},
    )
    # a user cohort's records, so benchmark can refuse them as test patients (fingerprints.py says why)
    fingerprints = None if metadata.synthetic_training == "only" else RecordFingerprints.of(trained_on)
    facts = CardFacts(
        metadata=metadata, champion=champion.name, families=[_family_summary(r) for r in candidates.results.values()],
        outer_k=settings.outer_k, inner_k=settings.inner_k, n_development=len(candidates.development),
        n_holdout=len(candidates.holdout), coverage=settings.coverage,
        conformal_coverage_holdout=conformal.empirical_coverage(final.holdout_probs, y_holdout, qhat, little_holdout),
        n_conformal_calibration=None if final.conformal is None else len(set_y),
        sets_per_information_group=qhat.ndim == 2,
        always_in_sets=tuple(f"{DIAGNOSES[k]}" + (f" ({group} records)" if group else "")
                             for group, k in conformal.always_in_sets(qhat)),
        min_calibration_patients=conformal.min_patients(settings.coverage),
        tie_tolerance=TIE_TOLERANCE, notes=(final.note,) if final.note else (),
        final_holdout=final.holdout_metrics if candidates.refit is not None else None,
        fingerprinted_records=None if fingerprints is None else len(fingerprints),
    )
    bundle = ModelBundle(pipeline, champion.name, final.calibration, qhat, settings.coverage, reference, metadata,
                         render(facts), extra={"n_conformal_calibration": len(set_y),
                                               "n_conformal_calibration_little_information": int(little.sum())},
                         outcomes=outcomes, fingerprints=fingerprints)
    if generator_version and settings.shift_worlds:
        check = shift_check(bundle.predict_proba, qhat, settings.mode, base=settings.base_world,
                            n_worlds=settings.shift_worlds, n_patients=settings.shift_patients,
                            seed=shift_seed(settings.seed))
        figures = {f"shift_{k}": float(v) for k, v in check.summary.items() if k != "targets"}
        bundle.metadata = metadata.model_copy(update={"metrics": {**metadata.metrics, **figures}})
        bundle.model_card = render(replace(facts, metadata=bundle.metadata, shifted_worlds=check))
    return bundle


def _training_prior(fitted_on: pd.DataFrame) -> dict[str, float]:
    """The class mix of the fit (its sample weights) on the patients the exported estimator saw."""
    y = pd.Categorical(fitted_on[LABEL].astype(object), categories=list(DIAGNOSES)).codes
    return dict(zip(DIAGNOSES, Family.class_prior(y, len(DIAGNOSES)).tolist(), strict=True))


def _metrics(result: FamilyResult) -> dict[str, float]:
    out = {f"outer_{k}": v for k, v in result.outer_metrics.items()}
    out |= {f"outer_{k}_ci_low": lo for k, (lo, _) in result.outer_ci.items()}
    out |= {f"outer_{k}_ci_high": hi for k, (_, hi) in result.outer_ci.items()}
    out |= {f"holdout_{k}": v for k, v in result.holdout_metrics.items()}
    return out


def _family_summary(result: FamilyResult) -> FamilySummary:
    cal = result.calibration
    text = ("none" if cal.is_identity else
            f"temperature T = {cal.value:.3f}" if cal.kind == "temperature" else f"shrinkage eps = {cal.value:.4f}")
    return FamilySummary(result.name, result.params, text, result.outer_metrics, result.outer_ci,
                         result.holdout_metrics)


def example_patients() -> pd.DataFrame:
    """The input example stored with a model: generated patients, never rows of the user's cohort
    (a model directory or tracking store must not carry patient data)."""
    return generate_cohort(2, seed=0)


def export(bundle: ModelBundle, export_dir: str | Path, *, example: pd.DataFrame | None = None) -> Path:
    """Write ``<export_dir>/<name>/`` as an MLflow pyfunc model, replacing an older export atomically."""
    from mmn_ddx.training.fitting import (
        tracking,  # the MLflow adapter; import here keeps ``train_bundle`` callers light
    )

    target = Path(export_dir) / bundle.metadata.name
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=target.parent) as tmp:
        bundle_dir = bundle.save(Path(tmp) / "bundle")
        staged = tracking.save_pyfunc(bundle_dir, Path(tmp) / "model", example=example)
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    return target
