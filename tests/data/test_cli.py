"""``mmn-ddx cohort validate | generate | describe`` through the real top-level app."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mmn_ddx.cli import app
from mmn_ddx.cli.cohort import parse_class_priors
from mmn_ddx.data.contract import DIAGNOSES, LABEL
from mmn_ddx.data.importer import read_cohort

VIGNETTES = Path(__file__).parent / "fixtures" / "vignettes.csv"
PRESETS = {
    "balanced": dict.fromkeys(DIAGNOSES, 0.25),
    "referral": {"MMN": 0.15, "MND": 0.7, "CIDP": 0.05, "MADSAM": 0.1},
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


@pytest.fixture
def bad_csv(tmp_path: Path) -> Path:
    lines = VIGNETTES.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    broken = lines[2].split(",")
    broken[header.index("sex")] = "F"
    broken[header.index("cramps")] = "often"
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([lines[0], lines[1], ",".join(broken), *lines[3:]]) + "\n", encoding="utf-8")
    return path


def test_validate_accepts_a_clean_file(runner: CliRunner) -> None:
    result = runner.invoke(app, ["cohort", "validate", str(VIGNETTES), "--require-label"])
    assert result.exit_code == 0, result.output
    assert "4 rows read, 4 accepted, 0 rejected" in result.stdout


def test_validate_lists_rejections_and_exits_1(runner: CliRunner, bad_csv: Path) -> None:
    result = runner.invoke(app, ["cohort", "validate", str(bad_csv)])
    assert result.exit_code == 1
    assert "4 rows read, 3 accepted, 1 rejected (2 problems)" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.lstrip("│ ").startswith("2 ")]
    assert any("sex" in r and "F" in r and "not one of: male, female" in r for r in rows), result.stdout
    assert any("cramps" in r and "often" in r and "not a boolean" in r for r in rows), result.stdout


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_validate_report_holds_every_rejection(runner: CliRunner, bad_csv: Path, tmp_path: Path, suffix: str) -> None:
    report = tmp_path / f"rejections{suffix}"
    result = runner.invoke(app, ["cohort", "validate", str(bad_csv), "--report", str(report)])
    assert result.exit_code == 1
    written = read_table(report)
    expected = read_cohort(bad_csv).rejections
    assert written["field"].tolist() == expected["field"].tolist() == ["sex", "cramps"]
    assert written["row"].tolist() == [2, 2] and written["value"].astype(str).tolist() == ["F", "often"]


def read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    return pd.read_parquet(path)


def test_validate_strict_names_the_first_bad_row(runner: CliRunner, bad_csv: Path) -> None:
    result = runner.invoke(app, ["cohort", "validate", str(bad_csv), "--strict"])
    assert result.exit_code == 1
    assert "row 2, field 'sex'" in result.stderr


def test_validate_reports_file_level_errors_on_stderr(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "typo.csv"
    path.write_text("age_at_onset_years,sexe\n40,male\n", encoding="utf-8")
    result = runner.invoke(app, ["cohort", "validate", str(path)])
    assert result.exit_code == 1
    assert "unknown column 'sexe' (did you mean 'sex'?)" in result.stderr
    assert result.stdout == ""


def test_validate_require_label(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "unlabelled.csv"
    pd.read_csv(VIGNETTES).drop(columns=LABEL).to_csv(path, index=False)
    assert runner.invoke(app, ["cohort", "validate", str(path)]).exit_code == 0
    result = runner.invoke(app, ["cohort", "validate", str(path), "--require-label"])
    assert result.exit_code == 1 and "no 'diagnosis' column" in result.stderr


def test_generate_writes_a_valid_labelled_cohort_and_counts_it(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "cohort.parquet"
    result = runner.invoke(app, ["cohort", "generate", "--n", "400", "--seed", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    imported = read_cohort(out, require_label=True)
    assert imported.n_valid == 400 and imported.rejections.empty
    counts = imported.valid[LABEL].value_counts()
    for diagnosis in DIAGNOSES:
        assert any(
            line.split()[:1] == [diagnosis] and str(counts[diagnosis]) in line.split() for line in _cells(result.stdout)
        ), f"{diagnosis} count missing from\n{result.stdout}"


def _cells(output: str) -> list[str]:
    return [line.translate(str.maketrans("│┃", "  ")) for line in output.splitlines()]


def test_generate_is_reproducible_and_honours_class_priors(runner: CliRunner, tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    args = ["cohort", "generate", "--n", "300", "--seed", "5", "--class-priors", "MMN=1,MND=1"]
    assert runner.invoke(app, [*args, "-o", str(a)]).exit_code == 0
    assert runner.invoke(app, [*args, "-o", str(b)]).exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    labels = set(read_cohort(a).valid[LABEL].dropna())
    assert labels == {"MMN", "MND"}


@pytest.mark.parametrize(
    ("priors", "message"),
    [
        ("MMN=0.5,MDN=0.5", "did you mean MND?"),
        ("MMN=0.5,MMN=0.5", "MMN is given twice"),
        ("MMN=-1,MND=2", "non-negative"),
        ("MMN=abc", "'abc' is not a number"),
        ("MMN=0,MND=0", "must not all be zero"),
        ("tertiary", "unknown preset 'tertiary'"),
    ],
)
def test_generate_refuses_bad_class_priors(runner: CliRunner, tmp_path: Path, priors: str, message: str) -> None:
    out = tmp_path / "cohort.csv"
    result = runner.invoke(app, ["cohort", "generate", "--n", "10", "-o", str(out), "--class-priors", priors])
    assert result.exit_code == 1 and message in result.stderr
    assert not out.exists()


def test_generate_refuses_an_unknown_output_format_before_generating(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["cohort", "generate", "--n", "10", "-o", str(tmp_path / "cohort.txt")])
    assert result.exit_code == 1 and "cannot write '.txt'" in result.stderr


def test_parse_class_priors_normalises_weights_and_resolves_presets() -> None:
    assert parse_class_priors("referral", PRESETS) == PRESETS["referral"]
    assert parse_class_priors(" MMN = 2 , CIDP=2 ", PRESETS) == {"MMN": 0.5, "MND": 0.0, "CIDP": 0.5, "MADSAM": 0.0}


def test_describe_prints_the_per_diagnosis_summary(runner: CliRunner) -> None:
    result = runner.invoke(app, ["cohort", "describe", str(VIGNETTES)])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.stdout.splitlines()]
    assert ["field", *DIAGNOSES, "all"] in lines
    assert ["patients", "1", "1", "1", "1", "4"] in lines
    atrophy = lines.index(["muscle_atrophy"])
    assert lines[atrophy + 1] == ["%", "recorded", *["100.0%"] * 5]
    assert lines[atrophy + 3] == ["%", "mild", "100.0%", "0.0%", "0.0%", "100.0%", "50.0%"]


def test_describe_warns_about_rejected_rows(runner: CliRunner, bad_csv: Path) -> None:
    result = runner.invoke(app, ["cohort", "describe", str(bad_csv)])
    assert result.exit_code == 0
    assert "1 of 4 rows rejected" in result.stderr
    assert "3 patients" in result.stdout


def test_help_texts_explain_each_command(runner: CliRunner) -> None:
    for command, phrase in [("validate", "--require-label"), ("generate", "--class-priors"), ("describe", "median")]:
        result = runner.invoke(app, ["cohort", command, "--help"])
        assert result.exit_code == 0 and phrase in result.stdout


def test_validate_rejects_a_count_above_the_nerves_studied_with_the_rule_message(
    runner: CliRunner, tmp_path: Path
) -> None:
    """Issue #10: 2 motor nerves studied and 5 with definite block is rejected here as by train / predict / HTTP."""
    from mmn_ddx.data.contract import rules

    path, report = tmp_path / "issue.csv", tmp_path / "rejections.csv"
    path.write_text("age_at_onset_years,sex,motor_nerves_studied,nerves_definite_cb\n45,male,8,2\n45,male,2,5\n",
                    encoding="utf-8")
    result = runner.invoke(app, ["cohort", "validate", str(path), "--report", str(report)])
    assert result.exit_code == 1, result.output
    assert "2 rows read, 1 accepted, 1 rejected" in result.stdout
    written = read_table(report)
    message = next(rule.message for rule in rules() if rule.field == "nerves_definite_cb")
    assert written[["row", "field", "reason"]].values.tolist() == [[2, "nerves_definite_cb", message]]


