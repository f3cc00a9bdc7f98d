"""Which tracking store a model URI resolves in: the one this process chose, else the project's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from mmn_ddx.training.artifact import use_project_store
from mmn_ddx.training.fitting import tracking


@pytest.fixture
def no_store_chosen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MMN_DDX_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracking.reset()
    yield tmp_path
    tracking.reset()


def test_the_home_store_is_used_when_none_was_chosen(no_store_chosen: Path) -> None:
    assert use_project_store() == f"sqlite:///{no_store_chosen / 'mlruns.db'}" == mlflow.get_tracking_uri()


def test_the_environment_variable_wins_over_the_home_store(no_store_chosen: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{no_store_chosen / 'team.db'}")
    assert use_project_store() == f"sqlite:///{no_store_chosen / 'team.db'}"


def test_a_store_set_in_the_process_is_kept(no_store_chosen: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{no_store_chosen / 'team.db'}")
    mlflow.set_tracking_uri(f"sqlite:///{no_store_chosen / 'mine.db'}")
    assert use_project_store() == f"sqlite:///{no_store_chosen / 'mine.db'}"
