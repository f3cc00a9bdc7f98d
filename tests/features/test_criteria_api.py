"""Public API of features.criteria: output contract, input errors, missing-data soundness, speed."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data import MRC_FIELDS
from mmn_ddx.data.contract import ID_FIELD, fields, rules, to_canonical
from mmn_ddx.data.kleene import SMALL
from mmn_ddx.features.criteria import (
    CRITERIA_SETS,
    READINGS,
    VERDICT_COLUMNS,
    CriteriaInputError,
    CriteriaSet,
    CriteriaVerdict,
    criteria_categories,
    criteria_elements,
    evaluate_all,
    evaluate_criteria,
    explain_criteria,
    explain_criteria_batch,
)
from mmn_ddx.features.criteria.examples import example_frame

_MRC_GRADES = np.array([0.0, 1.0, 2.0, 3.0, 3.5, 4.0, 4.5, 5.0, 5.0, 5.0])
_FLOAT_RANGES = {"symptom_duration_months": (0.0, 40.0), "age_at_onset_years": (20.0, 80.0),
                 "csf_protein_g_per_l": (0.2, 1.5), "csf_cells_per_ul": (0.0, 20.0), "anti_gm1_igm_ratio": (0.0, 6.0)}


def random_frame(n: int, seed: int, null_rate: float) -> pd.DataFrame:
    """Contract-valid records with every value (and null) pattern, no clinical structure."""
    rng = np.random.default_rng(seed)
    strength = rng.integers(0, 3, size=n)  # per patient: 0 = full strength, 1 = weak everywhere, 2 = mixed
    columns: dict[str, object] = {}
    for name, spec in fields().items():
        if name == ID_FIELD:
            values: object = [f"p{seed}-{i}" for i in range(n)]
        elif spec.type == "category":
            values = rng.choice(np.asarray(spec.values, dtype=object), size=n)
        elif spec.type == "bool":
            values = rng.random(n) < 0.5
        elif spec.type == "int":  # mostly 0-2, so that thresholds of 1-4 nerves are crossed often
            high = int(min(spec.range[1], 10))  # type: ignore[index]
            values = np.where(rng.random(n) < 0.8, rng.choice([0, 0, 0, 1, 2], size=n), rng.integers(0, high + 1, n))
        elif name.startswith("mrc_"):
            weak = rng.choice(_MRC_GRADES[_MRC_GRADES < 5], size=n)
            values = np.select([strength == 0, strength == 1], [5.0, weak], rng.choice(_MRC_GRADES, size=n))
        else:
            low, high = _FLOAT_RANGES.get(name, spec.range)  # type: ignore[arg-type]
            values = low + (high - low) * rng.random(n)
        columns[name] = values
    frame = to_canonical(pd.DataFrame(columns))
    return null_out(frame, rng, null_rate)


EVIDENCE_ONLY = [e for s in CRITERIA_SETS for e in s.elements if e.absent_unless_recorded]
"""Exclusions that only a recorded finding establishes (anti-MAG, anti-GM1, immunotherapy response)."""


def null_out(frame: pd.DataFrame, rng: np.random.Generator, rate: float, keep: tuple[str, ...] = ()) -> pd.DataFrame:
    out = frame.copy()
    for name, spec in fields().items():
        if not spec.required and name != ID_FIELD and name not in keep:
            out[name] = out[name].mask(rng.random(len(out)) < rate)
    pd.testing.assert_series_equal(out.dtypes, frame.dtypes)
    return out


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return random_frame(400, seed=1, null_rate=0.1)


# --- output contract --------------------------------------------------------------------------------------
def test_evaluate_returns_one_categorical_row_per_patient(cohort: pd.DataFrame) -> None:
    frame = cohort.set_axis([f"r{i}" for i in range(len(cohort))])
    out = evaluate_criteria(frame)
    assert list(out.columns) == [ID_FIELD, *VERDICT_COLUMNS]
    assert out.index.equals(frame.index)
    assert out[ID_FIELD].dtype == pd.StringDtype()
    assert out[ID_FIELD].equals(frame[ID_FIELD])
    for column, allowed in VERDICT_COLUMNS.items():
        assert list(out[column].cat.categories) == list(allowed)
        if column != "cidp_variant":
            assert out[column].notna().all(), column
    has_variant = out["cidp_ean2021"].isin(["CIDP", "possible CIDP"])
    assert (out["cidp_variant"].notna() == has_variant).all()


def test_empty_frame_gives_empty_result(cohort: pd.DataFrame) -> None:
    out = evaluate_criteria(cohort.iloc[:0])
    assert len(out) == 0 and list(out.columns) == [ID_FIELD, *VERDICT_COLUMNS]


def test_explain_agrees_with_evaluate_and_round_trips_through_json(cohort: pd.DataFrame) -> None:
    rows = evaluate_criteria(cohort.iloc[:25])
    for i in range(25):
        verdicts = explain_criteria(cohort.iloc[[i]])
        assert [v.criteria for v in verdicts] == ["mmn_efns2010", "cidp_ean2021", "als_gold_coast", "rule_based"]
        mmn, cidp, als, combined = verdicts
        row = rows.iloc[i]
        assert (mmn.verdict, cidp.verdict, als.verdict, combined.verdict) == (
            row["mmn_efns2010"], row["cidp_ean2021"], row["als_gold_coast"], row["rule_based_label"])
        assert als.el_escorial_proxy == row["als_el_escorial_proxy"]
        for verdict in verdicts:
            assert CriteriaVerdict.model_validate_json(verdict.model_dump_json()) == verdict


def test_explain_takes_exactly_one_patient(cohort: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="one-row DataFrame"):
        explain_criteria(cohort.iloc[:2])


@pytest.mark.parametrize("reading", READINGS)
@pytest.mark.parametrize("null_rate", [0.1, 0.6])
def test_batch_explanation_equals_one_explanation_per_row(reading: str, null_rate: float) -> None:
    """A frame of many rows takes the array path, one patient the value-by-value path (data.kleene.SMALL rows
    or fewer): the two must give the same verdicts, element by element."""
    rows = random_frame(120, seed=5, null_rate=null_rate)
    assert len(rows) > SMALL
    batch = explain_criteria_batch(rows, reading)
    assert batch == [explain_criteria(rows.iloc[[i]], reading) for i in range(len(rows))]


def test_record_dicts_give_the_same_results_as_the_canonical_frame(cohort: pd.DataFrame) -> None:
    records = cohort.astype(object).where(cohort.notna(), None).to_dict("records")
    from_frame, from_records = evaluate_all(cohort), evaluate_all(records)
    assert from_frame.labels.tolist() != []
    assert from_records.labels.tolist() == from_frame.labels.tolist()
    for kind in ("elements", "categories"):
        for set_id, results in getattr(from_frame, kind).items():
            for key, expected in results.items():
                got = getattr(from_records, kind)[set_id][key]
                assert np.array_equal(got.true, expected.true) and np.array_equal(got.known, expected.known), key
    for step, expected in from_frame.steps.items():
        assert np.array_equal(from_records.steps[step].true, expected.true), step


def test_feature_frames_are_nullable_booleans(cohort: pd.DataFrame) -> None:
    elements, categories = criteria_elements(cohort), criteria_categories(cohort)
    n_elements = sum(len(s.elements) for s in CRITERIA_SETS)
    assert elements.shape == (len(cohort), n_elements)
    assert "mmn_efns2010.definite" in categories and "rule_based.step4_gold_coast" in categories
    assert all(dtype == pd.BooleanDtype() for dtype in [*elements.dtypes, *categories.dtypes])


# --- missing data: never "not met" because of a null -----------------------------------------------------
def test_a_record_with_only_the_required_fields_is_not_assessable_everywhere() -> None:
    frame = to_canonical(pd.DataFrame([{"age_at_onset_years": 50.0, "sex": "female"}]))
    verdicts = explain_criteria(frame)
    assert [v.verdict for v in verdicts] == ["not assessable"] * 3 + ["unclassified"]
    evidence_only = {e.id for e in EVIDENCE_ONLY}
    assert {e.status for v in verdicts for e in v.elements if e.id not in evidence_only} == {"not assessable"}
    assert {e.status for v in verdicts for e in v.elements if e.id in evidence_only} == {"met"}
    for verdict in verdicts[:3]:
        for element in verdict.elements:
            if element.id not in evidence_only:
                assert element.missing_fields == [f for f in element.fields_used if f != "age_at_onset_years"]


@pytest.mark.parametrize("seed", [11, 12])
def test_nulling_fields_never_flips_a_known_result(cohort: pd.DataFrame, seed: int) -> None:
    """Kleene soundness: with less data an element, category or cascade step may become unknown, but a
    result that stays known must be the one the complete record gives. The evidence-only exclusions read an
    unrecorded finding as absent on purpose, so their fields stay recorded here (their own three-valued
    computation is checked below)."""
    keep = tuple(dict.fromkeys(f for e in EVIDENCE_ONLY for f in e.fields))
    cohort = statements_only_without_numbers(cohort)
    masked = without_orphan_zero_counts(cohort, null_out(cohort, np.random.default_rng(seed), rate=0.3, keep=keep))
    for compute in (criteria_elements, criteria_categories):
        full, partial = compute(cohort), compute(masked)
        known = partial.notna().to_numpy()
        assert (partial.to_numpy()[known] == full.to_numpy()[known]).all()
        assert (partial.isna().to_numpy() >= full.isna().to_numpy()).all()  # nulls never resolve an unknown


STATEMENTS = {  # a v2 statement and the numbers that say the same (schema version 2)
    "anti_gm1_igm": ("anti_gm1_igm_ratio",),
    "csf_protein_raised": ("csf_protein_g_per_l",),
    "sensory_ncs": ("sensory_nerves_abnormal", "sensory_normal_across_cb"),
    "motor_conduction_block": ("nerves_definite_cb", "nerves_probable_cb", "nerves_cidp_cb",
                               "nerves_any_demyelinating"),
    "motor_ncs_pattern": ("nerves_definite_cb", "nerves_probable_cb", "nerves_cidp_cb", "nerves_any_demyelinating",
                          "nerves_dml_prolonged", "nerves_cv_slowed", "nerves_fwave_prolonged",
                          "nerves_fwave_absent", "nerves_temporal_dispersion"),
    **{name: (*MRC_FIELDS, "weak_nerve_territories") for name in ("weakness_symmetry", "weakness_predominance",
                                                                    "weak_arms", "weak_legs")},
    **{name: ("reflexes_affected_limbs", "reflexes_unaffected_limbs") for name in ("reflexes_arms", "reflexes_legs")},
}


def statements_only_without_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Random statements beside their numbers contradict them (the contract refuses that); a statement then
    only fills in, so a known result can never depend on which of two contradicting sources was masked."""
    out = frame.copy()
    for statement, numbers in STATEMENTS.items():
        out[statement] = out[statement].mask(frame[list(numbers)].notna().any(axis=1))
    return out


