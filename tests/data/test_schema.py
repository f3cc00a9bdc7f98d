"""The pandera cohort schema: built from the field table, it catches each kind of contract violation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pandera.errors as pa_errors
import pytest
from pandera.config import ValidationDepth, config_context

from mmn_ddx.data.cells import PARSED_DTYPES
from mmn_ddx.data.contract import FIELD_NAMES, ID_FIELD, LABEL, fields, rules, to_canonical
from mmn_ddx.data.schema import DUPLICATE_ID, NOT_WHOLE, cohort_schema, validate_cohort

VIGNETTES = Path(__file__).parent / "fixtures" / "vignettes.csv"


@pytest.fixture
def cohort() -> pd.DataFrame:
    return to_canonical(pd.read_csv(VIGNETTES))


def _failures(frame: pd.DataFrame, **kwargs: bool) -> pd.DataFrame:
    with pytest.raises(pa_errors.SchemaErrors) as caught:
        validate_cohort(frame, **kwargs)
    return caught.value.failure_cases


def test_schema_columns_are_the_contract_fields_plus_the_label() -> None:
    assert list(cohort_schema().columns) == [*FIELD_NAMES, LABEL]
    assert not cohort_schema().columns[LABEL].required
    assert cohort_schema(require_label=True).columns[LABEL].required
    for name, spec in fields().items():
        assert cohort_schema().columns[name].nullable == (not spec.required), name


def test_valid_cohort_passes_with_and_without_label(cohort: pd.DataFrame) -> None:
    validate_cohort(cohort, require_label=True)
    validate_cohort(cohort.drop(columns=LABEL))


def _set(column: str, value: object, row: int = 0) -> Callable[[pd.DataFrame], None]:
    def change(frame: pd.DataFrame) -> None:
        frame.loc[row, column] = value

    return change


@pytest.mark.parametrize(
    ("change", "column", "reason"),
    [
        (_set("mrc_arm_distal_left", 5.5), "mrc_arm_distal_left", "outside the allowed range 0 to 5"),
        (_set("nerves_definite_cb", 41), "nerves_definite_cb", "outside the allowed range 0 to 40"),
        (_set("age_at_onset_years", None), "age_at_onset_years", "not_nullable"),
        (_set("sex", None), "sex", "not_nullable"),
        (_set(ID_FIELD, "V-MND"), ID_FIELD, DUPLICATE_ID),
    ],
)
def test_each_violation_is_reported_on_its_row_and_column(
    cohort: pd.DataFrame, change: Callable[[pd.DataFrame], None], column: str, reason: str
) -> None:
    change(cohort)
    failures = _failures(cohort)
    assert set(failures["column"]) == {column}
    assert reason in set(failures["check"])
    assert 0 in set(failures["index"])


def test_several_null_ids_are_not_duplicates(cohort: pd.DataFrame) -> None:
    cohort[ID_FIELD] = pd.array([None, None, "a", "b"], dtype="string")
    validate_cohort(cohort)


def test_label_is_required_and_non_null_only_for_training_data(cohort: pd.DataFrame) -> None:
    assert "column_in_dataframe" in set(_failures(cohort.drop(columns=LABEL), require_label=True)["check"])
    cohort[LABEL] = cohort[LABEL].astype(object).where(cohort.index != 1, None).astype(cohort[LABEL].dtype)
    validate_cohort(cohort)
    assert set(_failures(cohort, require_label=True)["index"]) == {1}


def test_unknown_columns_and_wrong_dtypes_are_refused(cohort: pd.DataFrame) -> None:
    assert "column_in_schema" in set(_failures(cohort.assign(age_onset=1.0))["check"])
    as_float = cohort.assign(nerves_definite_cb=cohort["nerves_definite_cb"].astype("float64"))
    assert set(_failures(as_float)["column"]) == {"nerves_definite_cb"}


def test_parsed_stage_reports_what_a_cast_would_hide() -> None:
    """Before the canonical cast, 2.5 in a count and "Male" in a category must be reported, not lost."""
    frame = pd.DataFrame({n: pd.Series([None, None], dtype=PARSED_DTYPES[s.type]) for n, s in fields().items()})
    frame["age_at_onset_years"] = [40.0, 41.0]
    frame["sex"] = pd.array(["male", "Male"], dtype="string")
    frame["nerves_definite_cb"] = [2.5, 2.0]
    with pytest.raises(pa_errors.SchemaErrors) as caught:
        cohort_schema(canonical=False).validate(frame, lazy=True)
    cases = caught.value.failure_cases
    assert sorted(zip(cases["column"], cases["index"], cases["check"], strict=True)) == [
        ("nerves_definite_cb", 0, NOT_WHOLE),
        ("sex", 1, "not one of: male, female"),
    ]



def test_pandera_settings_cannot_switch_validation_off(cohort: pd.DataFrame) -> None:
    cohort.loc[0, "mrc_arm_distal_left"] = 9.0
    with (
        config_context(validation_enabled=False, validation_depth=ValidationDepth.SCHEMA_ONLY),
        pytest.raises(pa_errors.SchemaErrors),
    ):
        validate_cohort(cohort)


def test_a_count_above_its_denominator_fails_on_its_own_column_and_row(cohort: pd.DataFrame) -> None:
    rule = next(r for r in rules() if r.field == "nerves_definite_cb")
    cohort.loc[1, ["motor_nerves_studied", "nerves_definite_cb"]] = [2, 5]
    failures = _failures(cohort)
    assert failures[["column", "index", "check"]].values.tolist() == [["nerves_definite_cb", 1, rule.message]]


def test_a_broken_rule_beside_a_missing_required_value_reports_both(cohort: pd.DataFrame) -> None:
    """A column's own failure has no rule number: with a broken rule in the same frame, reading the rule numbers
    crashed on it (None) instead of reporting the two rows."""
    rule = next(r for r in rules() if r.field == "nerves_definite_cb")
    cohort.loc[1, ["motor_nerves_studied", "nerves_definite_cb"]] = [2, 5]
    cohort.loc[3, "sex"] = pd.NA
    failures = _failures(cohort).sort_values("index")
    assert failures[["column", "index"]].values.tolist() == [["nerves_definite_cb", 1], ["sex", 3]]
    assert failures["check"].iloc[0] == rule.message


def test_a_rule_with_a_column_left_out_is_not_checked(cohort: pd.DataFrame) -> None:
    cohort.loc[1, ["motor_nerves_studied", "nerves_definite_cb"]] = [2, 5]
    only = tuple(c for c in cohort.columns if c != "motor_nerves_studied")
    validate_cohort(cohort, only=only)
