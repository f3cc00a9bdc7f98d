"""What one tracked training leaves in MLflow: an explicit signature, a safe (skops) model that loads
back to the same probabilities, datasets with digests, nested family runs, plots, card and map."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data.contract import FEATURE_FIELDS, LABEL, fields
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.features.modes import fields_for_mode
from mmn_ddx.training.artifact.bundle import load_bundle
from mmn_ddx.training.artifact.pyfunc import PROBABILITY_COLUMNS
from mmn_ddx.training.artifact.store import download_model
from mmn_ddx.training.fitting import tracking
from mmn_ddx.training.fitting.trainer import TrainingResult, TrainSettings, train

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


@pytest.fixture(scope="module")
def tracked(_migrated_mlflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrainingResult]:
    """One quick tracked training (logistic + XGBoost) in a private store, shared by this module's tests."""
    root = tmp_path_factory.mktemp("tracked")
    shutil.copyfile(_migrated_mlflow_db, root / "mlruns.db")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlruns.db'}")
        tracking.reset()
        settings = TrainSettings(families=("logistic", "xgboost"), quick=True, outer_k=3, inner_k=2, n_boot=20,
                                 n_jobs=1)
        yield train(generate_cohort(800, seed=12), settings, export_dir=root / "models")
        tracking.reset()


@pytest.fixture(scope="module")
def client(tracked: TrainingResult):  # type: ignore[no-untyped-def]
    from mlflow import MlflowClient

    return MlflowClient()


def test_the_logged_model_has_the_explicit_signature_and_a_json_input_example(tracked: TrainingResult,
                                                                               tmp_path: Path) -> None:
    signature = tracking.logged_signature(tracked.tracked.model_uri)  # type: ignore[union-attr]
    assert signature is not None
    # no input schema: MLflow would enforce it before the pyfunc checks the record contract (test_model_input.py)
    assert signature.inputs is None and signature.params is not None
    assert [c.name for c in signature.outputs.inputs][1:5] == list(PROBABILITY_COLUMNS)
    # the served model documents its input: every field the mode reads, each value in its JSON type
    local = download_model(tracked.tracked.model_uri, tmp_path).path  # type: ignore[union-attr]
    text = (local / "serving_input_example.json").read_text(encoding="utf-8")
    assert "NaN" not in text  # a null is null, not NaN (not JSON: the HTTP API and the CLI refuse it)
    example = json.loads(text)["dataframe_split"]
    assert example["columns"] == ["patient_id", *fields_for_mode(FEATURE_FIELDS, "at-presentation")]
    json_types = {"float": (int, float), "int": (int,), "bool": (bool,), "category": (str,), "string": (str,)}
    for name, values in zip(example["columns"], zip(*example["data"], strict=True), strict=True):
        kind = fields()[name].type
        assert all(v is None or (isinstance(v, json_types[kind]) and isinstance(v, bool) == (kind == "bool"))
                   for v in values), name
    assert any(type(v) is int for v in example["data"][0])  # counts as integers (JSON: 8, not 8.0)


def test_the_logged_model_loads_back_to_the_same_probabilities(tracked: TrainingResult) -> None:
    import mlflow.pyfunc

    cohort = generate_cohort(40, seed=77)
    expected = tracked.bundle.predict_proba(cohort.drop(columns=[LABEL]))
    uri = tracked.tracked.model_uri  # type: ignore[union-attr]
    np.testing.assert_array_equal(load_bundle(uri).predict_proba(cohort.drop(columns=[LABEL])), expected)
    served = mlflow.pyfunc.load_model(uri).predict(tracking.input_example(cohort, "at-presentation", n=40),
                                                   params={"setting": "balanced"})  # the training population
    explained = tracked.bundle.predict_explain(cohort.drop(columns=[LABEL]))[0]  # what serving returns
    np.testing.assert_array_equal(served[list(PROBABILITY_COLUMNS)].to_numpy(), explained)
    np.testing.assert_allclose(explained, expected, atol=1e-6)


def test_the_pipeline_is_stored_as_skops_with_only_trusted_types(tracked: TrainingResult, tmp_path: Path) -> None:
    import skops.io as sio

    from mmn_ddx.training.artifact.estimators import SKOPS_TRUSTED_TYPES

    local = download_model(tracked.tracked.model_uri, tmp_path).path  # type: ignore[union-attr]
    skops_file = local / "data" / "bundle" / "pipeline.skops"
    assert skops_file.is_file() and not list(local.rglob("*.pkl"))
    assert set(sio.get_untrusted_types(file=skops_file)) <= set(SKOPS_TRUSTED_TYPES)


