"""Scoring on Spark: MLflow's ``spark_udf`` over the exported model gives what ``mmn-ddx predict`` gives.

One local[2] session serves the whole module (starting a JVM takes seconds). The tests need Java: they
are skipped, saying so, only when no Java runtime is installed (``make test`` installs one).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mmn_ddx.cli import app
from mmn_ddx.data.contract import DIAGNOSES, LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.data.importer import write_table
from mmn_ddx.training.artifact.pyfunc import OUTPUT_COLUMNS, TOP_FINDINGS

on_spark = pytest.mark.skipif(
    shutil.which("java") is None,
    reason="no Java runtime: Spark needs one ('make test' installs openjdk-17-jre-headless)")
PATIENTS = 2000
runner = CliRunner()


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from mmn_ddx.serving.spark import session

    spark = session("local[2]", app_name="mmn-ddx-tests")
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spark") / "cohort.parquet"
    write_table(generate_cohort(PATIENTS, seed=23), path)
    return path


@pytest.fixture(scope="module")
def cli_table(quick_bundle_dir: Path, cohort_file: Path) -> pd.DataFrame:
    """The in-process batch output: ``mmn-ddx predict cohort.parquet -o out.parquet``."""
    out = cohort_file.with_name("cli.parquet")
    result = runner.invoke(app, ["predict", str(cohort_file), "-o", str(out), "--model", str(quick_bundle_dir)])
    assert result.exit_code == 0, result.output
    return pd.read_parquet(out).set_index("patient_id")


@pytest.fixture(scope="module")
def spark_table(spark: Any, quick_bundle_dir: Path, cohort_file: Path) -> pd.DataFrame:
    """``mmn-ddx predict cohort.parquet -o out/ --engine spark`` (the module's session is reused)."""
    out = cohort_file.with_name("spark-out")
    result = runner.invoke(app, ["predict", str(cohort_file), "-o", str(out), "--model", str(quick_bundle_dir),
                                 "--engine", "spark", "--spark-master", "local[2]"])
    assert result.exit_code == 0, result.output
    return pd.read_parquet(out)


@pytest.fixture
def home_champion(quick_bundle_dir: Path, _migrated_mlflow_db: Path, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home whose default store (``<home>/mlruns.db``) holds the quick model as the champion, no tracking URI
    set, and a working directory elsewhere (MLflow's own default store would be ``./mlflow.db`` there)."""
    import mlflow

    from mmn_ddx.training.fitting import tracking

    db = tmp_path / "mlruns.db"
    shutil.copyfile(_migrated_mlflow_db, db)
    tracking.configure(f"sqlite:///{db}")
    with tracking.run("spark-test") as run_id:
        mlflow.log_artifacts(str(quick_bundle_dir), "model")
    assert tracking.move_champion("mmn-ddx", tracking.register(f"runs:/{run_id}/model", "mmn-ddx"), None)
    tracking.reset()
    monkeypatch.setenv("MMN_DDX_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    yield tmp_path
    tracking.reset()


@pytest.mark.slow
@on_spark
def test_the_readme_snippet_scores_with_the_champion_of_the_home_store(spark: Any, home_champion: Path,
                                                                      cohort_file: Path) -> None:
    """``prediction_udf(spark, "models:/mmn-ddx@champion")`` resolves in ``<home>/mlruns.db``, as the CLI does."""
    from mmn_ddx.serving.spark import prediction_udf, score

    udf = prediction_udf(spark, "models:/mmn-ddx@champion")
    predicted = [row[0] for row in score(spark.read.parquet(str(cohort_file)).limit(40), udf)
                 .select("predicted_diagnosis").collect()]  # not toPandas(): pyspark's pandas-3 deprecation
    assert len(predicted) == 40 and set(predicted) <= set(DIAGNOSES)
    assert not (home_champion / "elsewhere" / "mlflow.db").exists()


@pytest.mark.slow
@on_spark
def test_spark_output_is_the_struct_of_the_model_columns(spark_table: pd.DataFrame) -> None:
    assert list(spark_table.columns) == ["row", *OUTPUT_COLUMNS]  # the input's data row first, as without Spark
    assert len(spark_table) == PATIENTS and spark_table["patient_id"].is_unique
    first = spark_table.iloc[0]
    assert len(first["top_findings"]) == len(first["top_contributions"]) == TOP_FINDINGS
    assert first["scale"] == "log-odds"


@pytest.mark.slow
@on_spark
def test_spark_output_equals_the_cli_batch_output(spark_table: pd.DataFrame, cli_table: pd.DataFrame) -> None:
    spark_rows = spark_table.set_index("patient_id").loc[cli_table.index]
    probabilities = [f"p_{d}" for d in DIAGNOSES]
    np.testing.assert_allclose(spark_rows[probabilities].to_numpy(), cli_table[probabilities].to_numpy(),
                               rtol=0, atol=1e-9)
    assert (spark_rows["predicted_diagnosis"] == cli_table["predicted_diagnosis"]).all()
    assert [" | ".join(s) for s in spark_rows["prediction_set"]] == cli_table["prediction_set"].tolist()
    assert (spark_rows["criteria_label"] == cli_table["criteria_label"]).all()
    assert [";".join(w) for w in spark_rows["warnings"]] == cli_table["warnings"].tolist()


@pytest.mark.slow
@on_spark
def test_spark_rows_are_the_input_rows_the_default_engine_names(spark_table: pd.DataFrame,
                                                                 cli_table: pd.DataFrame) -> None:
    """Rows come back in partition order: ``row`` names each one's data row in the file, as ``predict -o`` does."""
    assert spark_table.columns[0] == cli_table.columns[0] == "row"
    ids = generate_cohort(PATIENTS, seed=23)["patient_id"]
    assert spark_table.set_index("patient_id").loc[ids, "row"].tolist() == list(range(1, PATIENTS + 1))
    assert spark_table.set_index("patient_id").loc[cli_table.index, "row"].tolist() == cli_table["row"].tolist()


@pytest.mark.slow
@on_spark
def test_rows_keep_their_file_numbers_when_the_file_is_read_in_splits(spark: Any, quick_bundle_dir: Path,
                                                                     tmp_path: Path) -> None:
    """A large file is read by several tasks at once: each row keeps its place in the file, not in its task."""
    cohort = generate_cohort(600, seed=8)
    path = tmp_path / "split.parquet"
    cohort.to_parquet(path, row_group_size=50)
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(path.stat().st_size // 6))
    try:
        assert spark.read.parquet(str(path)).rdd.getNumPartitions() > 2  # several splits, not one read
        result = runner.invoke(app, ["predict", str(path), "-o", str(tmp_path / "out"), "--model",
                                     str(quick_bundle_dir), "--engine", "spark"])
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert result.exit_code == 0, result.output
    rows = pd.read_parquet(tmp_path / "out").set_index("patient_id")["row"]
    assert rows.loc[cohort["patient_id"]].tolist() == list(range(1, len(cohort) + 1))


@pytest.mark.slow
@on_spark
def test_spark_top_findings_are_the_predictors(spark_table: pd.DataFrame, quick_bundle_dir: Path,
                                               cohort_file: Path) -> None:
    """The same findings in the same order as the explanation every other entry point shows, with their effects on
    the predicted class (what the sentences say), not their SHAP sums."""
    from mmn_ddx.data.importer import read_cohort
    from mmn_ddx.serving.predictor import Predictor
    from mmn_ddx.serving.records import frame_records

    predictor = Predictor.load(str(quick_bundle_dir))
    valid = read_cohort(cohort_file).valid.head(300)
    results = predictor.predict_many(frame_records(valid), with_next_test=False)
    shown = [r.explanation.by_finding[:TOP_FINDINGS] for r in results]
    expected = [[f.label for f in findings] for findings in shown]
    contributions = [[f.effects[r.predicted_diagnosis] for f in findings] for r, findings in zip(results, shown,
                                                                                                 strict=True)]
    rows = spark_table.set_index("patient_id").loc[[r.patient_id for r in results]]
    assert [list(t) for t in rows["top_findings"]] == expected
    np.testing.assert_allclose(np.stack(rows["top_contributions"].to_numpy()), np.array(contributions), atol=1e-9)


@pytest.mark.slow
@on_spark
def test_an_invalid_row_fails_the_job_naming_field_and_reason(spark: Any, quick_bundle_dir: Path,
                                                              tmp_path: Path) -> None:
    """Named by its row in the file, as without Spark: file row 15 is at most row 10 of either Spark batch."""
    cohort = generate_cohort(20, seed=4).drop(columns=[LABEL])
    cohort["nerves_definite_cb"] = cohort["nerves_definite_cb"].astype("Float64")
    cohort.loc[14, "nerves_definite_cb"] = 2.718281  # six decimals: no progress-bar rate prints it
    path = tmp_path / "bad.parquet"
    cohort.to_parquet(path)
    result = runner.invoke(app, ["predict", str(path), "-o", str(tmp_path / "runs" / "out"), "--model",
                                 str(quick_bundle_dir), "--engine", "spark"])
    assert result.exit_code == 1
    assert "│ 15 │ nerves_definite_cb │ not a whole number" in _problems(result.output), result.output
    assert "2.718281" not in result.output  # values are never echoed
    assert [p.name for p in tmp_path.iterdir()] == ["bad.parquet"]  # no output folder (nor runs/): -o can be reused


@pytest.mark.slow
@on_spark
def test_text_cells_are_read_as_the_default_engine_reads_them(quick_bundle_dir: Path, tmp_path: Path) -> None:
    """Number and yes/no columns stored as text ("3", "True") score as without Spark; a cell that is not a number
    is refused naming the field and reason, never echoed (Spark's cast failed the job quoting it)."""
    cohort = generate_cohort(20, seed=4).drop(columns=[LABEL])
    cohort = cohort.astype({"nerves_definite_cb": "string", "bulbar_weakness": "string"})
    scored = {}
    for engine, out in (("spark", tmp_path / "spark"), ("local", tmp_path / "local.parquet")):
        cohort.to_parquet(tmp_path / "text.parquet")
        result = runner.invoke(app, ["predict", str(tmp_path / "text.parquet"), "-o", str(out), "--model",
                                     str(quick_bundle_dir), "--engine", engine])
        assert result.exit_code == 0, result.output
        scored[engine] = pd.read_parquet(out).set_index("patient_id").loc[cohort["patient_id"]]
    probabilities = [f"p_{d}" for d in DIAGNOSES]
    np.testing.assert_allclose(scored["spark"][probabilities], scored["local"][probabilities], rtol=0, atol=1e-9)

    cohort.loc[5, "nerves_definite_cb"] = "three"
    cohort.to_parquet(tmp_path / "bad.parquet")
    result = runner.invoke(app, ["predict", str(tmp_path / "bad.parquet"), "-o", str(tmp_path / "out"), "--model",
                                 str(quick_bundle_dir), "--engine", "spark"])
    assert result.exit_code == 1
    assert "│ 6 │ nerves_definite_cb │ not a number" in _problems(result.output), result.output
    assert "three" not in result.output


@pytest.mark.slow
@on_spark
def test_a_diagnosis_that_is_none_of_the_four_fails_the_job_as_without_spark(quick_bundle_dir: Path,
                                                                            tmp_path: Path) -> None:
    """A labelled cohort's diagnosis goes to the model, which checks it (not read): the default engine refuses the row
    too, where Spark used to drop the column unseen."""
    cohort = generate_cohort(20, seed=4)
    cohort[LABEL] = cohort[LABEL].astype(str)
    cohort.loc[16, LABEL] = "ALS"
    path = tmp_path / "labelled.parquet"
    cohort.to_parquet(path)
    result = runner.invoke(app, ["predict", str(path), "-o", str(tmp_path / "out"), "--model", str(quick_bundle_dir),
                                 "--engine", "spark"])
    assert result.exit_code == 1
    assert f"│ 17 │ {LABEL} │ not one of: " in _problems(result.output), result.output


def _problems(output: str) -> str:
    """The rows of the invalid-row table, spaces collapsed (the default engine's table: row, field, reason)."""
    return "\n".join(" ".join(line.split()) for line in output.splitlines())


def test_a_row_counted_in_a_spark_batch_is_not_called_a_file_row() -> None:
    """The model's refusal counts rows within a worker's batch: said so when it is the only answer."""
    from mmn_ddx.serving.spark import _in_batch

    assert (_in_batch("row 3 (patient_id b): field 'sex': not one of: male, female")
            == "row 3 of a Spark batch (patient_id b): field 'sex': not one of: male, female")
    assert _in_batch("patient_id b: field 'x': not a number") == "patient_id b: field 'x': not a number"


def test_the_cli_refuses_options_the_spark_engine_does_not_have(quick_bundle_dir: Path, cohort_file: Path,
                                                                tmp_path: Path) -> None:
    result = runner.invoke(app, ["predict", str(cohort_file), "-o", str(tmp_path / "out"), "--engine", "spark",
                                 "--skip-invalid"])
    assert result.exit_code == 1 and "--skip-invalid" in result.output
    result = runner.invoke(app, ["predict", str(cohort_file), "-o", str(tmp_path / "out.parquet"), "--engine", "spark"])
    assert result.exit_code == 1 and "Parquet directory" in result.output


def test_importing_the_project_does_not_import_pyspark() -> None:
    """pyspark is installed here (the spark extra), but only scoring on Spark may load it."""
    probe = ("import sys, mmn_ddx.cli, mmn_ddx.serving, mmn_ddx.serving.spark, mmn_ddx.serving.http, "
             "mmn_ddx.training.artifact.pyfunc, mmn_ddx.data.importer, mmn_ddx.data.schema\n"
             "import importlib.util\n"
             "assert importlib.util.find_spec('pyspark') is not None, 'pyspark is not installed'\n"
             "print([m for m in sys.modules if m == 'pyspark' or m.startswith('pyspark.')])")
    done = subprocess.run([sys.executable, "-W", "error", "-c", probe], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
