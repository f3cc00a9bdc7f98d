"""Runtime locations come from one settings object: the working directory or $MMN_DDX_HOME, never the source tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmn_ddx.features.modes import MODES
from mmn_ddx.settings import MODEL_NAMES, Settings, artifact_dir, get_settings, sqlite_file


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("MMN_DDX_HOME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path.resolve()


def test_everything_lives_under_the_working_directory_by_default(clean_environment: Path) -> None:
    settings = get_settings()
    assert settings.home == clean_environment
    assert settings.tracking_uri == f"sqlite:///{clean_environment / 'mlruns.db'}"
    assert settings.artifacts_dir == artifact_dir(settings.tracking_uri) == clean_environment / "mlartifacts"
    assert settings.models_dir == clean_environment / "models"
    assert settings.exported_model("with-treatment") == clean_environment / "models" / "mmn-ddx-with-treatment"
    assert settings.reports_dir == clean_environment / "reports"
    assert settings.cohort_path == clean_environment / "data" / "cohort.parquet"
    assert not settings.has_tracking_store
    (clean_environment / "mlruns.db").touch()
    assert get_settings().has_tracking_store


def test_the_environment_moves_home_and_the_tracking_store(clean_environment: Path, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("MMN_DDX_HOME", str(home))
    assert get_settings().home == home.resolve() and get_settings().models_dir == home.resolve() / "models"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    settings = get_settings()
    assert settings.tracking_uri == "http://mlflow.example:5000" and settings.has_tracking_store
    assert sqlite_file(settings.tracking_uri) is None and artifact_dir(settings.tracking_uri) is None


def test_sqlite_uris_name_their_file() -> None:
    assert sqlite_file("sqlite:////srv/mlflow/runs.db") == Path("/srv/mlflow/runs.db")
    assert sqlite_file("sqlite:///mlruns.db?timeout=30") == Path("mlruns.db")
    assert artifact_dir("sqlite:////srv/mlflow/runs.db") == Path("/srv/mlflow/mlartifacts")


def test_every_mode_has_a_registered_name() -> None:
    assert set(MODEL_NAMES) == set(MODES) and len(set(MODEL_NAMES.values())) == len(MODES)


def test_settings_are_immutable(clean_environment: Path) -> None:
    with pytest.raises(ValueError, match="frozen"):
        get_settings().home = Path("/")  # type: ignore[misc]
    assert Settings(home=clean_environment).tracking_uri.endswith("/mlruns.db")
