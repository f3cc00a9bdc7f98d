"""The two readings of a record: strict (an unknown never counts) and chart review (docs/criteria.md)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data import read_frame
from mmn_ddx.data.contract import rules
from mmn_ddx.features._random_frame import random_frame
from mmn_ddx.features.criteria import (
    CRITERIA_SETS,
    READINGS,
    evaluate_all,
    evaluate_criteria,
    evaluate_readings,
    explain_criteria,
    explain_criteria_batch,
)
from mmn_ddx.features.criteria import als_gold_coast as als
from mmn_ddx.features.criteria import cidp_ean2021 as cidp
from mmn_ddx.features.criteria import cidp_ean2021_investigations as inv
from mmn_ddx.features.criteria import mmn_efns2010 as mmn
from mmn_ddx.features.criteria.examples import example_frame

MET, NOT_MET, NA = "met", "not met", "not assessable"


def status(series: pd.Series) -> str:
    value = series.iloc[0]
    return NA if value is pd.NA else (MET if value else NOT_MET)


@pytest.mark.parametrize(("count", "studied", "strict", "chart_review"), [
    (2, None, True, True),     # evidence in both readings
    (1, None, None, False),    # strict: a lower bound; chart review: the complete count
    (0, None, None, False),    # "no conduction block was found": none found in chart review
    (0, 0, None, None),        # no nerve studied: not examined in both readings
    (None, 8, None, None),     # the count itself unrecorded: never read as zero
    (None, None, None, None),
])
def test_a_count_without_its_denominator(count: int | None, studied: int | None, strict: bool | None,
                                          chart_review: bool | None) -> None:
    others = {rule.field: None for rule in rules()  # every other count, so that none exceeds the nerves studied
              if rule.at_most == "motor_nerves_studied" and rule.field != "nerves_definite_cb"}
    frame = example_frame("typical_mmn", nerves_definite_cb=count, motor_nerves_studied=studied, **others)
    cols = read_frame(frame)
    got = [cols.with_reading(r).count_at_least("nerves_definite_cb", 2, "motor_nerves_studied").to_pandas()[0]
           for r in READINGS]
    assert [None if v is pd.NA else bool(v) for v in got] == [strict, chart_review]


ELEMENT_CASES = [
    # an exclusion the record does not mention is absent in chart review
    (mmn.e8_no_upper_motor_neuron_signs, "typical_mmn", {"upper_motor_neuron_signs": None}, NA, MET),
    (mmn.e8_no_upper_motor_neuron_signs, "typical_mmn", {"upper_motor_neuron_signs": True}, NOT_MET, NOT_MET),
    (mmn.c2_no_objective_sensory_loss, "typical_mmn", {"sensory_loss": None}, NA, MET),  # states an absence
    (als.gc3_no_conduction_block, "progressive_muscular_atrophy",
     {"nerves_definite_cb": None, "motor_nerves_studied": None}, NA, MET),
    # a supportive finding the record does not mention is not met
    (mmn.p3_mri_plexus_abnormal, "typical_mmn", {"mri_plexus_abnormal": None}, NA, NOT_MET),
    (inv.supportive_ultrasound, "typical_cidp", {"ultrasound_nerve_enlarged": None}, NA, NOT_MET),
    (inv.supportive_ultrasound, "typical_cidp", {"ultrasound_nerve_enlarged": True}, MET, MET),
    # a clinical or electrodiagnostic finding is never read as absent
    (mmn.c1_progressive_course, "typical_mmn", {"course": None}, NA, NA),
    (mmn.n3_sensory_normal_across_cb, "typical_mmn", {"sensory_normal_across_cb": None}, NA, NA),
    (cidp.typical_sensory_involvement, "typical_cidp", {"sensory_loss": None}, NA, NA),
    # counts: zero without denominator
    (inv.b_cv_two_nerves, "typical_cidp", {"nerves_cv_slowed": 0, "motor_nerves_studied": None}, NOT_MET, NOT_MET),
    (inv.b_cv_two_nerves, "typical_cidp", {"nerves_cv_slowed": 1, "motor_nerves_studied": None}, NA, NOT_MET),
    (inv.b_cv_two_nerves, "typical_cidp", {"nerves_cv_slowed": 3, "motor_nerves_studied": None}, MET, MET),
]


@pytest.mark.parametrize(("element", "example", "overrides", "strict", "chart_review"), ELEMENT_CASES,
                         ids=[f"{c[0].id}-{i}" for i, c in enumerate(ELEMENT_CASES)])
def test_elements_under_each_reading(element: Any, example: str, overrides: dict[str, Any], strict: str,
                                     chart_review: str) -> None:
    frame = example_frame(example, **overrides)
    assert (status(element(frame)), status(element(frame, "chart-review"))) == (strict, chart_review)


def test_chart_review_only_resolves_what_strict_leaves_undecided() -> None:
    """Every known element, category and step keeps its value; chart review never overrules the record."""
    from mmn_ddx.data.generator import generate_cohort

    frame = generate_cohort(2000, seed=9)
    both = evaluate_readings(frame)
    strict, chart = both["strict"], both["chart-review"]
    for kind in ("elements", "categories"):
        for set_id, results in getattr(strict, kind).items():
            for key, s in results.items():
                c = getattr(chart, kind)[set_id][key]
                assert not (s.true & ~c.true).any() and not (s.false & ~c.false).any(), key
    decided = np.isin(strict.labels, ["MMN", "MND", "CIDP", "MADSAM"])
    assert (chart.labels[decided] == strict.labels[decided]).all()
    assert np.isin(chart.labels, ["MMN", "MND", "CIDP", "MADSAM"]).sum() > decided.sum()


def test_readings_share_one_read_of_the_data_and_equal_separate_evaluations() -> None:
    frame = pd.concat([example_frame("typical_mmn", sensory_loss=None, motor_nerves_studied=None),
                       example_frame("classic_als", upper_motor_neuron_signs=None)], ignore_index=True)
    both = evaluate_readings(frame)
    for reading in READINGS:
        alone = evaluate_all(frame, reading)
        assert both[reading].cols.reading == reading
        assert both[reading].labels.tolist() == alone.labels.tolist()
        assert evaluate_criteria(frame, reading)["rule_based_label"].tolist() == alone.labels.tolist()


def test_unknown_reading_is_rejected() -> None:
    with pytest.raises(ValueError, match="reading"):
        evaluate_all(example_frame("typical_mmn"), "lenient")  # type: ignore[arg-type]


def test_the_explanation_states_the_chart_review_verdict() -> None:
    frame = example_frame("typical_mmn", upper_motor_neuron_signs=None, bulbar_weakness=None)
    strict, chart = explain_criteria(frame)[0], explain_criteria(frame, "chart-review")[0]
    assert (strict.verdict, chart.verdict) == (NA, "definite")
    e8 = next(e for e in chart.elements if e.id == "e8_no_upper_motor_neuron_signs")
    assert e8.status == MET
    assert {v.reading for v in explain_criteria(frame, "chart-review")} == {"chart-review"}
    assert {v.reading for v in explain_criteria(frame)} == {"strict"}


def test_chart_review_lists_the_unmentioned_findings_that_could_change_its_verdict() -> None:
    """Chart review reads an unmentioned supportive finding as absent ("not met"), but recording it may still
    change the verdict: those fields stay among the missing fields (here a raised CSF protein makes it probable)."""
    unmentioned = dict(nerves_definite_cb=0, nerves_probable_cb=1, csf_protein_g_per_l=None, csf_protein_raised=None,
                       ivig_response=None, mri_plexus_abnormal=None, ultrasound_nerve_enlarged=None)
    chart = explain_criteria(example_frame("typical_mmn", **unmentioned), "chart-review")
    mmn_verdict, cascade = chart[0], chart[-1]
    assert mmn_verdict.verdict == NOT_MET and "csf_protein_g_per_l" in mmn_verdict.missing_fields
    p2 = [e for e in mmn_verdict.elements if "csf_protein_g_per_l" in e.fields_used]
    assert p2 and all(e.status == NOT_MET and "csf_protein_g_per_l" in e.missing_fields for e in p2)
    assert "csf_protein_g_per_l" in cascade.missing_fields
    recorded = example_frame("typical_mmn", **(unmentioned | {"csf_protein_g_per_l": 0.7}))
    assert explain_criteria(recorded, "chart-review")[0].verdict == "probable"


NO_NCS = {name: None for rule in rules() for name in (rule.field, rule.at_most)} | {"sensory_normal_across_cb": None}
"""No nerve conduction study: the contract's nerve counts, their denominators, sensory conduction across blocks."""
ASSUMED = [
    # (vignette, unrecorded, set, its chart-review verdict, chart-review label, a recording that moves it down)
    ("typical_mmn", {"bulbar_weakness": None}, "mmn_efns2010", "definite", "MMN", {"bulbar_weakness": True}),
    ("classic_als", NO_NCS, "als_gold_coast", MET, "MND", {"motor_nerves_studied": 6, "nerves_definite_cb": 2}),
]