def without_orphan_zero_counts(full: pd.DataFrame, masked: pd.DataFrame) -> pd.DataFrame:
    """Null the counts of a masked denominator: a zero count without its denominator is evidence ("none
    found", the contract's one deliberately non-monotone rule), which masking must not invent."""
    out = masked.copy()
    for rule in rules():  # counts are bounded by their denominators in the contract's rules
        lost = masked[rule.at_most].isna() & full[rule.at_most].notna()
        out[rule.field] = out[rule.field].mask(lost)
    return out


def test_evidence_only_exclusions_are_sound_before_reading_unknown_as_absent(cohort: pd.DataFrame) -> None:
    from mmn_ddx.data import read_frame

    cohort = statements_only_without_numbers(cohort)
    masked = null_out(cohort, np.random.default_rng(13), rate=0.3)
    assert EVIDENCE_ONLY
    for element in EVIDENCE_ONLY:
        full, partial = element.compute(read_frame(cohort)), element.compute(read_frame(masked))
        assert not (partial.true & ~full.true).any() and not (partial.false & ~full.false).any(), element.id
        read = element.read(read_frame(masked))
        assert read.known.all() and np.array_equal(read.false, partial.false), element.id


def test_each_element_reads_only_the_fields_it_declares() -> None:
    """Replace every undeclared field by other random data: the element must not change. This is what
    makes an element's ``fields_used`` and ``missing_fields`` trustworthy."""
    a, b = random_frame(300, seed=2, null_rate=0.25), random_frame(300, seed=3, null_rate=0.25)
    for criteria in CRITERIA_SETS:
        for element in criteria.elements:
            mixed = b.copy()
            for name in element.fields:
                mixed[name] = a[name]
            pd.testing.assert_series_equal(element(a), element(mixed), obj=element.id)