def test_generate_randomize_draws_patients_from_seeded_worlds(runner: CliRunner, tmp_path: Path) -> None:
    from mmn_ddx.data.generator import generate_cohort
    from mmn_ddx.data.world import draw_worlds

    out = tmp_path / "cohort.parquet"
    result = runner.invoke(app, ["cohort", "generate", "--n", "300", "--seed", "4", "--randomize", "--worlds", "3",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 worlds drawn from the literature's uncertainty (seed 4)" in " ".join(result.stdout.split())
    written = read_cohort(out, require_label=True).valid
    expected = generate_cohort(300, seed=4, world=draw_worlds(3, seed=4))
    assert written["patient_id"].tolist() == expected["patient_id"].tolist()
    course = written["course"].astype(str).tolist()
    assert course == expected["course"].astype(str).tolist()
    assert course != generate_cohort(300, seed=4)["course"].astype(str).tolist()


def test_generate_with_a_world_file_and_refusals(runner: CliRunner, tmp_path: Path) -> None:
    import numpy as np

    from mmn_ddx.data.world import draw_world

    world = draw_world(np.random.default_rng(2)).to_yaml(tmp_path / "world.yaml")
    out = tmp_path / "cohort.csv"
    assert runner.invoke(app, ["cohort", "generate", "--n", "50", "--world", str(world), "-o", str(out)]).exit_code == 0
    refused = runner.invoke(app, ["cohort", "generate", "--n", "50", "--worlds", "3", "-o", str(out)])
    assert refused.exit_code == 2 and "--worlds needs --randomize" in refused.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("- not a world\n", encoding="utf-8")
    refused = runner.invoke(app, ["cohort", "generate", "--n", "50", "--world", str(bad), "-o", str(out)])
    assert refused.exit_code == 1 and "--world" in refused.output and "not a world file" in refused.output
