"""The consistency rules of contract v2: each one just inside / just outside, with one message everywhere.

A stated finding (``motor_conduction_block: single``) and a figure that proves it false (``nerves_definite_cb
>= 2``) are refused on the finding's field, naming the other field and the reason, by the record model
(Python API, HTTP), the cohort schema (importer, CLI) and the frame check (serving) alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mmn_ddx.data.contract import (
    Condition,
    Contradiction,
    contradictions,
    fields,
    frame_rule_problems,
    to_canonical,
)
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.data.importer import read_cohort, write_table
from mmn_ddx.data.record import RecordError, validate_record

BASE: dict[str, Any] = {"age_at_onset_years": 45.0, "sex": "female"}


def _values(name: str, condition: Condition) -> tuple[Any, Any]:
    """A value of ``name`` meeting ``condition`` and one just missing it (None when every value meets it)."""
    spec = fields()[name]
    if condition.operator == "in":
        if spec.type == "bool":
            inside = bool(condition.operands[0])
            return inside, not inside
        values = spec.values or ()
        outside = [v for k, v in enumerate(values) if float(k) not in condition.operands]
        return values[int(condition.operands[0])], outside[-1] if outside else None
    step = 1 if spec.type == "int" else 0.1
    bound = condition.operands[0]
    inside, outside = {
        ">": (bound + step, bound), ">=": (bound, bound - step), "<": (bound - step, bound),
        "<=": (bound, bound + step), "==": (bound, bound + step),
    }[condition.operator]
    cast = int if spec.type == "int" else float
    return cast(round(inside, 6)), cast(round(outside, 6))


def _cases(rule: Contradiction) -> list[tuple[str, dict[str, Any], bool]]:
    """(what, record, refused) around the rule's edge."""
    stated, other_stated = _values(rule.field, rule.finding)
    refuting, agreeing = _values(rule.other, rule.refuted_by)
    cases = [
        ("finding contradicted", {rule.field: stated, rule.other: refuting}, True),
        ("other field just outside", {rule.field: stated, rule.other: agreeing}, False),
        ("other field null", {rule.field: stated, rule.other: None}, False),
        ("finding null", {rule.field: None, rule.other: refuting}, False),
    ]
    if other_stated is not None:
        cases.append(("another finding", {rule.field: other_stated, rule.other: refuting}, False))
    return cases


def _id(rule: Contradiction) -> str:
    return f"{rule.field}={rule.finding.text}|{rule.other}{rule.refuted_by.text}"


@pytest.mark.parametrize("rule", contradictions(), ids=_id)
def test_each_rule_refuses_just_inside_and_accepts_just_outside_in_the_record_model(rule: Contradiction) -> None:
    for what, values, refused in _cases(rule):
        if refused:
            with pytest.raises(RecordError) as caught:
                validate_record({**BASE, **values})
            assert caught.value.problems == {rule.field: rule.message}, what
        else:
            validate_record({**BASE, **values})


@pytest.mark.parametrize("rule", contradictions(), ids=_id)
def test_the_importer_and_the_frame_check_refuse_the_same_rows_with_the_same_message(
        tmp_path: Path, rule: Contradiction) -> None:
    cases = _cases(rule)
    frame = to_canonical(pd.DataFrame([{**BASE, **values} for _, values, _ in cases]))
    expected = [refused for _, _, refused in cases]
    broken = frame_rule_problems(frame)
    assert [(found.field, found.message) for found, _ in broken] == [(rule.field, rule.message)]
    assert broken[0][1].tolist() == expected
    write_table(frame, tmp_path / "cohort.csv")
    result = read_cohort(tmp_path / "cohort.csv")
    rejected = result.rejections
    assert rejected["row"].tolist() == [row for row, refused in enumerate(expected, start=1) if refused]
    assert rejected["field"].tolist() == [rule.field] and rejected["reason"].tolist() == [rule.message]
    assert result.n_valid == len(cases) - 1


ISSUE_EXAMPLES = [
    ({"motor_conduction_block": "single", "nerves_definite_cb": 3}, "motor_conduction_block", "nerves_definite_cb"),
    ({"motor_conduction_block": "none", "nerves_probable_cb": 1}, "motor_conduction_block", "nerves_probable_cb"),
    ({"sensory_ncs": "normal", "sensory_nerves_abnormal": 2}, "sensory_ncs", "sensory_nerves_abnormal"),
    ({"anti_gm1_igm": "negative", "anti_gm1_igm_ratio": 1.0}, "anti_gm1_igm", "anti_gm1_igm_ratio"),
    ({"weakness_symmetry": "no_weakness", "mrc_leg_distal_right": 4.0}, "weakness_symmetry", "mrc_leg_distal_right"),
    ({"csf_protein_raised": False, "csf_protein_g_per_l": 1.2}, "csf_protein_raised", "csf_protein_g_per_l"),
]


