"""The fidelity report: its one table of tolerances obeys the stated rule, and the command's exit code
says whether every generated figure is within its tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mmn_ddx.cli import app
from mmn_ddx.data.contract import LABEL
from mmn_ddx.data.fidelity import (
    condition,
    criteria_figures,
    load_targets,
    marginal_figures,
    widest_tolerance,
    wilson_interval,
)

TARGETS = load_targets()
ALL_TARGETS = TARGETS["marginals"] + TARGETS["criteria"]


@pytest.mark.parametrize("target", ALL_TARGETS, ids=lambda t: t["id"])
def test_tolerance_is_no_wider_than_the_rule_allows(target: dict) -> None:
    low, high = target["tolerance"]
    widest_low, widest_high = widest_tolerance(target)
    assert low >= widest_low - 5e-4 and high <= widest_high + 5e-4  # tolerances are written to 3 decimals
    assert low <= target["published"] <= high
    assert target["source"].strip()


def test_ids_are_unique() -> None:
    ids = [t["id"] for t in ALL_TARGETS]
    assert len(ids) == len(set(ids))


def test_wilson_interval_matches_the_textbook_value() -> None:
    low, high = wilson_interval(0.5, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)


def test_null_never_satisfies_a_condition() -> None:
    frame = pd.DataFrame({"nerves_definite_cb": pd.array([2, 0, None], dtype="Int64"),
                          "sex": pd.Categorical(["male", None, "female"])})
    assert condition(frame, {"field": "nerves_definite_cb", "at_least": 1}).tolist() == [True, False, False]
    assert condition(frame, {"field": "sex", "in": ["male"]}).tolist() == [True, False, False]
    either = {"any": [{"field": "nerves_definite_cb", "at_least": 1}, {"field": "sex", "in": ["female"]}]}
    assert condition(frame, either).tolist() == [True, False, True]
    both = {"all": [{"field": "nerves_definite_cb", "at_least": 1}, {"field": "sex", "in": ["male"]}]}
    assert condition(frame, both).tolist() == [True, False, False]
    with pytest.raises(ValueError, match="unknown field 'blocks'"):
        condition(frame, {"field": "blocks", "in": [1]})


def test_sensitivity_and_specificity_count_only_met_verdicts() -> None:
    labels = pd.Series(["MMN", "MMN", "MMN", "MND", "CIDP"])
    verdicts = pd.DataFrame({"mmn_efns2010": ["definite", "not assessable", "possible", "probable", "not met"]})
    targets = [
        {"id": "se", "statistic": "sensitivity", "verdict": "mmn_efns2010", "met": ["definite", "probable"],
         "diagnosis": "MMN", "published": 0.5, "tolerance": [0.3, 0.4], "source": "x"},
        {"id": "sp", "statistic": "specificity", "verdict": "mmn_efns2010", "met": ["definite", "probable"],
         "controls": ["MND", "CIDP"], "published": 0.5, "tolerance": [0.4, 0.6], "source": "x"},
    ]
    table = criteria_figures(labels, verdicts, targets).set_index("id")
    assert table.loc["se", "generated"] == pytest.approx(1 / 3) and table.loc["se", "within"]
    assert table.loc["sp", "generated"] == pytest.approx(0.5) and table.loc["sp", "within"]
    assert table.loc["sp", "patients"] == 2


def test_marginals_are_computed_within_each_diagnosis() -> None:
    cohort = pd.DataFrame({LABEL: pd.Categorical(["MMN", "MMN", "MND", "MND"]),
                           "motor_nerves_studied": [4, 6, 5, 5], "nerves_dml_prolonged": [1, 2, 5, 5],
                           "symptom_duration_months": [10.0, 30.0, 1.0, 2.0]})
    targets = [
        {"id": "dml", "diagnosis": "MMN", "statistic": "per_nerve", "field": "nerves_dml_prolonged",
         "of": "motor_nerves_studied", "published": 0.3, "tolerance": [0.2, 0.4], "source": "x"},
        {"id": "duration", "diagnosis": "MMN", "statistic": "median", "field": "symptom_duration_months",
         "published": 25, "tolerance": [18.75, 31.25], "source": "x"},
    ]
    table = marginal_figures(cohort, targets).set_index("id")
    assert table.loc["dml", "generated"] == pytest.approx(0.3)
    assert table.loc["duration", "generated"] == pytest.approx(20.0) and table.loc["duration", "within"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


def _run(runner: CliRunner, tmp_path: Path, *extra: str) -> tuple[int, dict, str, str]:
    md, js = tmp_path / "fidelity.md", tmp_path / "fidelity.json"
    result = runner.invoke(app, ["cohort", "fidelity", "--n", "400", "--seed", "3", "--markdown", str(md),
                                 "--json", str(js), *extra])
    return result.exit_code, json.loads(js.read_text()), md.read_text(), result.stdout


def test_exit_code_says_whether_every_figure_is_within_tolerance(runner: CliRunner, tmp_path: Path) -> None:
    code, payload, markdown, stdout = _run(runner, tmp_path)
    figures = payload["figures"]
    assert [f["id"] for f in figures] == [t["id"] for t in ALL_TARGETS]
    outside = [f for f in figures if not f["within"]]
    assert payload["outside"] == len(outside)
    assert code == (1 if outside else 0)
    for figure in figures:
        assert figure["within"] == bool(
            np.isfinite(figure["generated"]) and figure["low"] <= figure["generated"] <= figure["high"]
        )
        assert figure["id"] in markdown and figure["id"] in stdout
    assert markdown.count("**no**") == len(outside)
    assert "not clinically validated" in stdout


def test_permissive_and_impossible_targets_decide_the_exit_code(runner: CliRunner, tmp_path: Path) -> None:
    permissive = {"marginals": [dict(t, tolerance=[0.0, 1000.0]) for t in TARGETS["marginals"]],
                  "criteria": [dict(t, tolerance=[0.0, 1.0]) for t in TARGETS["criteria"]]}
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(permissive), encoding="utf-8")
    code, payload, _, _ = _run(runner, tmp_path, "--targets", str(path))
    assert code == 0 and payload["outside"] == 0
    impossible = dict(permissive, criteria=[dict(TARGETS["criteria"][0], tolerance=[1.5, 2.0])])
    path.write_text(yaml.safe_dump(impossible), encoding="utf-8")
    code, payload, _, _ = _run(runner, tmp_path, "--targets", str(path))
    assert code == 1 and payload["outside"] == 1


def test_a_malformed_targets_file_is_a_clear_error(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text("marginals: []\n", encoding="utf-8")
    result = runner.invoke(app, ["cohort", "fidelity", "--n", "400", "--targets", str(path)])
    assert result.exit_code == 1 and "'marginals' and 'criteria'" in result.output
