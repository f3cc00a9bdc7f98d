"""``mmn-ddx benchmark --world FILE``: the synthetic test and training patients come from the world file, the
Bayes ceiling is its exact posterior, every view names it, and a saved champion of another world is labelled."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import mmn_ddx.cli.benchmark as benchmark_cli
from mmn_ddx.cli.benchmark import benchmark_app
from mmn_ddx.data import DIAGNOSES, LABEL, LITERATURE_WORLD, World, draw_world, generate_cohort, load_world, posterior
from mmn_ddx.features import MODES, fields_unseen_in
from mmn_ddx.training.artifact.calibration import log_loss
from mmn_ddx.training.artifact.metadata import data_digest

N_TRAIN, N_TEST, SEED, TRAIN_SEED = 400, 300, 1, 0
COHORT = f"synthetic test (n={N_TEST}, seed {SEED})"
CASES = [{"patient_id": "a", "age_at_onset_years": 40, "sex": "male", "nerves_definite_cb": 2, "diagnosis": "MMN"},
         {"patient_id": "b", "age_at_onset_years": 60, "sex": "female", "diagnosis": "CIDP"}]


@dataclass(frozen=True)
class Run:
    world: World
    report: Path
    output: str
    params: dict[str, str]
    training_digests: list[str]


def _world_file(path: Path) -> Path:
    draw_world(np.random.default_rng(1)).to_yaml(path)
    return path


@pytest.fixture(scope="module")
def run(quick_bundle_dir: Path, _migrated_mlflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One tiny run: the at-presentation champion is the saved literature-world bundle, the with-treatment one is
    trained here on the world's patients."""
    import shutil

    from mlflow import MlflowClient

    from mmn_ddx.training.fitting import tracking

    root = tmp_path_factory.mktemp("benchmark-world")
    shutil.copyfile(_migrated_mlflow_db, root / "mlruns.db")
    uri = f"sqlite:///{root / 'mlruns.db'}"
    cases = root / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(c) for c in CASES) + "\n", encoding="utf-8")
    digests: list[str] = []
    original: Callable[..., Any] = benchmark_cli.train_models

    def spy(frame: pd.DataFrame, *args: Any, **kwargs: Any) -> Any:
        digests.append(data_digest(frame))
        return original(frame, *args, **kwargs)

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(benchmark_cli, "train_models", spy)
    tracking.reset()
    try:
        result = CliRunner().invoke(benchmark_app, [
            "--world", str(_world_file(root / "fitted.yaml")), "--champion", str(quick_bundle_dir),
            "--quick", "--families", "logistic", "--jobs", "1", "--n-train", str(N_TRAIN), "--n-test", str(N_TEST),
            "--seed", str(SEED), "--train-seed", str(TRAIN_SEED), "--n-boot", "20", "--settings", "none",
            "--real-cases", str(cases), "--out", str(root / "report"), "--tracking-uri", uri])
        assert result.exit_code == 0, result.output
        client = MlflowClient(uri)
        runs = client.search_runs([client.get_experiment_by_name("mmn-ddx").experiment_id],
                                  filter_string="tags.kind = 'benchmark'")
        params = runs[0].data.params
    finally:
        tracking.reset()
        monkeypatch.undo()
    return Run(load_world(root / "fitted.yaml"), root / "report", result.output, params, digests)


def _ceiling(frame: pd.DataFrame, mode: str, world: World | None) -> float:
    y = np.array([DIAGNOSES.index(d) for d in frame[LABEL]])
    return log_loss(posterior(frame, exclude=fields_unseen_in(mode), world=world), y)


@pytest.mark.slow
def test_the_ceiling_is_the_worlds_exact_posterior_on_its_own_test_patients(run: Run) -> None:
    metrics = pd.read_csv(run.report / "metrics.csv")
    bayes = metrics[(metrics["kind"] == "bayes") & (metrics["metric"] == "log_loss") & (metrics["cohort"] == COHORT)]
    for mode in MODES:
        reported = bayes.loc[bayes["mode"] == mode, "estimate"].item()
        expected = _ceiling(generate_cohort(N_TEST, seed=SEED, world=run.world), mode, run.world)
        assert reported == pytest.approx(expected, rel=1e-9), mode
        literature = _ceiling(generate_cohort(N_TEST, seed=SEED), mode, None)  # what was reported before
        assert reported != pytest.approx(literature, rel=1e-3), mode


@pytest.mark.slow
def test_the_families_learn_from_the_worlds_patients(run: Run) -> None:
    expected = data_digest(generate_cohort(N_TRAIN, seed=TRAIN_SEED, world=run.world))
    assert run.training_digests == [expected] * len(MODES)


@pytest.mark.slow
def test_the_report_and_mlflow_name_the_world(run: Run) -> None:
    fact = (f"the world {run.world.digest[:12]} ({run.world.source}), file fitted.yaml, digest {run.world.digest}: "
            "the synthetic test patients and their Bayes ceiling, the families' training patients")
    assert f"| synthetic world | {fact} |" in (run.report / "report.md").read_text(encoding="utf-8")
    assert fact in (run.report / "report.html").read_text(encoding="utf-8").replace("&#39;", "'")
    assert run.params["synthetic world"] == fact
    row = f"| exact posterior of the world {run.world.digest[:12]} ({run.world.source}) |"
    assert (run.report / "report.md").read_text(encoding="utf-8").count(row) == len(MODES)  # real cases too


@pytest.mark.slow
def test_a_saved_champion_of_another_world_is_labelled_in_its_mode_only(run: Run) -> None:
    markdown = (run.report / "report.md").read_text(encoding="utf-8")
    sections = {mode: markdown.split(f"## {COHORT}: {mode}")[1].split("\n## ")[0] for mode in MODES}
    note = (f"World shift: the champion learnt from {LITERATURE_WORLD}, but these test patients and the Bayes ceiling "
            f"come from the world {run.world.digest[:12]}")
    assert note in sections["at-presentation"]  # the saved bundle was trained on the literature world
    assert "World shift" not in sections["with-treatment"]  # trained here, on the world's own patients
    assert " ".join(run.output.split()).count("World shift: the champion learnt from") == 1  # terminal too


def test_world_with_no_synthetic_patient_is_wrong_usage(tmp_path: Path) -> None:
    cohort, train = tmp_path / "c.csv", tmp_path / "t.csv"
    cohort.write_text("patient_id\n", encoding="utf-8")
    train.write_text("patient_id\n", encoding="utf-8")
    refused = CliRunner().invoke(benchmark_app, ["--world", str(_world_file(tmp_path / "w.yaml")), "--n-test", "0",
                                                 "--data", str(cohort), "--train-data", str(train),
                                                 "--out", str(tmp_path / "report"), "--no-track"])
    assert refused.exit_code == 2, refused.output
    assert "--world draws synthetic patients" in " ".join(refused.output.split())
    assert not (tmp_path / "report").exists()


def test_a_bad_world_file_fails_before_any_training(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    refused = CliRunner().invoke(benchmark_app, ["--world", str(tmp_path / "list.yaml"), "--n-train", "100",
                                                 "--out", str(tmp_path / "report"), "--no-track"])
    assert refused.exit_code == 1, refused.output
    assert "--world list.yaml" in refused.output and "not a world file" in refused.output
    assert "Training" not in refused.output and not (tmp_path / "report").exists()
