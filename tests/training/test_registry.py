"""Champion promotion: the alias moves only to a model that is better on the same evaluation data, the
comparison is logged, and a worse model is never promoted."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.training.artifact.bundle import load_bundle
from mmn_ddx.training.fitting import registry, tracking
from mmn_ddx.training.fitting.trainer import TrainingResult, TrainSettings, train

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


def test_first_model_is_promoted() -> None:
    decision = registry.decide(0.5, None, None)
    assert decision.promoted and "no champion" in decision.reason


def test_better_model_is_promoted_and_worse_or_equal_is_not() -> None:
    assert registry.decide(0.20, "3", 0.25).promoted
    assert not registry.decide(0.25, "3", 0.20).promoted
    assert not registry.decide(0.20, "3", 0.20).promoted  # a tie is not an improvement


def test_an_unreadable_champion_keeps_its_alias() -> None:
    decision = registry.decide(0.10, "3", None, error="BundleError: format 0")
    assert not decision.promoted and "could not be evaluated" in decision.reason and "format 0" in decision.reason


def test_the_comparison_is_expressed_as_metrics_and_tags() -> None:
    decision = registry.decide(0.20, "3", 0.25)
    assert decision.metrics() == {"comparison_new_log_loss": 0.20, "comparison_champion_log_loss": 0.25,
                                  "comparison_log_loss_gain": pytest.approx(0.05)}
    assert decision.tags() == {"promoted": "true", "promotion_reason": decision.reason, "compared_with_version": "3"}


def _train(n: int, seed: int, export_dir: Path) -> TrainingResult:
    settings = TrainSettings(seed=seed, families=("xgboost",), quick=True, outer_k=3, inner_k=2, n_boot=20, n_jobs=1)
    return train(generate_cohort(n, seed=seed), settings, export_dir=export_dir)


@pytest.mark.slow
def test_alias_moves_only_to_a_better_model(tracking_uri: str, tmp_path: Path) -> None:
    from mlflow import MlflowClient

    models = tmp_path / "models"
    weak = _train(300, seed=1, export_dir=models)
    assert weak.tracked is not None and weak.tracked.promotion.promoted
    assert tracking.champion_version("mmn-ddx") == weak.tracked.version == "1"

    strong = _train(2500, seed=2, export_dir=models)
    assert strong.tracked is not None and strong.tracked.promotion.promoted, strong.tracked.promotion.reason
    assert tracking.champion_version("mmn-ddx") == "2"
    assert load_bundle(models / "mmn-ddx").metadata.version == "2"

    worse = _train(300, seed=3, export_dir=models)
    assert worse.tracked is not None and not worse.tracked.promotion.promoted, worse.tracked.promotion.reason
    assert tracking.champion_version("mmn-ddx") == "2"  # never promote a worse model
    assert not worse.exported_new_model and load_bundle(models / "mmn-ddx").metadata.version == "2"

    client = MlflowClient(tracking_uri)
    run = client.get_run(worse.tracked.run_id)
    assert run.data.tags["promoted"] == "false" and run.data.tags["compared_with_version"] == "2"
    new, old = run.data.metrics["comparison_new_log_loss"], run.data.metrics["comparison_champion_log_loss"]
    assert new >= old and math.isclose(run.data.metrics["comparison_log_loss_gain"], old - new)
    assert client.get_model_version("mmn-ddx", "3").tags["promoted"] == "false"


@pytest.mark.slow
def test_the_comparison_scores_the_champion_on_the_new_evaluation_split(tracking_uri: str, tmp_path: Path) -> None:
    """The logged champion log-loss is the registered champion's, recomputed on this run's held-out rows."""
    first = _train(400, seed=4, export_dir=tmp_path)
    second = _train(400, seed=5, export_dir=tmp_path)
    assert second.tracked is not None
    champion = load_bundle(f"models:/mmn-ddx/{first.tracked.version}")  # type: ignore[union-attr]
    holdout: pd.DataFrame = second.candidates.holdout_frame
    expected = registry.log_loss(champion.predict_proba(holdout), second.candidates.y[second.candidates.holdout])
    assert second.tracked.promotion.champion_log_loss == pytest.approx(expected, rel=1e-12)
