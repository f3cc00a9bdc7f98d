"""The development check on real cases: reading the file, and the figures it reports."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from mmn_ddx.data import DIAGNOSES, draw_world, posterior
from mmn_ddx.features import fields_unseen_in
from mmn_ddx.training.evaluation.real_cases import (
    Statement,
    evaluate_real_cases,
    posterior_name,
    probabilistic_figures,
    read_overlay,
    read_real_cases,
    rule_figures,
)

_BESIDE_THE_CLONE = Path(__file__).resolve().parents[3] / "shared" / "clinical" / "real-cases" / "dev.jsonl"
DEV_CASES = Path(os.environ.get("MMN_DDX_DEV_CASES", _BESIDE_THE_CLONE))
"""Beside the repository's clone; a worktree elsewhere names the file with ``MMN_DDX_DEV_CASES``."""


def _write(tmp_path: Path, *lines: dict) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return path


CASE = {"patient_id": "a", "age_at_onset_years": 40, "sex": "male", "diagnosis": "MMN", "case_id": "a",
        "source": "x", "evidence": "y", "difficulty": "typical", "notes": "z", "nerves_definite_cb": 2}


def test_metadata_is_kept_apart_and_the_label_read(tmp_path: Path) -> None:
    cases = read_real_cases(_write(tmp_path, CASE, {**CASE, "patient_id": "b", "diagnosis": "CIDP"}))
    assert list(cases.labels) == [DIAGNOSES.index("MMN"), DIAGNOSES.index("CIDP")]
    assert cases.metadata[0]["difficulty"] == "typical"
    assert "notes" not in cases.frame.columns and cases.frame["nerves_definite_cb"].tolist() == [2, 2]


@pytest.mark.parametrize(("change", "message"), [
    ({"diagnosis": "ALS"}, "line 2: diagnosis must be one of"),
    ({"nerves_definite_cb": -1}, "line 2: "),
    ({"unknown_field": 1}, "line 2: "),
])
def test_a_bad_line_is_named(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_real_cases(_write(tmp_path, CASE, {**CASE, **change}))


def test_probabilistic_figures() -> None:
    probs = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.2, 0.6, 0.1]])
    labels = np.array([0, 1])
    figures = probabilistic_figures(probs, labels, sets=[["MMN"], ["CIDP", "MND"]])
    assert figures.accuracy == 0.5
    assert figures.log_loss == pytest.approx(-(np.log(0.7) + np.log(0.2)) / 2)
    assert figures.set_coverage == (1 + (DIAGNOSES[1] in ["CIDP", "MND"])) / 2
    assert figures.mean_set_size == 1.5


def test_rule_figures_count_abstentions_apart() -> None:
    figures = rule_figures(["MMN", "unclassified", "CIDP"], np.array([0, 0, 1]))
    assert figures.coverage == pytest.approx(2 / 3)
    assert figures.accuracy_when_labelled == 0.5
    assert figures.accuracy == pytest.approx(1 / 3)


@pytest.mark.skipif(not DEV_CASES.is_file(), reason="the shared real development cases are not beside the repo")
def test_the_real_development_cases_are_valid_records_and_get_figures() -> None:
    """Every v1 development case validates unchanged; evaluated here by the world's posterior and the rules only
    (evaluation, never fitting)."""
    cases = read_real_cases(DEV_CASES)
    assert len(cases.labels) == 15
    figures = evaluate_real_cases(cases, "at-presentation", {})
    posterior = figures["exact posterior of the literature world (data/priors.yaml)"]
    assert posterior.n == 15 and 0 <= posterior.accuracy <= 1 and posterior.log_loss is not None
    assert 0 <= figures["rule-based cascade (strict)"].coverage <= 1  # type: ignore[operator]


