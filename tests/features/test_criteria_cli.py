"""``mmn-ddx criteria``: one record -> JSON verdicts; a cohort -> summary table; -o; invalid rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from mmn_ddx.cli.criteria import criteria_app
from mmn_ddx.data.contract import fields
from mmn_ddx.features.criteria.examples import EXAMPLE_NAMES, example_record

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """A parent app registering the sub-app as the lead does, so the command runs as ``... criteria FILE``."""
    parent = typer.Typer()
    parent.add_typer(criteria_app)

    @parent.command()
    def other() -> None:  # a second command keeps the parent a command group, like mmn-ddx
        """Placeholder."""

    return parent


def write_cohort(path: Path, records: list[dict[str, object]]) -> Path:
    frame = pd.DataFrame(records, columns=list(fields()))
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def cohort_csv(tmp_path: Path) -> Path:
    return write_cohort(tmp_path / "cohort.csv", [example_record(name) for name in EXAMPLE_NAMES])


def test_one_record_prints_every_verdict_with_its_elements_as_json(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(example_record("lewis_sumner")), encoding="utf-8")
    result = runner.invoke(app, ["criteria", str(path)])
    assert result.exit_code == 0, result.output
    verdicts = json.loads(result.stdout)
    assert [v["criteria"] for v in verdicts] == ["mmn_efns2010", "cidp_ean2021", "als_gold_coast", "rule_based"]
    cidp, combined = verdicts[1], verdicts[-1]
    assert (cidp["verdict"], cidp["variant"], combined["verdict"]) == ("CIDP", "multifocal", "MADSAM")
    assert all(e["status"] in ("met", "not met", "not assessable") for v in verdicts for e in v["elements"])


def test_one_record_with_out_writes_one_row(app: typer.Typer, tmp_path: Path) -> None:
    path, out = tmp_path / "patient.json", tmp_path / "verdicts.csv"
    path.write_text(json.dumps(example_record("typical_mmn")), encoding="utf-8")
    result = runner.invoke(app, ["criteria", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert table[["patient_id", "mmn_efns2010", "rule_based_label"]].values.tolist() == [
        ["example-mmn", "definite", "MMN"]]


def test_invalid_record_names_the_field_and_fails(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps({**example_record("typical_mmn"), "mrc_arm_distal_left": 7.25}), encoding="utf-8")
    result = runner.invoke(app, ["criteria", str(path)])
    assert result.exit_code == 1
    assert "mrc_arm_distal_left" in result.output and "7.25" not in result.output


def test_cohort_prints_a_summary_table_with_coverage(app: typer.Typer, cohort_csv: Path) -> None:
    result = runner.invoke(app, ["criteria", str(cohort_csv)])
    assert result.exit_code == 0, result.output
    for text in ("EFNS/PNS 2010 MMN", "EAN/PNS 2021 CIDP", "Gold Coast 2020 ALS", "rule-based cascade",
                 "coverage (one of the four labels), strict reading: 100.0%",
                 "coverage (one of the four labels), chart-review reading: 100.0%"):
        assert text in result.stdout


def test_cohort_with_out_writes_one_row_per_patient(app: typer.Typer, cohort_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "verdicts.parquet"
    result = runner.invoke(app, ["criteria", str(cohort_csv), "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert list(table["row"]) == [1, 2, 3, 4, 5]
    assert list(table["rule_based_label"]) == ["MMN", "MND", "MND", "CIDP", "MADSAM"]


@pytest.fixture
def cohort_with_bad_row(tmp_path: Path) -> Path:
    records = [example_record(name) for name in EXAMPLE_NAMES]
    records[1]["mrc_arm_distal_left"] = 7.25
    return write_cohort(tmp_path / "bad.csv", records)


def test_invalid_rows_are_reported_and_fail(app: typer.Typer, cohort_with_bad_row: Path, tmp_path: Path) -> None:
    out = tmp_path / "verdicts.csv"
    result = runner.invoke(app, ["criteria", str(cohort_with_bad_row), "-o", str(out)])
    assert result.exit_code == 1
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert any(line.startswith("│ 2 │ mrc_arm_distal_left │") for line in lines), result.output
    assert "--skip-invalid" in result.output
    assert "7.25" not in result.output  # the value is patient data
    assert not out.exists()


def test_skip_invalid_evaluates_the_valid_rows(app: typer.Typer, cohort_with_bad_row: Path, tmp_path: Path) -> None:
    out = tmp_path / "verdicts.jsonl"
    result = runner.invoke(app, ["criteria", str(cohort_with_bad_row), "--skip-invalid", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Skipping 1 invalid row(s); evaluating 4 of 5 rows" in result.output
    assert list(pd.read_json(out, lines=True)["row"]) == [1, 3, 4, 5]


def test_labelled_cohort_shows_agreement_with_the_reference(app: typer.Typer, tmp_path: Path) -> None:
    records = [{**example_record(name), "diagnosis": label}
               for name, label in zip(EXAMPLE_NAMES, ["MMN", "MND", "MND", "CIDP", "MADSAM"], strict=True)]
    path = tmp_path / "labelled.csv"
    pd.DataFrame(records).to_csv(path, index=False)
    result = runner.invoke(app, ["criteria", str(path)])
    assert result.exit_code == 0, result.output
    assert "Reference diagnosis (rows) x rule-based label (columns)" in result.stdout


def test_unwritable_output_format_fails_before_work(app: typer.Typer, cohort_csv: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["criteria", str(cohort_csv), "-o", str(tmp_path / "out.txt")])
    assert result.exit_code == 1
    assert "cannot write '.txt'" in result.output


def test_missing_file_fails_cleanly(app: typer.Typer, tmp_path: Path) -> None:
    result = runner.invoke(app, ["criteria", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1
    assert "no such file" in result.output


def test_json_list_is_read_as_a_cohort(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "cohort.json"
    path.write_text(json.dumps([example_record("classic_als"), example_record("typical_cidp")]), encoding="utf-8")
    result = runner.invoke(app, ["criteria", str(path)])
    assert result.exit_code == 0, result.output
    assert "Rule-based criteria: 2 patients" in result.stdout


def test_cohort_without_a_valid_row_fails_even_when_skipping(app: typer.Typer, tmp_path: Path) -> None:
    record = {**example_record("classic_als"), "mrc_arm_distal_left": 9.0}
    path = write_cohort(tmp_path / "all_bad.csv", [record])
    result = runner.invoke(app, ["criteria", str(path), "--skip-invalid"])
    assert result.exit_code == 1
    assert "no valid rows" in result.output


def test_reading_chooses_the_verdicts_and_every_reading_has_its_label_column(app: typer.Typer,
                                                                             tmp_path: Path) -> None:
    unmentioned = {**example_record("typical_mmn"), "upper_motor_neuron_signs": None, "bulbar_weakness": None}
    path = write_cohort(tmp_path / "cohort.csv", [unmentioned, example_record("classic_als")])
    for reading, label in (("strict", "unclassified"), ("chart-review", "MMN")):
        out = tmp_path / f"{reading}.csv"
        result = runner.invoke(app, ["criteria", str(path), "--reading", reading, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert f"{reading} reading" in result.stdout
        table = pd.read_csv(out)
        assert list(table["rule_based_label"]) == [label, "MND"]
        assert list(table["rule_based_label_strict"]) == ["unclassified", "MND"]
        assert list(table["rule_based_label_chart_review"]) == ["MMN", "MND"]
    for reading, coverage in (("strict", "50.0%"), ("chart-review", "100.0%")):
        assert f"coverage (one of the four labels), {reading} reading: {coverage}" in result.stdout


def test_one_record_under_chart_review(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps({**example_record("typical_mmn"), "upper_motor_neuron_signs": None}), encoding="utf-8")
    verdicts = {r: json.loads(runner.invoke(app, ["criteria", str(path), "--reading", r]).stdout)
                for r in ("strict", "chart-review")}
    assert (verdicts["strict"][0]["verdict"], verdicts["chart-review"][0]["verdict"]) == ("not assessable", "definite")


def test_the_shipped_example_under_chart_review_lists_the_finding_it_reads_as_absent(app: typer.Typer) -> None:
    """examples/patient_mmn.json does not record bulbar weakness: chart review reads it as absent (E9 met) to reach
    definite MMN, so ``bulbar_weakness`` is among the missing fields of the verdict and of the cascade, as the
    command's help says, and as under strict."""
    example = Path(__file__).resolve().parents[2] / "examples" / "patient_mmn.json"
    assert "bulbar_weakness" not in json.loads(example.read_text(encoding="utf-8"))
    verdicts = {r: json.loads(runner.invoke(app, ["criteria", str(example), "--reading", r]).stdout)
                for r in ("strict", "chart-review")}
    mmn, cascade = verdicts["chart-review"][0], verdicts["chart-review"][-1]
    assert (mmn["verdict"], cascade["verdict"]) == ("definite", "MMN")
    e9 = next(e for e in mmn["elements"] if e["reference"] == "E9")
    assert (e9["status"], e9["missing_fields"]) == ("met", ["bulbar_weakness"])
    assert "bulbar_weakness" in mmn["missing_fields"] and "bulbar_weakness" in cascade["missing_fields"]
    assert [v["missing_fields"] for v in verdicts["chart-review"]] == [v["missing_fields"] for v in verdicts["strict"]]


def test_unknown_reading_fails(app: typer.Typer, cohort_csv: Path) -> None:
    result = runner.invoke(app, ["criteria", str(cohort_csv), "--reading", "lenient"])
    assert result.exit_code != 0 and "lenient" in result.output