def test_each_declared_field_can_change_its_element() -> None:
    a, b = random_frame(1000, seed=4, null_rate=0.25), random_frame(1000, seed=5, null_rate=0.25)
    for criteria in CRITERIA_SETS:
        for element in criteria.elements:
            for name in element.fields:
                changed = a.copy()
                changed[name] = b[name]
                assert not all(element(a, r).equals(element(changed, r)) for r in READINGS), (
                    f"{element.id} ignores {name}")


# --- bad input ---------------------------------------------------------------------------------------------
def test_missing_optional_column_reads_as_null_and_a_missing_required_one_is_named(cohort: pd.DataFrame) -> None:
    """The one reader's rule (data.columns), as for the features: an absent optional field is all null."""
    nulled = cohort.assign(nerves_definite_cb=pd.NA, sensory_loss=None).astype(cohort.dtypes.to_dict())
    dropped = evaluate_criteria(cohort.drop(columns=["nerves_definite_cb", "sensory_loss"]))
    pd.testing.assert_frame_equal(dropped, evaluate_criteria(nulled))
    with pytest.raises(CriteriaInputError) as info:
        evaluate_criteria(cohort.drop(columns=["age_at_onset_years"]))
    assert set(info.value.problems) == {"age_at_onset_years"}


def test_compatible_dtypes_read_the_same_and_incompatible_ones_are_named(cohort: pd.DataFrame) -> None:
    frame = cohort.astype({"nerves_definite_cb": "float64", "course": "object"})
    pd.testing.assert_frame_equal(evaluate_criteria(frame), evaluate_criteria(cohort))
    with pytest.raises(CriteriaInputError, match="nerves_definite_cb: expected a numeric column, got dtype object"):
        evaluate_criteria(cohort.astype({"nerves_definite_cb": "object"}))


