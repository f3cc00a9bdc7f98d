"""Benchmark reports (Markdown, HTML, CSV, terminal) and the ``benchmark`` command end to end."""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from mmn_ddx.cli.benchmark import DEV_CASES, ChampionChoice, benchmark_app, mlflow_metrics
from mmn_ddx.data.contract import DIAGNOSES
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.data.importer import write_table
from mmn_ddx.features.modes import MODES
from mmn_ddx.training.evaluation.benchmark import COHORT_SETTING, BenchmarkResult, Cohort, run_benchmark
from mmn_ddx.training.evaluation.benchmark_methods import (
    BAYES,
    CASCADE,
    CASCADE_CHART_REVIEW,
    GOLD_COAST,
    SHORT_NAMES,
)
from mmn_ddx.training.evaluation.real_cases import evaluate_real_cases, read_real_cases
from mmn_ddx.training.evaluation.report import (
    NOT_FOR_CLINICAL_USE,
    fmt,
    print_tables,
    real_case_section,
    write_reports,
)

from .test_benchmark import fake_models


@pytest.fixture(scope="module")
def result() -> BenchmarkResult:
    cohort = generate_cohort(300, seed=12)
    models = {mode: fake_models(mode) for mode in MODES}
    return run_benchmark([Cohort("synthetic test", cohort, synthetic=True)], models, n_boot=30, seed=2,
                         settings=("referral",))


def test_fmt_says_na_for_metrics_that_do_not_apply() -> None:
    assert fmt(math.nan) == "n/a"
    assert fmt(0.91234) == "0.912"
    assert fmt(0.91234, 0.9, 0.93) == "0.912 (0.900 to 0.930)"
    assert fmt(-0.008, -0.0101, -0.0069) == "-0.008 (-0.010 to -0.007)"


