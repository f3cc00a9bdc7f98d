"""``mmn-ddx train --world FILE`` (issue #14): the synthetic patients come from the world file, and the
bundle, the model card, MLflow, ``GET /v1/model`` and every prediction's audit block name that world."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mmn_ddx.cli.train import train_app
from mmn_ddx.data import LABEL, World, draw_world, draw_worlds, generate_cohort, load_world, write_table
from mmn_ddx.training.artifact.bundle import ModelBundle, load_bundle
from mmn_ddx.training.artifact.metadata import data_digest
from mmn_ddx.training.artifact.outcomes import OutcomeTables
from mmn_ddx.training.fitting import tracking
from mmn_ddx.training.fitting.outcome_tables import fit_outcome_tables

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
N_SYNTHETIC = 600
PROVENANCE = {"source": "hand-made test world", "cohort_size": 123, "prior_strength": 0.5}


@dataclass(frozen=True)
class Trained:
    world: World
    bundle: ModelBundle
    export: Path
    run: Any
    output: str = ""
    tracking_uri: str = ""


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(train_app)
    app.command("version")(lambda: None)  # a second command, so "train" stays a sub-command
    return app


def _train(args: list[str], *, track: bool = False):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(_cli(), ["train", *args, "--quick", "--families", "logistic", "--jobs", "1",
                                       "--shift-worlds", "0", *([] if track else ["--no-track"])])


def _world_file(path: Path) -> Path:
    """A world away from the literature's, with a provenance block like the one ``world fit`` writes."""
    draw_world(np.random.default_rng(1)).to_yaml(path)
    tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    tree["world"] = tree["world"] | PROVENANCE
    path.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(_migrated_mlflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("world-training")
    shutil.copyfile(_migrated_mlflow_db, root / "mlruns.db")
    uri = f"sqlite:///{root / 'mlruns.db'}"
    world_file = _world_file(root / "fitted.yaml")
    tracking.reset()
    try:
        result = _train(["--synthetic", str(N_SYNTHETIC), "--world", str(world_file), "--seed", "3", "--export-dir",
                         str(root / "models"), "--tracking-uri", uri], track=True)
        assert result.exit_code == 0, result.output
        from mlflow import MlflowClient

        client = MlflowClient(uri)
        bundle = load_bundle(root / "models" / "mmn-ddx")
        run = client.get_run(bundle.metadata.run_id)
        artifacts = [a.path for a in client.list_artifacts(run.info.run_id, "world")]
        local = Path(client.download_artifacts(run.info.run_id, artifacts[0], str(root)))
        logged = load_world(local)
    finally:
        tracking.reset()
    return Trained(load_world(world_file), bundle, root / "models" / "mmn-ddx", (run, logged), result.output, uri)


def test_the_command_names_the_store_to_browse(trained: Trained) -> None:
    assert f"--backend-store-uri {trained.tracking_uri}" in " ".join(trained.output.split())


def test_the_synthetic_patients_come_from_the_world_file(trained: Trained) -> None:
    expected = generate_cohort(N_SYNTHETIC, seed=3, world=trained.world)
    assert trained.bundle.metadata.training_data_digest == data_digest(expected)
    assert trained.bundle.metadata.training_data_digest != data_digest(generate_cohort(N_SYNTHETIC, seed=3))


def test_the_bundle_and_the_model_card_name_the_world(trained: Trained) -> None:
    named = trained.bundle.metadata.training_world
    assert named is not None and not trained.world.is_literature
    assert (named.digest, named.source) == (trained.world.digest, "hand-made test world")
    assert named.provenance["cohort_size"] == 123 and named.provenance["prior_strength"] == 0.5
    # a fitted world already carries its cohort's evidence: no redraw around it unless asked
    assert trained.bundle.metadata.training_worlds == f"the world {trained.world.digest[:12]} (hand-made test world)"
    assert f"digest `{trained.world.digest}`" in trained.bundle.model_card
    assert "cohort_size: 123" in trained.bundle.model_card


def _same_tables(a: OutcomeTables, b: OutcomeTables) -> bool:
    return a.tables.keys() == b.tables.keys() and all(
        a[k].records == b[k].records and np.array_equal(a[k].likelihood, b[k].likelihood) for k in a.tables)


def test_the_next_test_tables_come_from_the_world_file(trained: Trained) -> None:
    """The next test updates the model's probabilities with P(result | diagnosis) of the model's own world."""
    shipped = trained.bundle.outcomes
    assert _same_tables(shipped, fit_outcome_tables(world=trained.world))
    assert not _same_tables(shipped, fit_outcome_tables())  # the literature world's differ
    assert shipped.provenance["world_digest"] == trained.world.digest
    meta = trained.bundle.metadata
    assert meta.next_test_world == f"the world {trained.world.digest[:12]} (hand-made test world)"
    assert ("taken from the synthetic training patients' generator: the world "
            f"{trained.world.digest[:12]} (hand-made test world).") in trained.bundle.model_card


def test_mlflow_has_the_world_file_its_digest_and_provenance(trained: Trained) -> None:
    run, logged = trained.run
    assert run.data.params["world_digest"] == trained.world.digest
    assert run.data.params["world_source"] == "hand-made test world"
    assert run.data.params["training_worlds"] == f"world {trained.world.digest[:12]} (nominal)"
    assert run.data.tags["world_provenance.cohort_size"] == "123"
    assert logged.digest == trained.world.digest  # the artifact reads back as the same world


def test_predictions_and_the_model_endpoint_name_the_world(trained: Trained) -> None:
    from mmn_ddx.serving.http.app import create_app
    from mmn_ddx.serving.predictor import Predictor

    predictor = Predictor.load(str(trained.export))
    record = json.loads(generate_cohort(1, seed=5).drop(columns=LABEL).iloc[0].to_json())
    result = predictor.predict(record, setting="referral")
    assert result.audit.training_world_digest == trained.world.digest
    assert result.audit.training_world_source == "hand-made test world"
    assert result.prediction_set.diagnoses and result.setting.name == "referral"  # conformal and settings work
    assert "synthetic_training_data" in {w.code for w in result.warnings}
    with TestClient(create_app(predictor)) as client:
        info = client.get("/v1/model").json()
    assert info["training_world"]["digest"] == trained.world.digest
    assert info["training_world"]["provenance"]["cohort_size"] == 123


def test_the_literature_world_is_named_when_no_world_is_given(quick_bundle_dir: Path) -> None:
    named = load_bundle(quick_bundle_dir).metadata.training_world
    assert named is not None and named.digest == load_world().digest


def test_a_cohort_with_a_world_is_added_to_the_synthetic_patients(tmp_path: Path) -> None:
    world_file = _world_file(tmp_path / "w.yaml")
    cohort = write_table(generate_cohort(120, seed=21), tmp_path / "cohort.csv")
    result = _train(["--synthetic", "400", "--world", str(world_file), "--data", str(cohort), "--export-dir",
                     str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    meta = load_bundle(tmp_path / "m" / "mmn-ddx").metadata
    assert meta.n_training == 520 and meta.training_data_source == "synthetic + cohort.csv"
    assert meta.synthetic_training == "partly"  # every entry point's synthetic_training_data warning reads it
    assert meta.training_world is not None and meta.training_world.digest == load_world(world_file).digest
    assert "together with a user cohort (cohort.csv)" in load_bundle(tmp_path / "m" / "mmn-ddx").model_card


def test_worlds_draws_around_the_world_file_when_asked(tmp_path: Path) -> None:
    world_file = _world_file(tmp_path / "w.yaml")
    result = _train(["--synthetic", "400", "--world", str(world_file), "--worlds", "3", "--export-dir",
                     str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    meta = load_bundle(tmp_path / "m" / "mmn-ddx").metadata
    world = load_world(world_file)
    expected = generate_cohort(400, seed=0, world=draw_worlds(3, seed=0, base=world))
    assert meta.training_data_digest == data_digest(expected)
    assert meta.training_worlds is not None and f"3 worlds drawn within the stated uncertainty around the world " \
        f"{world.digest[:12]}" in meta.training_worlds
    # the next test's tables: the mixture the patients (and the posterior the model learns) came from
    mixture = draw_worlds(3, seed=0, base=world)
    shipped = load_bundle(tmp_path / "m" / "mmn-ddx").outcomes
    assert _same_tables(shipped, fit_outcome_tables(world=mixture)) and meta.next_test_world == meta.training_worlds
    assert shipped.provenance["world_digest"] == mixture.digest


@pytest.mark.parametrize(("args", "message"), [
    (["--world", "{world}", "--data", "{cohort}"], "--world draws synthetic patients: give --synthetic N"),
    (["--synthetic", "400", "--data", "{cohort}"], "both together only with --world FILE"),
    (["--data", "{cohort}", "--worlds", "5"], "--worlds and --nominal-world choose the worlds"),
    (["--data", "{cohort}", "--nominal-world"], "--worlds and --nominal-world choose the worlds"),
])
def test_wrong_usage_is_refused(args: list[str], message: str, tmp_path: Path) -> None:
    paths = {"world": str(_world_file(tmp_path / "w.yaml")),
             "cohort": str(write_table(generate_cohort(40, seed=1), tmp_path / "c.csv"))}
    result = _train([a.format(**paths) for a in args] + ["--export-dir", str(tmp_path)])
    assert result.exit_code == 2 and message in result.output


def test_a_bad_world_file_is_a_clear_error(tmp_path: Path) -> None:
    world_file = _world_file(tmp_path / "w.yaml")
    tree = yaml.safe_load(world_file.read_text(encoding="utf-8"))
    tree["atypical"]["rate"] = 1.7
    world_file.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
    result = _train(["--synthetic", "400", "--world", str(world_file), "--export-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "w.yaml" in result.output and "atypical.rate: a probability must lie in [0, 1]" in result.output
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    result = _train(["--synthetic", "400", "--world", str(tmp_path / "list.yaml"), "--export-dir", str(tmp_path)])
    assert result.exit_code == 1 and "not a world file" in result.output
    assert not (tmp_path / "mmn-ddx").exists()