def test_out_of_range_value_names_field_and_row_but_not_the_value() -> None:
    frame = pd.concat([example_frame("typical_mmn"), example_frame("classic_als")], ignore_index=True)
    frame = frame.set_axis(["first", "second"])
    frame.loc["second", "mrc_arm_distal_left"] = 7.25
    with pytest.raises(CriteriaInputError) as info:
        evaluate_criteria(frame)
    assert list(info.value.problems) == ["mrc_arm_distal_left"]
    assert "second" in str(info.value) and "7.25" not in str(info.value)


def test_null_required_field_is_rejected() -> None:
    frame = example_frame("typical_mmn")
    frame["age_at_onset_years"] = np.nan
    with pytest.raises(CriteriaInputError, match="age_at_onset_years: null in a required field"):
        evaluate_criteria(frame)


def test_not_a_frame_is_rejected() -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        evaluate_criteria({"age_at_onset_years": 50.0})  # type: ignore[arg-type]


# --- speed ---------------------------------------------------------------------------------------------------
def test_twenty_thousand_patients_well_under_two_seconds(cohort: pd.DataFrame) -> None:
    big = pd.concat([cohort] * 50, ignore_index=True)
    start = time.perf_counter()
    out = evaluate_criteria(big)
    assert time.perf_counter() - start < 2.0
    assert len(out) == 20_000


def test_one_patient_is_fast_enough_to_serve_per_prediction() -> None:
    frame = example_frame("lewis_sumner")
    explain_criteria(frame)
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        explain_criteria(frame)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.05


def test_an_element_called_alone_checks_its_own_fields() -> None:
    from mmn_ddx.features.criteria.mmn_efns2010 import n1_definite_cb

    frame = example_frame("typical_mmn").assign(motor_nerves_studied=2.5)
    with pytest.raises(CriteriaInputError, match="motor_nerves_studied: fractional count"):
        n1_definite_cb(frame)
    other_fields_missing = example_frame("typical_mmn").drop(columns=["sensory_loss"])
    assert n1_definite_cb(other_fields_missing).tolist() == [True]


def test_an_element_naming_a_field_twice_is_refused_where_it_is_defined() -> None:
    """Gold Coast criterion 3 listed motor_ncs_pattern twice (its CIDP elements' fields plus the stated pattern),
    so a record without it showed the field twice among the missing ones."""
    toy = CriteriaSet("toy", "Toy", "none")
    with pytest.raises(ValueError, match="name a field twice"):
        toy.element("E1", "twice", fields=("sex", "sex"), role="exclusion")(lambda c: c.tri("sex"))
    for criteria in CRITERIA_SETS:
        for element in criteria.elements:
            assert len(set(element.fields)) == len(element.fields), element.id