@pytest.fixture(scope="module")
def written(result: BenchmarkResult, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_reports(result, tmp_path_factory.mktemp("report") / "out", {"test cohort": "synthetic, 300 patients"})


def test_reports_hold_every_method_in_both_modes_with_plots_and_the_gain(result: BenchmarkResult,
                                                                         written: dict[str, Path]) -> None:
    paths = written
    out = paths["markdown"].parent
    markdown = paths["markdown"].read_text(encoding="utf-8")
    html = paths["html"].read_text(encoding="utf-8")
    for mode in MODES:
        assert f"## synthetic test: {mode}" in markdown
    for method in result.metrics["method"].unique():
        assert markdown.count(f"| {method} |") >= 2 * 2, method  # main and per-class tables, both modes
    assert "Gain of the champion (oracle) over the rule-based cascade" in markdown
    assert "Re-weighted to the 'referral' class priors (MMN 0.15, MND 0.7, CIDP 0.05, MADSAM 0.1)" in markdown
    images = re.findall(r"!\[[^]]*\]\((figures/[^)]+\.png)\)", markdown)
    assert len(images) == 2 * 4
    assert all((out / image).is_file() for image in images)
    assert html.count("data:image/png;base64,") == len(images)  # self-contained: opens offline
    assert "http://" not in html and "https://" not in html
    assert "Not for clinical use" in html and "Not for clinical use" in markdown
    # one notice in both reports: it may not claim synthetic training for a model of a user cohort
    assert NOT_FOR_CLINICAL_USE in markdown and "trained on synthetic data" not in markdown
    metrics = pd.read_csv(paths["metrics"])
    assert len(metrics) == len(result.metrics)
    assert pd.read_csv(paths["comparisons"])["comparison"].nunique() == 3


def test_reports_contain_no_patient_data(written: dict[str, Path]) -> None:
    for name in ("markdown", "html", "metrics", "comparisons"):
        assert "SYN-" not in written[name].read_text(encoding="utf-8")


def test_terminal_table_has_a_row_per_method_and_states_the_gain(result: BenchmarkResult) -> None:
    buffer = io.StringIO()
    print_tables(result, Console(file=buffer, width=80))
    text = buffer.getvalue()
    for mode in MODES:
        assert f"synthetic test: {mode}" in text
    rows = [line for line in text.splitlines() if line.startswith("│ ")]
    for name in (SHORT_NAMES[CASCADE], SHORT_NAMES[BAYES], "blurred"):
        assert sum(line.startswith(f"│ {name} ") for line in rows) == 2, name
    assert sum(line.startswith(f"│ {SHORT_NAMES[GOLD_COAST]} -> MND ") for line in rows) == 2  # detector table
    assert text.count("Gain of the champion") == 2 * 2
    assert "…" not in text  # piped output is widened, never cropped


REAL_CASES = [
    {"patient_id": "a", "age_at_onset_years": 40, "sex": "male", "nerves_definite_cb": 2, "diagnosis": "MMN"},
    {"patient_id": "b", "age_at_onset_years": 60, "sex": "female", "sensory_loss": "symmetric", "diagnosis": "CIDP"},
]


def test_real_development_cases_are_reported_in_every_view(result: BenchmarkResult, tmp_path: Path) -> None:
    """The champion's accuracy, log-loss and set coverage on real cases, beside the world's posterior and the
    cascade, with the n caveat: in the Markdown, the HTML and the terminal alike."""
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(case) for case in REAL_CASES) + "\n", encoding="utf-8")
    cases = read_real_cases(path)
    probs = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.2, 0.6, 0.1]])
    model = {"champion (test)": lambda frame: (probs, [["MMN"], ["CIDP", "MND"]])}
    sections = [real_case_section(evaluate_real_cases(cases, mode, model), mode, "cases.jsonl") for mode in MODES]
    paths = write_reports(result, tmp_path / "out", {"test cohort": "synthetic"}, sections)
    markdown = paths["markdown"].read_text(encoding="utf-8")
    log_loss = -(np.log(0.7) + np.log(0.6)) / 2
    for mode in MODES:
        assert f"## real development cases (n = 2): {mode}" in markdown
    assert markdown.count(f"| champion (test) | 1.000 | {log_loss:.3f} | 1.000 | 1.500 | n/a | n/a |") == 2
    assert markdown.count("| exact posterior of the literature world (data/priors.yaml) |") == 2
    assert markdown.count("| rule-based cascade (strict) |") == 2
    assert "a check, not a validation" in markdown
    html = paths["html"].read_text(encoding="utf-8")
    assert html.count("real development cases (n = 2)") >= 2 and "exact posterior of the literature world" in html
    buffer = io.StringIO()
    print_tables(result, Console(file=buffer, width=80), sections)
    text = buffer.getvalue()
    assert text.count("real development cases (n = 2)") == 2 and "check, not a validation" in " ".join(text.split())


def test_a_bad_real_cases_file_is_refused_before_any_work(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps({**REAL_CASES[0], "diagnosis": "ALS"}) + "\n", encoding="utf-8")
    refused = CliRunner().invoke(benchmark_app, ["--real-cases", str(path), "--out", str(tmp_path / "report"),
                                                 "--no-track"])
    assert refused.exit_code == 1, refused.output
    assert "--real-cases" in refused.output and "line 1" in refused.output
    assert not (tmp_path / "report").exists()


def test_mlflow_metrics_keep_each_cascades_figures_under_its_name(result: BenchmarkResult) -> None:
    """Both cascades are of kind "rules": one key per kind logged the chart-review cascade's coverage as the
    rules' coverage, the strict cascade's lost."""
    logged = mlflow_metrics(result)
    m = result.metrics
    for mode in MODES:
        keys = [k for k in logged if k.startswith(f"synthetic_test/{mode}/rules/") and k.endswith("/coverage")]
        cascades = m[(m["mode"] == mode) & (m["setting"] == COHORT_SETTING) & (m["kind"] == "rules")
                     & (m["metric"] == "coverage")].set_index("method")["estimate"]
        assert set(cascades.index) == {CASCADE, CASCADE_CHART_REVIEW} and cascades.nunique() == 2
        assert len(keys) == 2 and sorted(logged[k] for k in keys) == sorted(cascades)
        assert any("chart_review" in k for k in keys)


