"""Artifact integrity (issue #15 item 8): an exported bundle loads only as it was exported.

Each test copies the exported quick model, tampers with it as the issue's reproductions did, and
checks the load is refused with an error naming the file; the untouched copy loads."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from mmn_ddx.training.artifact.bundle import IntegrityError, load_bundle
from mmn_ddx.training.artifact.manifest import MANIFEST_FILE

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


@pytest.fixture
def model(quick_bundle_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the exported MLflow model directory, free to tamper with."""
    return Path(shutil.copytree(quick_bundle_dir, tmp_path / "model"))


def _bundle(model: Path) -> Path:
    return model / "data" / "bundle"


def _set_data_path(model: Path, data: str) -> None:
    mlmodel = model / "MLmodel"
    document = yaml.safe_load(mlmodel.read_text())
    document["flavors"]["python_function"]["data"] = data
    mlmodel.write_text(yaml.safe_dump(document))


def test_an_untouched_export_loads_and_names_itself_by_its_manifest_digest(model: Path) -> None:
    bundle = load_bundle(model)
    manifest = _bundle(model) / MANIFEST_FILE
    assert bundle.manifest_digest == hashlib.sha256(manifest.read_bytes()).hexdigest()
    listed = set(json.loads(manifest.read_text())["files"])
    assert listed == {p.name for p in _bundle(model).iterdir()} - {MANIFEST_FILE}
    assert {"bundle.json", "pipeline.skops", "model_card.md", "reference.json", "reference.npz"} <= listed


def test_editing_the_conformal_threshold_and_temperature_is_refused(model: Path) -> None:
    path = _bundle(model) / "bundle.json"
    document = json.loads(path.read_text())
    document["conformal"]["qhat"] = 0.999
    document["calibration"]["value"] = 25.0
    path.write_text(json.dumps(document, indent=1))
    with pytest.raises(IntegrityError, match=r"bundle\.json: changed since export"):
        load_bundle(model)


def test_an_added_file_is_refused(model: Path) -> None:
    (_bundle(model) / "extra.json").write_text("{}")
    with pytest.raises(IntegrityError, match=r"extra\.json: not in the bundle's manifest"):
        load_bundle(model)


def test_a_removed_file_is_refused(model: Path) -> None:
    (_bundle(model) / "reference.npz").unlink()
    with pytest.raises(IntegrityError, match=r"reference\.npz: listed in the bundle's manifest but missing"):
        load_bundle(model)


def test_a_model_card_symlinked_to_a_system_file_is_refused(model: Path) -> None:
    card = _bundle(model) / "model_card.md"
    card.unlink()
    os.symlink("/etc/passwd", card)
    with pytest.raises(IntegrityError, match=r"model_card\.md: a symbolic link"):
        load_bundle(model)


def test_a_missing_manifest_is_refused(model: Path) -> None:
    (_bundle(model) / MANIFEST_FILE).unlink()
    with pytest.raises(IntegrityError, match=r"manifest\.json: missing"):
        load_bundle(model)


@pytest.mark.parametrize("where", ["absolute", "dotdot"])
def test_a_data_path_outside_the_model_directory_is_refused(model: Path, tmp_path: Path, where: str) -> None:
    """Even when it points at a complete, self-consistent bundle elsewhere on the machine."""
    elsewhere = Path(shutil.copytree(_bundle(model), tmp_path / "elsewhere" / "bundle"))
    _set_data_path(model, str(elsewhere) if where == "absolute" else os.path.relpath(elsewhere, model))
    with pytest.raises(IntegrityError, match="leaves the model directory"):
        load_bundle(model)


def test_a_symlinked_data_directory_is_refused(model: Path, tmp_path: Path) -> None:
    elsewhere = Path(shutil.copytree(_bundle(model), tmp_path / "elsewhere"))
    shutil.rmtree(_bundle(model))
    os.symlink(elsewhere, _bundle(model))
    with pytest.raises(IntegrityError, match="leaves the model directory"):
        load_bundle(model)


def test_mlflows_own_loader_refuses_a_data_path_outside_the_model(model: Path, tmp_path: Path) -> None:
    """``mlflow.pyfunc.load_model`` joins ``data`` to the model path unchecked; the loader hook checks it."""
    import mlflow.pyfunc

    elsewhere = Path(shutil.copytree(_bundle(model), tmp_path / "elsewhere" / "bundle"))
    _set_data_path(model, str(elsewhere))
    with pytest.raises(IntegrityError, match="refusing to load"):
        mlflow.pyfunc.load_model(str(model))


def test_mlflows_own_loader_refuses_a_changed_file(model: Path) -> None:
    import mlflow.pyfunc

    with (_bundle(model) / "model_card.md").open("a") as card:
        card.write("\nEdited.\n")
    with pytest.raises(IntegrityError, match=r"model_card\.md: changed since export"):
        mlflow.pyfunc.load_model(str(model))
