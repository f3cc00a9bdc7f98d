"""Shared fixtures: small trained bundles and a hermetic MLflow store, each built once per session.

* ``quick_bundle_dir``: an exported at-presentation bundle (MLflow model directory) trained in seconds
  on 2 000 synthetic patients by :func:`training.train.train_bundle`; load it with
  ``training.bundle.load_bundle(quick_bundle_dir)``. Session-scoped and shared: treat it as read-only.
* ``with_treatment_bundle_dir``: the same for the with-treatment mode (which reads the treatment responses), for
  the few tests that need a model of each mode.
* ``tracking_uri``: an empty sqlite MLflow store in the test's ``tmp_path``, set as
  ``MLFLOW_TRACKING_URI``. Creating and migrating an sqlite store takes seconds, so one migrated
  database is made per session and copied for each test (milliseconds), as fmind/mlops-python-package does.

Nothing here writes into the repository.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

QUICK_BUNDLE_PATIENTS = 2000
QUICK_BUNDLE_SEED = 0


@pytest.fixture(scope="session")
def quick_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of an exported MLflow model directory holding a small at-presentation XGBoost bundle."""
    from mmn_ddx.data.generator import generate_cohort
    from mmn_ddx.training.fitting.trainer import train_bundle

    cohort = generate_cohort(QUICK_BUNDLE_PATIENTS, seed=QUICK_BUNDLE_SEED)
    return train_bundle(cohort, mode="at-presentation", seed=QUICK_BUNDLE_SEED,
                        export_dir=tmp_path_factory.mktemp("quick-bundle"))


@pytest.fixture(scope="session")
def with_treatment_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """As ``quick_bundle_dir``, a with-treatment bundle (trained in about 15 s when a test first asks for it)."""
    from mmn_ddx.data.generator import generate_cohort
    from mmn_ddx.training.fitting.trainer import train_bundle

    cohort = generate_cohort(QUICK_BUNDLE_PATIENTS, seed=QUICK_BUNDLE_SEED)
    return train_bundle(cohort, mode="with-treatment", seed=QUICK_BUNDLE_SEED,
                        export_dir=tmp_path_factory.mktemp("with-treatment-bundle"))


@pytest.fixture(scope="session")
def _migrated_mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mmn_ddx.training.fitting import tracking

    db = tmp_path_factory.mktemp("mlflow-template") / "template.db"
    tracking.migrate(f"sqlite:///{db}")
    return db


@pytest.fixture
def tracking_uri(_migrated_mlflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh sqlite MLflow store in ``tmp_path`` (artifacts in ``tmp_path/mlartifacts``), set as
    ``MLFLOW_TRACKING_URI`` for the test and forgotten afterwards."""
    from mmn_ddx.training.fitting import tracking

    db = tmp_path / "mlruns.db"
    shutil.copyfile(_migrated_mlflow_db, db)
    uri = f"sqlite:///{db}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    tracking.reset()
    yield uri
    tracking.reset()