def test_the_run_records_datasets_with_digests(tracked: TrainingResult, client) -> None:  # type: ignore[no-untyped-def]
    run = client.get_run(tracked.tracked.run_id)  # type: ignore[union-attr]
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"synthetic-training", "synthetic-evaluation"}
    contexts = {name: {t.key: t.value for t in d.tags}["mlflow.data.context"] for name, d in inputs.items()}
    assert contexts == {"synthetic-training": "training", "synthetic-evaluation": "evaluation"}
    assert all(len(d.dataset.digest) == 16 and d.dataset.schema for d in inputs.values())
    assert inputs["synthetic-training"].dataset.digest != inputs["synthetic-evaluation"].dataset.digest


def test_each_family_has_a_nested_run_with_per_fold_metrics(tracked: TrainingResult, client) -> None:  # type: ignore[no-untyped-def]
    parent = tracked.tracked.run_id  # type: ignore[union-attr]
    children = client.search_runs([client.get_run(parent).info.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{parent}'")
    assert sorted(r.data.tags["family"] for r in children) == ["logistic", "xgboost"]
    for child in children:
        history = client.get_metric_history(child.info.run_id, "fold_log_loss")
        assert sorted(m.step for m in history) == [0, 1, 2]
        assert {"outer_log_loss", "outer_log_loss_ci_low", "holdout_log_loss"} <= set(child.data.metrics)


def test_the_run_holds_plots_map_card_and_comparison(tracked: TrainingResult, client) -> None:  # type: ignore[no-untyped-def]
    run_id = tracked.tracked.run_id  # type: ignore[union-attr]
    names = {a.path for a in client.list_artifacts(run_id)} | {a.path for a in client.list_artifacts(run_id, "plots")}
    assert {"feature_finding_map.json", "model_card.md", "champion_comparison.json"} <= names
    assert {f"plots/{p}.png" for p in ("confusion_matrix", "roc_one_vs_rest", "reliability", "shap_summary")} <= names
    run = client.get_run(run_id)
    assert run.data.tags["promoted"] == "true" and run.data.params["champion"] in ("logistic", "xgboost")


def test_artifacts_stay_beside_the_test_store(tracked: TrainingResult, client) -> None:  # type: ignore[no-untyped-def]
    run = client.get_run(tracked.tracked.run_id)  # type: ignore[union-attr]
    assert run.info.artifact_uri.startswith(Path(tracking.default_tracking_uri().removeprefix("sqlite:///")).parent.as_uri())


def test_the_champion_is_registered_with_its_alias(tracked: TrainingResult, client) -> None:  # type: ignore[no-untyped-def]
    version = client.get_model_version_by_alias("mmn-ddx", "champion")
    assert str(version.version) == tracked.tracked.version  # type: ignore[union-attr]
    assert version.tags["training_data_digest"] == tracked.bundle.metadata.training_data_digest


def test_export_directory_is_a_servable_copy(tracked: TrainingResult) -> None:
    exported = load_bundle(tracked.export_path)  # type: ignore[arg-type]
    assert exported.metadata.version == tracked.tracked.version and exported.metadata.alias == "champion"  # type: ignore[union-attr]
    frame = generate_cohort(20, seed=3).drop(columns=[LABEL])
    np.testing.assert_array_equal(exported.predict_proba(frame), tracked.bundle.predict_proba(frame))
    assert isinstance(frame, pd.DataFrame)


def test_the_run_records_the_generator_worlds(tracked: TrainingResult, client) -> None:  # type: ignore[no-untyped-def]
    params = client.get_run(tracked.tracked.run_id).data.params  # type: ignore[union-attr]
    assert params["training_worlds"] == "literature (nominal)"  # this fixture trains on the literature world


def test_a_run_on_a_user_cohort_records_no_synthetic_worlds(tracking_uri: str) -> None:
    """A model trained on the user's cohort alone drew no synthetic patients: the run does not say it did."""
    from mlflow import MlflowClient

    settings = TrainSettings(families=("logistic",), quick=True, outer_k=3, inner_k=2, n_boot=20, n_jobs=1)
    result = train(generate_cohort(300, seed=5), settings, export_dir=None, tracking_uri=tracking_uri,
                   source="my_cohort.csv", generator_version=None)
    params = MlflowClient(tracking_uri).get_run(result.tracked.run_id).data.params  # type: ignore[union-attr]
    assert params["training_worlds"] == "none (no synthetic patients)"
    assert not any(k.startswith("skipped_rows.") for k in params)  # no row was left out: nothing said