@pytest.mark.parametrize(("example", "unrecorded", "set_id", "verdict", "label", "recorded"), ASSUMED,
                         ids=[c[0] for c in ASSUMED])
def test_a_verdict_reached_by_reading_a_finding_as_absent_lists_it_among_the_missing_fields(
    example: str, unrecorded: dict[str, Any], set_id: str, verdict: str, label: str, recorded: dict[str, Any]
) -> None:
    """MMN definite with E9 (no bulbar weakness) unrecorded; Gold Coast met with criterion 3 (no conduction block,
    no demyelination) and no conduction study: chart review reaches the top category only by reading the unrecorded
    findings as absent, so recording them can move the verdict down. Their fields are among the verdict's and the
    cascade's missing fields, the same as under strict."""
    frame = example_frame(example, **unrecorded)
    strict, chart = explain_criteria(frame), explain_criteria(frame, "chart-review")
    (ours,) = [v for v in chart if v.criteria == set_id]
    assert (ours.verdict, chart[-1].verdict) == (verdict, label)
    assert next(v for v in strict if v.criteria == set_id).categories[verdict] == NA  # met only by assumption
    assumed = {f for e in ours.elements if e.used_in_verdict and e.status == MET for f in e.missing_fields}
    assert set(recorded) & assumed
    assert assumed <= set(ours.missing_fields) and assumed <= set(chart[-1].missing_fields)
    assert [v.missing_fields for v in chart] == [v.missing_fields for v in strict]
    down = explain_criteria(example_frame(example, **(unrecorded | recorded)), "chart-review")
    assert next(v for v in down if v.criteria == set_id).verdict == NOT_MET