def test_each_model_is_scored_with_its_probabilities_and_its_prediction_sets(tmp_path: Path) -> None:
    """A model's (probabilities, sets) reach ``probabilistic_figures`` in its own argument order."""
    cases = read_real_cases(_write(tmp_path, CASE, {**CASE, "patient_id": "b", "diagnosis": "CIDP"}))
    probs = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.2, 0.6, 0.1]])
    sets = [["MMN"], ["CIDP", "MND"]]
    figures = evaluate_real_cases(cases, "at-presentation", {"model": lambda frame: (probs, sets)})
    assert figures["model"] == probabilistic_figures(probs, cases.labels, sets)
    assert figures["model"].set_coverage == 1.0 and figures["model"].mean_set_size == 1.5


def test_the_exact_posterior_row_names_its_world_the_literature_by_default(tmp_path: Path) -> None:
    """The row was 'exact posterior of the world' whatever the world; a given world's posterior is its own."""
    cases = read_real_cases(_write(tmp_path, CASE, {**CASE, "patient_id": "b", "diagnosis": "CIDP"}))
    world = draw_world(np.random.default_rng(1))
    literature = evaluate_real_cases(cases, "at-presentation", {})
    fitted = evaluate_real_cases(cases, "at-presentation", {}, world)
    assert posterior_name() == "exact posterior of the literature world (data/priors.yaml)"
    assert posterior_name() in literature
    row = f"exact posterior of the world {world.digest[:12]} ({world.source})"
    assert posterior_name(world) == row and posterior_name() not in fitted
    exact = posterior(cases.frame, exclude=fields_unseen_in("at-presentation"), world=world)
    assert fitted[row] == probabilistic_figures(exact, cases.labels)
    assert fitted[row].log_loss != literature[posterior_name()].log_loss


OVERLAY = Path(__file__).resolve().parents[2] / "benchmarks" / "real_cases" / "dev_v2_overlay.jsonl"


def test_an_overlay_adds_statements_and_never_replaces_a_value(tmp_path: Path) -> None:
    overlay_path = tmp_path / "overlay.jsonl"
    line = {"case_id": "a", "fields": {"motor_conduction_block": {"value": "multiple", "quote": "blocks"}}}
    overlay_path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    overlay = read_overlay(overlay_path)
    cases = read_real_cases(_write(tmp_path, CASE, {**CASE, "patient_id": "b", "case_id": "b"}), overlay)
    assert cases.frame["motor_conduction_block"].iloc[0] == "multiple"
    assert cases.frame["motor_conduction_block"].isna().tolist() == [False, True]
    with pytest.raises(ValueError, match="line 1: the overlay would replace nerves_definite_cb"):
        read_real_cases(_write(tmp_path, CASE), {"a": {"nerves_definite_cb": Statement(3, "three blocks")}})


@pytest.mark.parametrize(("line", "message"), [
    ({"case_id": "a", "fields": {"no_such_field": {"value": 1, "quote": "q"}}}, r"\['no_such_field'\] are not in"),
    ({"case_id": "a", "fields": {"sensory_ncs": {"value": "normal", "quote": " "}}}, r"\['sensory_ncs'\] carry no"),
    ({"fields": {}}, "expected a new case_id"),
])
def test_a_bad_overlay_line_is_named(tmp_path: Path, line: dict, message: str) -> None:
    path = tmp_path / "overlay.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_overlay(path)


@pytest.mark.skipif(not DEV_CASES.is_file(), reason="the shared real development cases are not beside the repo")
def test_the_v2_overlay_quotes_each_case_and_gives_valid_records() -> None:
    """Every overlay value is justified by a phrase of its own case's evidence or notes, quoted verbatim, and
    the v1+v2 records validate (evaluation only)."""
    overlay = read_overlay(OVERLAY)
    texts = {}
    for line in DEV_CASES.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        texts[case["case_id"]] = case["evidence"] + "\n" + case["notes"]
    assert set(overlay) == set(texts)
    for case_id, statements in overlay.items():
        for name, statement in statements.items():
            assert statement.quote in texts[case_id], (case_id, name)
    cases = read_real_cases(DEV_CASES, overlay)
    assert len(cases.labels) == 15
    assert cases.frame["motor_conduction_block"].notna().sum() == sum(
        "motor_conduction_block" in s for s in overlay.values())
