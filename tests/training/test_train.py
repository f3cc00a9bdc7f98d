"""The training use case: reproducible by seed, honest about bad input, champion chosen by the stated rule."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from mmn_ddx.cli.train import train_app
from mmn_ddx.data import DEFAULT_WORLDS
from mmn_ddx.data.contract import LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.data.importer import write_table
from mmn_ddx.training.artifact import conformal
from mmn_ddx.training.artifact.bundle import load_bundle
from mmn_ddx.training.artifact.information import little_information_mask, optional_fields
from mmn_ddx.training.fitting.fitting import TIE_TOLERANCE, choose_champion
from mmn_ddx.training.fitting.models import get_family
from mmn_ddx.training.fitting.refit import LARGE_DATA_GRIDS, POSTERIOR_TARGET_GRIDS
from mmn_ddx.training.fitting.trainer import TrainingDataError, TrainSettings, build_bundle, fit_candidates, train

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
QUICK = TrainSettings(families=("logistic", "xgboost"), quick=True, outer_k=3, inner_k=2, n_boot=50, n_jobs=1)


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return generate_cohort(700, seed=3)


def _probabilities(frame: pd.DataFrame, seed: int) -> np.ndarray:
    settings = TrainSettings(**{**QUICK.__dict__, "seed": seed})
    bundle = build_bundle(fit_candidates(frame, settings), source="synthetic", generator_version="test")
    return bundle.predict_proba(generate_cohort(50, seed=99))


def test_the_same_seed_gives_the_same_probabilities(small: pd.DataFrame) -> None:
    np.testing.assert_array_equal(_probabilities(small, seed=5), _probabilities(small, seed=5))


def test_another_seed_gives_another_model(small: pd.DataFrame) -> None:
    assert not np.allclose(_probabilities(small, seed=5), _probabilities(small, seed=6))


@pytest.mark.slow
def test_parallel_folds_give_the_same_result_as_serial(small: pd.DataFrame) -> None:
    serial = fit_candidates(small, TrainSettings(**{**QUICK.__dict__, "families": ("xgboost",)}))
    parallel = fit_candidates(small, TrainSettings(**{**QUICK.__dict__, "families": ("xgboost",), "n_jobs": 2}))
    np.testing.assert_array_equal(serial.results["xgboost"].nested.oof_raw, parallel.results["xgboost"].nested.oof_raw)


def test_the_evaluation_split_is_held_out_and_stratified(small: pd.DataFrame) -> None:
    candidates = fit_candidates(small, TrainSettings(**{**QUICK.__dict__, "families": ("logistic",)}))
    assert not set(candidates.development) & set(candidates.holdout)
    assert len(candidates.holdout) == pytest.approx(0.2 * len(small), abs=1)
    shares = np.bincount(candidates.y[candidates.holdout], minlength=4) / len(candidates.holdout)
    np.testing.assert_allclose(shares, np.bincount(candidates.y, minlength=4) / len(small), atol=0.02)


def test_a_missing_diagnosis_is_refused_with_the_reason(small: pd.DataFrame) -> None:
    without_madsam = small[small[LABEL] != "MADSAM"]
    with pytest.raises(TrainingDataError, match=r"MADSAM \(0\)"):
        fit_candidates(without_madsam, QUICK)


def _fake(name: str, loss: float) -> SimpleNamespace:
    return SimpleNamespace(family=get_family(name), outer_log_loss=loss)


def test_champion_is_the_lowest_log_loss_and_a_tie_goes_to_the_simpler_family() -> None:
    clear = {"logistic": _fake("logistic", 0.30), "forest": _fake("forest", 0.25), "xgboost": _fake("xgboost", 0.20)}
    assert choose_champion(clear).family.name == "xgboost"  # type: ignore[arg-type]
    tie = {"logistic": _fake("logistic", 0.20 + TIE_TOLERANCE / 2), "xgboost": _fake("xgboost", 0.20)}
    assert choose_champion(tie).family.name == "logistic"  # type: ignore[arg-type]
    beyond = {"logistic": _fake("logistic", 0.20 + 2 * TIE_TOLERANCE), "xgboost": _fake("xgboost", 0.20)}
    assert choose_champion(beyond).family.name == "xgboost"  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cohort_with_a_bad_row(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = generate_cohort(400, seed=8).astype(object)
    frame.loc[4, "mrc_arm_distal_left"] = 7.0  # MRC grades run 0-5
    return write_table(frame, tmp_path_factory.mktemp("cohort") / "cohort.csv")


def _cli() -> typer.Typer:
    """``train_app`` mounted the way ``mmn_ddx.cli`` mounts it: ``app.add_typer(train_app)``."""
    app = typer.Typer()
    app.add_typer(train_app)
    app.command("version")(lambda: None)  # a second command, so "train" stays a sub-command
    return app


def _train(args: list[str]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(_cli(), ["train", *args, *([] if "--tracking-uri" in args else ["--no-track"]), "--quick",
                                       "--families", "xgboost", "--jobs", "1",
                                       *([] if "--shift-worlds" in args else ["--shift-worlds", "0"])])


def test_a_bad_row_fails_the_run_with_the_rejection_report(cohort_with_a_bad_row: Path, tmp_path: Path) -> None:
    result = _train(["--data", str(cohort_with_a_bad_row), "--export-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "mrc_arm_distal_left" in result.output and "--skip-invalid" in result.output
    assert "1 of 400 rows rejected" in result.output
    assert not any(tmp_path.iterdir())  # nothing trained, nothing exported


def test_skip_invalid_trains_on_the_other_rows_and_records_how_many(tmp_path: Path, tracking_uri: str) -> None:
    """The rows left out are counted in the bundle, its card and the MLflow run, not only printed."""
    from mlflow import MlflowClient

    frame = generate_cohort(400, seed=8).astype(object)
    frame.loc[4, "mrc_arm_distal_left"] = 7.0  # MRC grades run 0-5
    frame.loc[9, "age_at_onset_years"] = 250.0  # outside the contract range
    cohort = write_table(frame, tmp_path / "cohort.csv")
    result = _train(["--data", str(cohort), "--skip-invalid", "--export-dir", str(tmp_path / "models"),
                     "--tracking-uri", tracking_uri])
    assert result.exit_code == 0, result.output
    assert "Skipping 2 invalid row(s); training on 398 of 400 rows" in result.output
    bundle = load_bundle(tmp_path / "models" / "mmn-ddx")
    meta = bundle.metadata
    assert meta.n_training == 398
    assert meta.training_data_source == "cohort.csv" and meta.generator_version is None
    assert meta.synthetic_training is None
    assert meta.skipped_rows is not None
    assert (meta.skipped_rows.file, meta.skipped_rows.n_read, meta.skipped_rows.n_valid,
            meta.skipped_rows.n_rejected) == ("cohort.csv", 400, 398, 2)
    line = "trained on 398 of 400 rows of cohort.csv (2 rejected by the contract, left out with --skip-invalid)"
    assert line in bundle.model_card.split("## Training data")[1].split("\n## ")[0]
    client = MlflowClient(tracking_uri)
    run = client.get_run(meta.run_id)  # type: ignore[arg-type]
    assert {k: v for k, v in run.data.params.items() if k.startswith("skipped_rows.")} == {
        "skipped_rows.file": "cohort.csv", "skipped_rows.n_read": "400", "skipped_rows.n_valid": "398",
        "skipped_rows.n_rejected": "2"}
    logged_card = Path(client.download_artifacts(meta.run_id, "model_card.md", str(tmp_path)))  # type: ignore[arg-type]
    assert line in logged_card.read_text(encoding="utf-8")


def test_usage_errors_exit_with_code_2(tmp_path: Path) -> None:
    assert _train(["--export-dir", str(tmp_path)]).exit_code == 2  # neither --data nor --synthetic
    assert _train(["--synthetic", "500", "--mode", "later", "--export-dir", str(tmp_path)]).exit_code == 2
    (tmp_path / "x.csv").write_text("age_at_onset_years,sex,diagnosis\n40,male,MMN\n")
    refit_user_data = _train(["--data", str(tmp_path / "x.csv"), "--refit-synthetic", "5000", "--export-dir",
                              str(tmp_path)])
    assert refit_user_data.exit_code == 2 and "use it with --synthetic" in refit_user_data.output
    targets_alone = _train(["--synthetic", "500", "--posterior-targets", "--export-dir", str(tmp_path)])
    assert targets_alone.exit_code == 2 and "give --refit-synthetic N with it" in targets_alone.output


def test_refit_exports_the_champion_fitted_on_more_patients(small: pd.DataFrame) -> None:
    settings = TrainSettings(**{**QUICK.__dict__, "families": ("xgboost",), "refit_synthetic": 3000})
    result = train(small, settings, export_dir=None, track=False)
    refit = result.candidates.refit
    assert refit is not None and len(refit.frame) == 3000
    assert result.bundle.metadata.n_training == 3000
    assert result.bundle.metadata.params in [dict(p) for p in LARGE_DATA_GRIDS["xgboost"]]
    assert not set(refit.frame["patient_id"]) & set(result.candidates.holdout_frame["patient_id"])
    # the exported model is the refit, scored on the untouched held-out split
    holdout = result.candidates.holdout_frame
    # to float32 rounding: the bundle sums tabulated tree outputs in float64, XGBoost in float32
    np.testing.assert_allclose(result.bundle.predict_proba(holdout), refit.holdout_probs, atol=1e-6)
    card = result.bundle.model_card
    assert "refitted on 3000 fresh synthetic patients" in card
    # the card tells the development fit from the exported refit: parameters, held-out column, cohorts
    assert "the exported model is this family refitted on more patients" in card
    assert "| Held-out (development fit) |" in card
    assert "3000 patients (the exported model's refit cohort)" in card
    assert "Model selection on a separate cohort" in card
    # the sets are calibrated on further fresh patients of the same worlds, none of the fit's or the held-out's
    sets = refit.conformal
    assert sets is not None and len(sets.frame) == 2000  # MIN_VALIDATION: 3000 // CONFORMAL_SHARE is smaller
    assert not set(sets.frame["patient_id"]) & (set(refit.frame["patient_id"]) | set(holdout["patient_id"]))
    np.testing.assert_allclose(result.bundle.predict_proba(sets.frame), sets.probs, atol=1e-6)
    y = sets.frame[LABEL].cat.codes.to_numpy()
    expected = conformal.group_class_thresholds(
        sets.probs, y, little_information_mask(sets.frame, optional_fields(settings.mode)), settings.coverage)
    np.testing.assert_array_equal(result.bundle.qhat, expected)
    assert "2000 fresh synthetic patients of the training worlds, used for nothing else" in result.bundle.model_card


def test_a_small_cohorts_sets_are_calibrated_per_diagnosis_only() -> None:
    """200 patients leave 40 held out: too few per diagnosis and information group, so the sets fall back to one
    threshold per diagnosis (conformal.sets_thresholds), and the card says why."""
    settings = TrainSettings(**{**QUICK.__dict__, "families": ("logistic",)})
    result = train(generate_cohort(200, seed=8), settings, export_dir=None, track=False)
    assert np.shape(result.bundle.qhat) == (4,)
    assert result.bundle.conformal_method.startswith("class-conditional (Mondrian)")
    assert "too few calibration patients to calibrate records with little information apart" in (
        result.bundle.model_card)
    holdout = result.candidates.holdout_frame
    assert len(result.bundle.prediction_set(result.bundle.predict_proba(holdout))) == len(holdout)  # no flags needed


def test_a_refit_on_posterior_targets_says_so_and_uses_its_grid(small: pd.DataFrame) -> None:
    settings = TrainSettings(**{**QUICK.__dict__, "families": ("xgboost",), "refit_synthetic": 1000,
                                "posterior_targets": True})
    result = train(small, settings, export_dir=None, track=False)
    assert result.bundle.metadata.params in [dict(p) for p in POSTERIOR_TARGET_GRIDS["xgboost"]]
    assert "refitted on 1000 fresh synthetic patients with their world's exact posterior as targets" in (
        result.bundle.model_card)


def test_synthetic_training_uses_randomised_worlds_unless_told_otherwise(tmp_path: Path) -> None:
    randomised = _train(["--synthetic", "400", "--seed", "2", "--export-dir", str(tmp_path / "a")])
    assert randomised.exit_code == 0, randomised.output
    bundle = load_bundle(tmp_path / "a" / "mmn-ddx")
    drawn = f"{DEFAULT_WORLDS} worlds drawn from the literature's uncertainty (seed 2)"
    assert bundle.metadata.training_worlds == drawn
    assert f"Generator worlds: {drawn}" in bundle.model_card
    nominal = _train(["--synthetic", "400", "--seed", "2", "--nominal-world", "--export-dir", str(tmp_path / "b")])
    assert nominal.exit_code == 0, nominal.output
    assert load_bundle(tmp_path / "b" / "mmn-ddx").metadata.training_worlds == "the literature world (data/priors.yaml)"
    assert bundle.metadata.training_data_digest != load_bundle(tmp_path / "b" / "mmn-ddx").metadata.training_data_digest


def test_the_refit_draws_from_the_training_worlds(small: pd.DataFrame) -> None:
    from mmn_ddx.data.world import draw_worlds
    from mmn_ddx.training.fitting.refit import REFIT_SEED_OFFSET

    settings = TrainSettings(**{**QUICK.__dict__, "families": ("xgboost",), "refit_synthetic": 2000, "worlds": 3})
    result = train(small, settings, export_dir=None, track=False)
    assert result.candidates.refit is not None
    expected = generate_cohort(2000, seed=settings.seed + REFIT_SEED_OFFSET, world=draw_worlds(3, seed=settings.seed))
    pd.testing.assert_frame_equal(result.candidates.refit.frame, expected)
    assert result.bundle.metadata.training_worlds == "3 worlds drawn from the literature's uncertainty (seed 0)"
