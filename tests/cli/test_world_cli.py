"""``mmn-ddx world fit`` end to end through the real top-level app: world file, report, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mmn_ddx.cli import app
from mmn_ddx.data import generate_cohort, load_world
from mmn_ddx.data.contract import ID_FIELD, LABEL
from mmn_ddx.data.world import PROVENANCE


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


@pytest.fixture(scope="module")
def cohort_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("world_cli") / "cohort.csv"
    generate_cohort(120, seed=4).to_csv(path, index=False)
    return path


def test_fit_writes_a_world_and_a_report(runner: CliRunner, cohort_csv: Path, tmp_path: Path) -> None:
    world_file, report = tmp_path / "world.yaml", tmp_path / "report.md"
    result = runner.invoke(app, ["world", "fit", "--data", str(cohort_csv), "-o", str(world_file),
                                 "--prior-strength", "2", "--report", str(report), "--top", "5", "--max-iter", "8"])
    assert result.exit_code == 0, result.output
    world = load_world(world_file)
    block = world.parameters[PROVENANCE]["fit"]
    assert block["labelled"] == 120 and block["prior_strength"] == 2.0 and "skipped_rows" not in block
    assert world.digest != load_world().digest
    assert "parameters that moved most" in result.stdout and "Not fitted (kept at the prior)" in result.stdout
    assert "not clinically validated" in result.stdout and "stay at the prior's" not in result.output
    markdown = report.read_text(encoding="utf-8")
    table = [line for line in markdown.splitlines() if line.startswith("| ") and "parameter" not in line]
    assert len(table) == 5 and all(line.startswith(("| diseases.", "| reporting.")) for line in table)
    assert "## Not fitted (kept at the prior)" in markdown
    assert "SYN-" not in world_file.read_text(encoding="utf-8")


def test_a_diagnosis_missing_from_the_cohort_is_said_to_stay_at_the_prior(runner: CliRunner, tmp_path: Path) -> None:
    cohort = generate_cohort(160, seed=4)
    path = tmp_path / "mmn_mnd.csv"
    cohort[cohort[LABEL].isin(["MMN", "MND"])].to_csv(path, index=False)
    result = runner.invoke(app, ["world", "fit", "--data", str(path), "-o", str(tmp_path / "w.yaml"),
                                 "--max-iter", "3"])
    assert result.exit_code == 0, result.output
    assert "no CIDP, MADSAM patient in mmn_mnd.csv: the parameters of those diagnoses stay at the prior's" in " ".join(
        result.output.split())


def test_unlabelled_records_are_counted(runner: CliRunner, cohort_csv: Path, tmp_path: Path) -> None:
    unlabelled = tmp_path / "unlabelled.csv"
    generate_cohort(30, seed=6).drop(columns=[LABEL]).to_csv(unlabelled, index=False)
    world_file = tmp_path / "world.yaml"
    result = runner.invoke(app, ["world", "fit", "--data", str(cohort_csv), "-o", str(world_file),
                                 "--unlabelled", str(unlabelled), "--max-iter", "3"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(world_file.read_text(encoding="utf-8"))[PROVENANCE]["fit"]["unlabelled"] == 30


def test_skip_invalid_records_the_rows_left_out_in_the_provenance(runner: CliRunner, tmp_path: Path) -> None:
    frame = generate_cohort(60, seed=4)
    frame["sex"] = frame["sex"].astype(object)
    frame.loc[[5, 7], "sex"] = "often"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    world_file = tmp_path / "world.yaml"
    result = runner.invoke(app, ["world", "fit", "--data", str(bad), "-o", str(world_file), "--skip-invalid",
                                 "--max-iter", "3"])
    assert result.exit_code == 0, result.output
    block = load_world(world_file).parameters[PROVENANCE]["fit"]
    assert block["labelled"] == 58
    assert block["skipped_rows"] == [{"file": "bad.csv", "n_read": 60, "n_valid": 58, "n_rejected": 2}]


def test_bad_row_is_named_and_fails(runner: CliRunner, tmp_path: Path) -> None:
    frame = generate_cohort(20, seed=4)
    frame["sex"] = frame["sex"].astype(object)
    frame.loc[5, "sex"] = "often"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    world_file = tmp_path / "world.yaml"
    result = runner.invoke(app, ["world", "fit", "--data", str(bad), "-o", str(world_file)])
    assert result.exit_code == 1
    assert "1 of 20 rows rejected" in result.stderr
    rejected = [line.replace("│", " ").split() for line in result.stdout.splitlines() if "often" in line]
    assert rejected and rejected[0][:2] == ["6", "sex"]  # the importer's row number: data row 6
    assert frame.loc[5, ID_FIELD] not in result.stderr
    assert not world_file.exists()


def test_missing_diagnosis_fails_naming_the_row(runner: CliRunner, tmp_path: Path) -> None:
    frame = generate_cohort(20, seed=4)
    frame[LABEL] = frame[LABEL].astype(object)
    frame.loc[2, LABEL] = None
    path = tmp_path / "unlabelled_row.csv"
    frame.to_csv(path, index=False)
    result = runner.invoke(app, ["world", "fit", "--data", str(path), "-o", str(tmp_path / "w.yaml")])
    assert result.exit_code == 1
    rejected = [line.replace("│", " ").split() for line in result.stdout.splitlines() if "missing diagnosis" in line]
    assert rejected and rejected[0][:2] == ["3", "diagnosis"]
    assert "1 of 20 rows rejected" in result.stderr


@pytest.mark.parametrize("strength", ["0", "-1"])
def test_prior_strength_must_be_positive(runner: CliRunner, cohort_csv: Path, tmp_path: Path, strength: str) -> None:
    result = runner.invoke(app, ["world", "fit", "--data", str(cohort_csv), "-o", str(tmp_path / "w.yaml"),
                                 "--prior-strength", strength])
    assert result.exit_code == 1
    assert "prior strength must be a positive" in result.stderr


def test_bad_prior_world_is_a_clear_error(runner: CliRunner, cohort_csv: Path, tmp_path: Path) -> None:
    prior = tmp_path / "prior.yaml"
    prior.write_text("reporting: {}\n", encoding="utf-8")
    result = runner.invoke(app, ["world", "fit", "--data", str(cohort_csv), "-o", str(tmp_path / "w.yaml"),
                                 "--prior-world", str(prior)])
    assert result.exit_code == 1
    assert "--prior-world" in result.stderr and "not a world file" in result.stderr
