"""The exported bundle: loads with no tracking store, serves probabilities that its explanation adds up
to exactly, and refuses anything it cannot trust."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax

from mmn_ddx.data.contract import DIAGNOSES, LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.training.artifact.bundle import BundleError, ModelBundle, load_bundle
from mmn_ddx.training.artifact.information import little_information_mask, optional_fields
from mmn_ddx.training.artifact.manifest import write_manifest


@pytest.fixture(scope="module")
def bundle(quick_bundle_dir: Path) -> ModelBundle:
    return load_bundle(quick_bundle_dir)


@pytest.fixture(scope="module")
def unseen() -> pd.DataFrame:
    return generate_cohort(400, seed=123).drop(columns=[LABEL])


def test_exported_directory_is_an_mlflow_model_with_the_bundle_as_data(quick_bundle_dir: Path) -> None:
    assert (quick_bundle_dir / "MLmodel").is_file()
    assert "loader_module: mmn_ddx.training.artifact.pyfunc" in (quick_bundle_dir / "MLmodel").read_text()
    assert (quick_bundle_dir / "data" / "bundle" / "pipeline.skops").is_file()


def test_probabilities_are_a_distribution_over_the_four_diagnoses(bundle: ModelBundle, unseen: pd.DataFrame) -> None:
    probs = bundle.predict_proba(unseen)
    assert probs.shape == (len(unseen), len(DIAGNOSES))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    assert (probs > 0).all()


def test_records_fast_path_gives_the_frame_probabilities(bundle: ModelBundle, unseen: pd.DataFrame) -> None:
    frame = unseen.head(5)
    records = [
        {k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")
    ]
    np.testing.assert_allclose(bundle.predict_proba(records), bundle.predict_proba(frame), atol=1e-12)


def test_shap_values_add_up_to_the_served_probabilities(bundle: ModelBundle, unseen: pd.DataFrame) -> None:
    attribution = bundle.explain(unseen)
    assert attribution.scale == "log-odds"
    assert attribution.values.shape == (len(unseen), len(bundle.feature_names), len(DIAGNOSES))
    logits = attribution.base_values + attribution.values.sum(axis=1)
    np.testing.assert_allclose(softmax(logits, axis=1), bundle.predict_proba(unseen), atol=1e-6)


def test_explanation_reflects_the_findings_not_noise(bundle: ModelBundle) -> None:
    """Positive anti-GM1 IgM is far more frequent in MMN than in the other three (generator priors): in
    antibody-positive patients the anti-GM1 features must push towards MMN relative to the other classes."""
    cohort = generate_cohort(1500, seed=7)
    positive = cohort[cohort["anti_gm1_igm_ratio"].fillna(0) > 1]
    attribution = bundle.explain(positive)
    gm1 = [j for j, name in enumerate(bundle.feature_names) if name.startswith("anti_gm1")]
    per_class = attribution.values[:, gm1, :].sum(axis=1)
    towards_mmn = per_class[:, DIAGNOSES.index("MMN")] - per_class.mean(axis=1)
    assert len(positive) > 50 and (towards_mmn > 0).mean() > 0.9


def test_prediction_sets_contain_the_top_class_first(bundle: ModelBundle, unseen: pd.DataFrame) -> None:
    probs = bundle.predict_proba(unseen)
    sets = bundle.prediction_set(probs, little_information_mask(unseen, optional_fields(bundle.mode)))
    assert len(sets) == len(unseen)
    assert all(s[0] == DIAGNOSES[int(k)] for s, k in zip(sets, probs.argmax(axis=1), strict=True))
    assert bundle.coverage == pytest.approx(0.90)


def test_metadata_traces_the_model(bundle: ModelBundle, quick_bundle_dir: Path) -> None:
    meta = bundle.metadata
    assert meta.name == "mmn-ddx" and meta.mode == "at-presentation"
    assert len(meta.training_data_digest) == 16 and meta.generator_version
    assert meta.uri == str(quick_bundle_dir.resolve())
    assert "not for clinical use" in bundle.model_card.lower()


def test_bare_bundle_directory_loads_too(quick_bundle_dir: Path, unseen: pd.DataFrame) -> None:
    bare = load_bundle(quick_bundle_dir / "data" / "bundle")
    np.testing.assert_array_equal(bare.predict_proba(unseen), load_bundle(quick_bundle_dir).predict_proba(unseen))


def test_missing_or_foreign_directories_are_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no such directory"):
        load_bundle(tmp_path / "nothing-here")
    with pytest.raises(BundleError, match="neither a model bundle"):
        load_bundle(tmp_path)


def test_untrusted_types_in_the_pipeline_are_refused(quick_bundle_dir: Path, tmp_path: Path) -> None:
    """A skops file naming a type outside the trusted list is rejected before anything is built."""
    import skops.io as sio

    copy = tmp_path / "bundle"
    shutil.copytree(quick_bundle_dir / "data" / "bundle", copy)
    sio.dump({"payload": pd.Timestamp("2020-01-01")}, copy / "pipeline.skops")
    write_manifest(copy)  # re-sealed: the type check must hold even when the manifest agrees
    with pytest.raises(BundleError, match="untrusted types"):
        load_bundle(copy)


def test_bundle_json_records_calibration_and_conformal_threshold(quick_bundle_dir: Path) -> None:
    document = json.loads((quick_bundle_dir / "data" / "bundle" / "bundle.json").read_text())
    assert document["calibration"]["kind"] == "temperature" and document["calibration"]["value"] > 0
    thresholds = document["conformal"]["qhat"]  # Mondrian: per information group, one threshold per diagnosis
    assert len(thresholds) == 2 and all(len(row) == len(document["classes"]) for row in thresholds)
    assert all(0 <= q <= 1 for row in thresholds for q in row)
    assert document["conformal"]["method"].startswith("class- and information-conditional (Mondrian)")
    assert document["explanation_scale"] == "log-odds"


def test_a_bundle_saved_before_skipped_rows_were_recorded_still_loads(quick_bundle_dir: Path, tmp_path: Path) -> None:
    """``metadata.skipped_rows`` came later: a bundle.json without it loads, with None (no rows left out said)."""
    copy = tmp_path / "bundle"
    shutil.copytree(quick_bundle_dir / "data" / "bundle", copy)
    document = json.loads((copy / "bundle.json").read_text())
    del document["metadata"]["skipped_rows"]
    (copy / "bundle.json").write_text(json.dumps(document))
    write_manifest(copy)
    bundle = load_bundle(copy)
    assert bundle.metadata.skipped_rows is None and "rejected by the contract" not in bundle.model_card


@pytest.mark.parametrize("name", ["logistic", "forest", "xgboost"])
def test_every_family_round_trips_through_skops_with_the_trusted_list(name: str, tmp_path: Path) -> None:
    """Log, load, same probabilities: the safe format for each family, with no type outside the list."""
    import skops.io as sio

    from mmn_ddx.training.artifact.bundle import _load_pipeline
    from mmn_ddx.training.fitting.models import assemble, get_family

    cohort = generate_cohort(500, seed=21)
    family = get_family(name)
    features = assemble("at-presentation", None, cohort).steps[0][1]
    X, y = features.transform(cohort), cohort[LABEL].cat.codes.to_numpy()
    pipeline = assemble("at-presentation", family.fit(family.quick_grid[0], X, y, seed=0), cohort)
    sio.dump(pipeline, tmp_path / "pipeline.skops")
    loaded = _load_pipeline(tmp_path / "pipeline.skops")
    frame = cohort.drop(columns=[LABEL])
    np.testing.assert_array_equal(loaded.predict_proba(frame), pipeline.predict_proba(frame))