def _cohort(name: str) -> pd.DataFrame:
    from mmn_ddx.data.contract import LABEL
    from mmn_ddx.data.generator import generate_cohort

    if name == "generated":  # the generator's reporting leaves findings unrecorded as clinics do
        return generate_cohort(400, seed=9).drop(columns=[LABEL])
    return random_frame(300, seed=21, null_rate=0.3)


@pytest.mark.parametrize(("cohort", "assumed_in"), [
    ("generated", {"mmn_efns2010", "cidp_ean2021", "als_gold_coast", "rule_based"}),
    ("sparse-random", {"mmn_efns2010", "cidp_ean2021", "rule_based"}),
])
def test_both_readings_list_the_same_missing_fields(cohort: str, assumed_in: set[str]) -> None:
    """Chart review only resolves what strict leaves undecided, so what recording a null field could change is the
    same in both readings: every verdict and the cascade list the same missing fields (the many-row path of
    ``explain_criteria_batch``; ``test_criteria_api`` holds it equal to one patient at a time), and a verdict whose
    category (the cascade: its deciding step) strict leaves undecided lists some."""
    rows = _cohort(cohort)
    strict, chart = explain_criteria_batch(rows), explain_criteria_batch(rows, "chart-review")
    assumed = set()
    for by_strict, by_chart in zip(strict, chart, strict=True):
        assert [v.missing_fields for v in by_chart] == [v.missing_fields for v in by_strict]
        for s, c in zip(by_strict, by_chart, strict=True):
            rests_on = next((key for key, value in c.categories.items() if value == MET), None)
            if rests_on is not None and s.categories[rests_on] == NA:
                assumed.add(c.criteria)
                assert c.missing_fields, (c.criteria, c.verdict)
    assert assumed == assumed_in  # the verdicts this test is about occur


def test_every_element_has_a_chart_review_meaning() -> None:
    for criteria in CRITERIA_SETS:
        for element in criteria.elements:
            if element.role == "exclusion":
                assert element.unmentioned in ("absent finding: met", "undecided"), element.id
            if element.role == "supportive":
                assert element.unmentioned == "absent finding: not met", element.id


def _tri_lists(ev: Any) -> dict[str, list[list[bool]]]:
    arrays = {f"{s}.{k}": v for kind in (ev.elements, ev.categories) for s, results in kind.items()
              for k, v in results.items()}
    arrays.update({f"rule_based.{k}": v for k, v in ev.steps.items()}, el_escorial=ev.el_escorial)
    return {name: [v.true.tolist(), v.false.tolist()] for name, v in arrays.items()}


@pytest.mark.parametrize("patients", [1, 2000])
def test_one_pass_over_both_readings_equals_each_reading_alone(patients: int) -> None:
    """``evaluate_readings`` evaluates the readings on stacked rows in one pass: every element, category,
    step and label of each reading is that reading's own evaluation, for one patient as for a cohort."""
    from mmn_ddx.data.generator import generate_cohort

    frame = generate_cohort(2000, seed=9).iloc[:patients]
    both = evaluate_readings(frame)
    for reading in READINGS:
        alone = evaluate_all(frame, reading)
        assert _tri_lists(both[reading]) == _tri_lists(alone)
        assert both[reading].labels.tolist() == alone.labels.tolist()
        assert both[reading].cols.reading == reading and len(both[reading].cols) == patients