@pytest.mark.parametrize(("values", "field", "other"), ISSUE_EXAMPLES, ids=[f for _, f, _ in ISSUE_EXAMPLES])
def test_the_issue_examples_are_refused_naming_both_fields(values: dict[str, Any], field: str, other: str) -> None:
    with pytest.raises(RecordError) as caught:
        validate_record({**BASE, **values})
    assert list(caught.value.problems) == [field] and other in caught.value.problems[field]


@pytest.mark.parametrize("zero", ["nerves_definite_cb", "nerves_probable_cb", "nerves_cidp_cb"])
def test_a_zero_count_without_its_denominator_agrees_with_none_found(zero: str) -> None:
    """"No conduction block was found": a zero count with motor_nerves_studied null is evidence of absence, like
    ``motor_conduction_block: none``; both together are one statement, not a contradiction."""
    record = validate_record({**BASE, zero: 0, "motor_nerves_studied": None, "motor_conduction_block": "none",
                              "motor_ncs_pattern": "normal"}).to_dict()
    assert record[zero] == 0 and record["motor_nerves_studied"] is None
    validate_record({**BASE, "sensory_nerves_abnormal": 0, "sensory_ncs": "normal"})
    with pytest.raises(RecordError):  # and reads like sensory_ncs: normal, so "abnormal" contradicts it
        validate_record({**BASE, "sensory_nerves_abnormal": 0, "sensory_ncs": "abnormal"})


def test_an_ungraded_block_is_not_refused_by_zero_graded_counts() -> None:
    """Only what the figures prove false is refused: blocks below the probable grade are still blocks."""
    validate_record({**BASE, "motor_conduction_block": "multiple", "motor_nerves_studied": 6,
                     "nerves_definite_cb": 0, "nerves_probable_cb": 0, "nerves_cidp_cb": 0})


@pytest.mark.parametrize(("onset", "months"), [(48.0, 36.0), (40.0, 6.0), (48.0, None)])
@pytest.mark.parametrize("raised", [True, False])
def test_a_csf_word_between_the_age_limits_is_accepted_either_way(onset: float, months: float | None,
                                                                     raised: bool) -> None:
    """0.55 g/L is above the criteria's limit at 40 (0.50 g/L) and below it at 51 (0.60 g/L), but the word is
    the laboratory's reading against its own limit (0.45 g/L is also in use), so the contract reads no age and
    refuses neither word (docs/contract.md)."""
    validate_record({**BASE, "age_at_onset_years": onset, "symptom_duration_months": months,
                     "csf_protein_g_per_l": 0.55, "csf_protein_raised": raised})


def test_every_contradiction_names_both_fields_and_involves_a_v2_field() -> None:
    for rule in contradictions():
        assert rule.other in rule.message and rule.finding.text in rule.message
        assert fields()[rule.field].since == 2 or fields()[rule.other].since == 2


@pytest.mark.parametrize(("values", "field"), [
    ({"motor_conduction_block": "multiple", "motor_nerves_studied": 0}, "motor_conduction_block"),
    ({"motor_conduction_block": "present", "motor_nerves_studied": 0}, "motor_conduction_block"),
    ({"motor_ncs_pattern": "mixed", "motor_nerves_studied": 0}, "motor_ncs_pattern"),
    ({"sensory_ncs": "abnormal", "sensory_nerves_studied": 0}, "sensory_ncs"),
], ids=lambda v: str(v))
def test_a_finding_in_a_nerve_with_no_nerve_studied_is_refused(values: dict[str, Any], field: str) -> None:
    """With 0 nerves studied every count is 0, so a word that needs a count of at least 1 is proved false."""
    with pytest.raises(RecordError) as caught:
        validate_record({**BASE, **values})
    assert list(caught.value.problems) == [field] and "nerves_studied == 0" in caught.value.problems[field]


def test_words_that_agree_with_zero_counts_are_accepted_with_no_nerve_studied() -> None:
    """'none' and 'normal' say what counts of 0 say (like nerves_definite_cb: 0 with 0 studied); 'axonal' has
    no count to contradict (docs/contract.md: not refused, since the generator still writes it there)."""
    validate_record({**BASE, "motor_nerves_studied": 0, "motor_conduction_block": "none",
                     "motor_ncs_pattern": "axonal", "sensory_nerves_studied": 0, "sensory_ncs": "normal"})


def test_the_synthetic_world_breaks_no_rule_even_in_its_rare_corners() -> None:
    """200 000 patients hold ~10 with 0 nerves studied (the atypical-finding component) beside words."""
    frame = to_canonical(generate_cohort(200_000, seed=8).drop(columns="diagnosis"))
    assert (frame["motor_nerves_studied"] == 0).sum() > 0
    assert [(rule.field, rule.other, int(rows.sum())) for rule, rows in frame_rule_problems(frame)] == []