@pytest.mark.slow
def test_benchmark_command_end_to_end_with_a_user_cohort_and_mlflow(tmp_path: Path, tracking_uri: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny and quick: one family, few patients and resamples; the user cohort has one bad row. Run from a
    directory without the real development cases beside it: the report says they are not there."""
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)

    user = generate_cohort(150, seed=5)
    raw = user.astype(object).where(user.notna(), None)
    raw.loc[raw.index[0], "age_at_onset_years"] = 250.0  # outside the contract range
    write_table(raw, tmp_path / "user.csv")
    args = ["--quick", "--families", "logistic", "--n-train", "400", "--n-test", "300", "--n-boot", "20",
            "--settings", "new-patients", "--out", str(tmp_path / "report"), "--export-dir", str(tmp_path / "none"),
            "--data", str(tmp_path / "user.csv")]
    refused = CliRunner().invoke(benchmark_app, [*args, "--no-track"])
    assert refused.exit_code == 1
    assert "age_at_onset_years" in refused.output and "--skip-invalid" in refused.output
    assert not (tmp_path / "report").exists()

    done = CliRunner().invoke(benchmark_app, [*args, "--skip-invalid", "--tracking-uri", tracking_uri])
    assert done.exit_code == 0, done.output
    markdown = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    for mode in MODES:
        assert f"## user.csv: {mode}" in markdown and f"## synthetic test (n=300, seed 1): {mode}" in markdown
    assert markdown.count(f"| {BAYES} |") == 2 * 3  # synthetic only: main, per-class, one re-weighted table
    assert f"| real development cases | none: {DEV_CASES} not found from this directory" in markdown
    runs = MlflowClient(tracking_uri).search_runs(
        [MlflowClient(tracking_uri).get_experiment_by_name("mmn-ddx").experiment_id],
        filter_string="tags.kind = 'benchmark'")
    assert len(runs) == 1
    artifacts = {a.path for a in MlflowClient(tracking_uri).list_artifacts(runs[0].info.run_id, "benchmark")}
    assert {"benchmark/report.md", "benchmark/report.html", "benchmark/table.txt", "benchmark/figures"} <= artifacts
    assert any(k.endswith("gain_over_best_rules/balanced_accuracy_all") for k in runs[0].data.metrics)
    left_out = "149 of 150 rows of user.csv (1 rejected by the contract, left out with --skip-invalid)"
    assert runs[0].data.params["rows of --data"] == left_out and left_out in markdown


def test_champion_choice_loads_an_exported_bundle_for_its_own_mode_only(quick_bundle_dir: Path, tmp_path: Path) -> None:
    auto = ChampionChoice("auto", quick_bundle_dir.parent)
    loaded = auto.load("at-presentation")
    assert loaded is not None
    assert str(quick_bundle_dir) in loaded.provenance and "saved" in loaded.label
    assert loaded.synthetic_seed == 0  # the fixture's training seed: the CLI refuses it as test seed
    cohort = generate_cohort(5, seed=9)
    assert loaded.predict(cohort).shape == (5, 4)
    assert loaded.sets is not None  # its sets read each record's information group from the record
    sets = loaded.sets(cohort, loaded.predict(cohort))
    assert len(sets) == 5 and all(s and set(s) <= set(DIAGNOSES) for s in sets)
    assert auto.load("with-treatment") is None  # nothing exported for that mode: train it
    assert ChampionChoice(str(quick_bundle_dir), tmp_path).load("with-treatment") is None
    assert ChampionChoice("trained", quick_bundle_dir.parent).load("at-presentation") is None
    with pytest.raises(typer.Exit):
        ChampionChoice(str(tmp_path / "missing"), tmp_path).load("at-presentation")


def test_benchmark_refuses_to_score_a_saved_champion_on_its_own_training_cohort(quick_bundle_dir: Path,
                                                                               tmp_path: Path) -> None:
    """``train --data my.csv`` then ``benchmark --data my.csv`` would score the champion on the patients it
    learned from: the same cohort (by content, in any file format) is refused before any training."""
    from ..conftest import QUICK_BUNDLE_PATIENTS, QUICK_BUNDLE_SEED

    cohort = tmp_path / "my_cohort.parquet"
    write_table(generate_cohort(QUICK_BUNDLE_PATIENTS, seed=QUICK_BUNDLE_SEED), cohort)
    argv = ["--data", str(cohort), "--n-test", "0", "--champion", str(quick_bundle_dir),
            "--out", str(tmp_path / "report"), "--no-track"]
    refused = CliRunner().invoke(benchmark_app, argv)
    assert refused.exit_code == 2, refused.output
    assert "was trained on my_cohort.parquet" in " ".join(refused.output.split())
    assert not (tmp_path / "report").exists()


@pytest.fixture(scope="module")
def user_cohort_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A champion exported by ``train --data my_cohort.csv`` (a user cohort alone), and that cohort."""
    from mmn_ddx.training.fitting.trainer import train_bundle

    cohort = generate_cohort(400, seed=21)
    path = train_bundle(cohort, seed=21, families=("logistic",), source="my_cohort.csv", generator_version=None,
                        export_dir=tmp_path_factory.mktemp("user-bundle"))
    return path, cohort


@pytest.mark.parametrize("change", ["one patient added", "shuffled, new IDs", "three among new patients"])
def test_benchmark_refuses_a_saved_champions_training_records_in_any_cohort(
        user_cohort_bundle: tuple[Path, pd.DataFrame], tmp_path: Path, change: str) -> None:
    """Audit 34: the training file plus one patient, or shuffled with new IDs, passed the whole-file digest, and
    the champion scored a balanced accuracy of 0.96 on its own patients (0.79 for a fresh model). Its bundle's
    record fingerprints find them row by row; the message gives row numbers and the way out, never a value."""
    bundle_dir, trained_on = user_cohort_bundle
    fresh = generate_cohort(40, seed=22)
    fresh["patient_id"] = [f"FRESH{i}" for i in range(len(fresh))]
    if change == "one patient added":
        test, expected = pd.concat([trained_on, fresh.head(1)], ignore_index=True), "400 of the 401 rows"
    elif change == "shuffled, new IDs":
        test = trained_on.sample(frac=1.0, random_state=3).reset_index(drop=True)
        test["patient_id"] = [f"NEW{i}" for i in range(len(test))]
        expected = "400 of the 400 rows"
    else:
        test, expected = pd.concat([fresh, trained_on.head(3)], ignore_index=True), "3 of the 43 rows"
    cohort = tmp_path / "held_out.csv"
    write_table(test, cohort)
    argv = ["--data", str(cohort), "--n-test", "0", "--champion", str(bundle_dir), "--out", str(tmp_path / "report"),
            "--no-track"]
    refused = CliRunner().invoke(benchmark_app, argv)
    assert refused.exit_code == 2, refused.output
    message = " ".join(refused.output.split())
    assert f"{expected} of held_out.csv" in message, message
    assert change != "three among new patients" or "(rows 41, 42, 43)" in message
    assert "are training records of the at-presentation champion" in message
    assert "--champion trained" in message and "Remove those rows" in message
    assert not [pid for pid in test["patient_id"] if str(pid) in message]  # row numbers only
    assert not (tmp_path / "report").exists()


def test_benchmark_refuses_train_data_records_in_the_test_cohort(tmp_path: Path) -> None:
    """`--train-data a.csv --data b.csv` was refused only when b was a's path: a copy with a patient added scored
    the families trained on a on their own patients."""
    training = generate_cohort(200, seed=24)
    write_table(training, tmp_path / "train.csv")
    write_table(pd.concat([generate_cohort(5, seed=25), training.head(2)], ignore_index=True), tmp_path / "test.csv")
    argv = ["--train-data", str(tmp_path / "train.csv"), "--data", str(tmp_path / "test.csv"), "--n-test", "0",
            "--champion", "trained", "--out", str(tmp_path / "report"), "--no-track"]
    refused = CliRunner().invoke(benchmark_app, argv)
    assert refused.exit_code == 2, refused.output
    message = " ".join(refused.output.split())
    assert "2 of the 7 rows of test.csv (rows 6, 7) are records of --train-data train.csv" in message, message
    assert "Remove those rows from one of the files" in message and not (tmp_path / "report").exists()


def test_only_a_bundle_without_fingerprints_falls_back_to_the_whole_file(
        user_cohort_bundle: tuple[Path, pd.DataFrame], quick_bundle_dir: Path) -> None:
    """A synthetic-only bundle stores no fingerprints (it never saw the user's rows) and an older bundle has none:
    both keep the whole-file check; a user-cohort bundle passes a cohort of other patients."""
    from mmn_ddx.cli._leakage import refuse_own_patients
    from mmn_ddx.training.artifact import data_digest

    bundle_dir, trained_on = user_cohort_bundle
    user = ChampionChoice(str(bundle_dir), bundle_dir).load("at-presentation")
    synthetic = ChampionChoice(str(quick_bundle_dir), quick_bundle_dir).load("at-presentation")
    assert user is not None and user.fingerprints is not None and len(user.fingerprints) == 400
    assert synthetic is not None and synthetic.fingerprints is None
    others = Cohort("others.csv", generate_cohort(100, seed=23), synthetic=False)
    refuse_own_patients("at-presentation", user, [others])  # no exit: none of its patients
    older = replace(user, fingerprints=None, training_digest=data_digest(trained_on))
    plus_one = Cohort("plus_one.csv", pd.concat([trained_on, others.frame.head(1)]), synthetic=False)
    refuse_own_patients("at-presentation", older, [plus_one])  # what it cannot see
    with pytest.raises(typer.Exit):
        refuse_own_patients("at-presentation", older, [Cohort("same.csv", trained_on, synthetic=False)])


def test_a_synthetic_test_cohort_of_the_champions_training_seed_is_refused(quick_bundle_dir: Path) -> None:
    """The synthetic side of the same refusal: a test cohort drawn with the seed of the champion's training data
    holds its training patients; another seed, or no synthetic test cohort, passes."""
    from mmn_ddx.cli._leakage import refuse_own_patients

    found = ChampionChoice(str(quick_bundle_dir), quick_bundle_dir).load("at-presentation")
    assert found is not None and found.synthetic_seed == 0
    test = Cohort("synthetic test", generate_cohort(50, seed=0), synthetic=True)
    with pytest.raises(typer.Exit) as refused:
        refuse_own_patients("at-presentation", found, [test], seed=0)
    assert refused.value.exit_code == 2
    refuse_own_patients("at-presentation", found, [test], seed=1)
    refuse_own_patients("at-presentation", found, [], seed=0)


def test_benchmark_refuses_a_cohort_without_diagnoses_in_words_that_fit_a_test_cohort(tmp_path: Path) -> None:
    """The reference diagnosis is required of --data to score against, not as training data: the refusal said
    'training data' of the test cohort."""
    cohort = generate_cohort(5, seed=26)
    write_table(cohort.drop(columns=["diagnosis"]), tmp_path / "no_column.csv")
    blank = cohort.assign(diagnosis=cohort["diagnosis"].astype(object))
    blank.loc[1, "diagnosis"] = None
    write_table(blank, tmp_path / "blank.csv")
    for name, reason in (("no_column.csv", "no 'diagnosis' column"), ("blank.csv", "missing diagnosis")):
        argv = ["--data", str(tmp_path / name), "--n-test", "0", "--out", str(tmp_path / "report"), "--no-track"]
        refused = CliRunner().invoke(benchmark_app, argv)
        assert refused.exit_code == 1, refused.output
        message = " ".join(re.sub("[│┃]", " ", refused.output).split())  # a reason wrapped in its table cell, joined
        assert reason in message and "the reference diagnosis of every patient" in message, message
        assert "training" not in message.lower() and not (tmp_path / "report").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--seed", "0", "--train-seed", "0"], "--seed must differ from --train-seed"),
    (["--data", "{cohort}", "--train-data", "{cohort}"], "are the same file"),
    (["--n-test", "0"], "nothing to evaluate"),
    (["--families", "svm"], "--families: choose from"),
    (["--settings", "icu"], "--settings: choose from"),
])
def test_benchmark_command_refuses_bad_usage_before_any_work(args: list[str], message: str, tmp_path: Path) -> None:
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("patient_id\n", encoding="utf-8")
    argv = [a.format(cohort=cohort) for a in args] + ["--out", str(tmp_path / "report"), "--no-track"]
    refused = CliRunner().invoke(benchmark_app, argv)
    assert refused.exit_code == 2, refused.output
    assert message in " ".join(refused.output.split())
    assert not (tmp_path / "report").exists()
