"""Concurrent trainings on one store: no champion is ever replaced by a worse model, and a new sqlite
store survives several first runs at once (issue #15 item 7).

The promotions run in threads against the hermetic store; each "model" is a fixed set of probabilities on
the same evaluation patients, so its log-loss is known, and a slow run is one whose scoring of the
champion sleeps - the window in which the other run promotes.
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.settings import CHAMPION_ALIAS
from mmn_ddx.training.fitting import registry, store_lock, tracking

NAME = "mmn-ddx"
Y = np.tile(np.arange(4), 25)
EVALUATION = pd.DataFrame({"row": range(len(Y))})
P_TRUE = {"1": 0.6, "2": 0.7, "3": 0.9}
"""Probability each version gives the true diagnosis: v1 the champion, v2 better, v3 best."""


def _probs(p_true: float) -> np.ndarray:
    probs = np.full((len(Y), 4), (1 - p_true) / 3)
    probs[np.arange(len(Y)), Y] = p_true
    return probs


def _loader(delay: float) -> Callable[[str], Callable[[pd.DataFrame], np.ndarray]]:
    """Loads ``models:/<name>/<version>``: its probabilities, after ``delay`` seconds (a slow run)."""
    def load(uri: str) -> Callable[[pd.DataFrame], np.ndarray]:
        time.sleep(delay)
        return lambda frame: _probs(P_TRUE[uri.rsplit("/", 1)[1]])

    return load


@pytest.fixture
def three_versions(tracking_uri: str) -> None:
    """v1 (champion), v2 and v3 registered; v2 and v3 not yet compared."""
    from mlflow import MlflowClient

    tracking.configure(tracking_uri)  # tracking and registry on the test's store, as a training sets them
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    client.create_registered_model(NAME)
    for _ in P_TRUE:
        client.create_model_version(NAME, source="file:///nowhere/model")
    client.set_registered_model_alias(NAME, CHAMPION_ALIAS, "1")


def _race(slow: str, fast: str) -> dict[str, registry.Promotion]:
    """Promote ``slow`` and ``fast`` concurrently; ``slow`` reads the champion first, then scores it slowly."""
    outcomes: dict[str, registry.Promotion] = {}

    def promote(version: str, delay: float) -> None:
        outcomes[version] = registry.promote(NAME, version, _probs(P_TRUE[version]), EVALUATION, Y, _loader(delay))

    threads = [threading.Thread(target=promote, args=(slow, 1.0)), threading.Thread(target=promote, args=(fast, 0.0))]
    threads[0].start()
    time.sleep(0.3)  # the slow run has read the champion (v1) and is scoring it
    threads[1].start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.parametrize(("slow", "fast"), [("2", "3"), ("3", "2")], ids=["worse-slowed", "better-slowed"])
def test_concurrent_promotions_end_with_the_best_model(three_versions: None, slow: str, fast: str) -> None:
    outcomes = _race(slow, fast)
    assert tracking.champion_version(NAME) == "3"
    assert outcomes["3"].promoted
    if slow == "3":  # the worse run waited for the better one's promotion and compared with it
        assert not outcomes["2"].promoted and outcomes["2"].champion_version == "3"
    assert tracking.version_tags(NAME, "2")["promoted"] == str(outcomes["2"].promoted).lower()


def test_without_the_lock_compare_and_set_still_keeps_the_better_champion(
        three_versions: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tracking server has no lock here: the slowed worse run finds the alias moved, compares again, stays out."""
    monkeypatch.setattr(tracking, "store_lock", lambda uri=None: contextlib.nullcontext())
    outcomes = _race(slow="2", fast="3")
    assert tracking.champion_version(NAME) == "3"
    assert outcomes["3"].promoted and outcomes["3"].champion_version == "1"
    worse = outcomes["2"]
    assert not worse.promoted and worse.champion_version == "3", worse.reason
    assert math.isclose(worse.champion_log_loss or 0.0, -math.log(P_TRUE["3"]))


def test_the_lock_excludes_other_holders_and_times_out_clearly(tmp_path: Path) -> None:
    db = tmp_path / "mlruns.db"
    with store_lock.locked(db) as path:
        assert path == tmp_path / "mlruns.db.lock"
        with (
            pytest.raises(store_lock.StoreLockTimeout, match=r"mlruns\.db\.lock.*another mmn-ddx run"),
            store_lock.locked(db, wait=0.2),
        ):
            pass
    with store_lock.locked(db, wait=0.2):  # released on exit
        pass


FIRST_RUN = """
import sys
from mmn_ddx.training.fitting import tracking
tracking.configure(sys.argv[1])
with tracking.run("first-use"):
    tracking.log_params({"worker": sys.argv[2]})
    tracking.log_metrics({"value": 1.0})
"""


@pytest.mark.slow
def test_three_first_runs_on_a_new_sqlite_store_all_succeed(tmp_path: Path) -> None:
    """Without the lock two of three crashed in MLflow's migrations ("duplicate column name")."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'new' / 'mlruns.db'}"
    workers = [subprocess.Popen([sys.executable, "-c", FIRST_RUN, uri, str(i)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True) for i in range(3)]
    errors = [worker.communicate(timeout=300)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], "\n".join(e[-2000:] for e in errors)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(tracking.EXPERIMENT)
    assert experiment is not None and experiment.artifact_location.startswith((tmp_path / "new").as_uri())
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.params["worker"] for r in runs) == ["0", "1", "2"]
