"""The strict single-record model: wrong input is rejected with the field name, nulls stay null."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from mmn_ddx.data.contract import DIAGNOSES, FIELD_NAMES, LABEL, all_rules, fields, rules
from mmn_ddx.data.importer import read_cohort
from mmn_ddx.data.record import (
    LabelledPatientRecord,
    PatientRecord,
    PatientRecordOptionalLabel,
    RecordError,
    validate_record,
    without_label,
)

VIGNETTES = Path(__file__).parent / "fixtures" / "vignettes.csv"


def _vignettes() -> dict[str, dict[str, Any]]:
    """The four fixture vignettes as JSON-like dicts (None for null, int for counts)."""
    frame = pd.read_csv(VIGNETTES, keep_default_na=False, dtype=str)
    out: dict[str, dict[str, Any]] = {}
    for row in frame.to_dict(orient="records"):
        record: dict[str, Any] = {}
        for name, text in row.items():
            spec = fields().get(name)
            if spec is None:  # the label
                record[name] = text
            elif text == "":
                record[name] = None
            elif spec.type == "float":
                record[name] = float(text)
            elif spec.type == "int":
                record[name] = int(text)
            elif spec.type == "bool":
                record[name] = text == "True"
            else:
                record[name] = text
        out[str(record.pop(LABEL))] = record
    return out


VIGNETTE_RECORDS = _vignettes()


def _problems(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(RecordError) as caught:
        validate_record(raw)
    return caught.value.problems


@pytest.fixture
def mmn() -> dict[str, Any]:
    return dict(VIGNETTE_RECORDS["MMN"])


@pytest.mark.parametrize("diagnosis", DIAGNOSES)
def test_each_vignette_is_a_valid_record_and_round_trips(diagnosis: str) -> None:
    """The fixture vignettes are v1 records: every v2 field comes back null (never a value)."""
    raw = VIGNETTE_RECORDS[diagnosis]
    record = validate_record(raw)
    v2_fields = [name for name, spec in fields().items() if spec.since == 2]
    assert v2_fields and not set(v2_fields) & set(raw)
    assert record.to_dict() == {**dict.fromkeys(FIELD_NAMES), **raw}
    assert list(record.to_dict()) == list(FIELD_NAMES)


def test_to_dict_is_model_dump() -> None:
    """``to_dict`` reads the instance's fields directly: the same dict, in the same order, as ``model_dump``."""
    minimal = validate_record({"age_at_onset_years": 40.0, "sex": "female"})
    labelled = LabelledPatientRecord.model_validate({**VIGNETTE_RECORDS["MMN"], LABEL: "MMN"})
    records = [*map(validate_record, VIGNETTE_RECORDS.values()), minimal, labelled]
    for record in records:
        assert record.to_dict() == record.model_dump() and list(record.to_dict()) == list(record.model_dump())


def test_minimal_record_keeps_every_unrecorded_field_null() -> None:
    record = validate_record({"age_at_onset_years": 40.0, "sex": "female"}).to_dict()
    unrecorded = {k: v for k, v in record.items() if k not in ("age_at_onset_years", "sex")}
    assert unrecorded and all(v is None for v in unrecorded.values()), "null must never become False/0/'none'"


def test_explicit_nulls_stay_null(mmn: dict[str, Any]) -> None:
    mmn.update(bulbar_weakness=None, nerves_definite_cb=None, muscle_atrophy=None)
    record = validate_record(mmn).to_dict()
    assert (
        record["bulbar_weakness"] is None and record["nerves_definite_cb"] is None and record["muscle_atrophy"] is None
    )


def test_unknown_field_is_named(mmn: dict[str, Any]) -> None:
    mmn["age_onset"] = 40
    assert "unknown field" in _problems(mmn)["age_onset"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("age_at_onset_years", "40"),  # a quoted number
        ("age_at_onset_years", True),  # a boolean is not a number
        ("bulbar_weakness", "yes"),
        ("bulbar_weakness", 1),
        ("nerves_definite_cb", 2.5),
        ("patient_id", 7),
        ("csf_protein_g_per_l", float("nan")),
    ],
)
def test_wrong_type_is_rejected_with_the_field(mmn: dict[str, Any], field: str, value: Any) -> None:
    mmn[field] = value
    assert set(_problems(mmn)) == {field}


def test_a_whole_float_is_the_count_and_a_fractional_one_is_rejected(mmn: dict[str, Any]) -> None:
    """The count rule (issue #15): spreadsheets store every number as a float, so 10.0 is the count 10."""
    mmn["nerves_definite_cb"] = 2.0
    count = validate_record(mmn).to_dict()["nerves_definite_cb"]
    assert count == 2 and type(count) is int
    mmn["nerves_definite_cb"] = 2.5
    assert _problems(mmn) == {"nerves_definite_cb": "not a whole number"}


def test_an_integer_is_accepted_where_a_float_is_expected(mmn: dict[str, Any]) -> None:
    mmn["age_at_onset_years"] = 38
    assert validate_record(mmn).to_dict()["age_at_onset_years"] == 38


def _linked_fields_null(field: str) -> dict[str, None]:
    """The other fields of every cross-field rule on ``field``, as nulls (a null contradicts nothing)."""
    return {name: None for rule in all_rules() if field in (rule.field, rule.other)
            for name in (rule.field, rule.other) if name != field}


@pytest.mark.parametrize("field", [name for name, spec in fields().items() if spec.range is not None])
def test_values_outside_the_range_are_rejected_and_the_bounds_accepted(mmn: dict[str, Any], field: str) -> None:
    spec = fields()[field]
    assert spec.range is not None
    low, high = spec.range
    cast = int if spec.type == "int" else float
    mmn.update(_linked_fields_null(field))  # a range test, not a rule test
    for bound in (low, high):
        validate_record({**mmn, field: cast(bound)})
    for outside in (low - 1, high + 1):
        assert field in _problems({**mmn, field: cast(outside)})


@pytest.mark.parametrize("field", [name for name, spec in fields().items() if spec.type == "category"])
def test_unknown_category_is_rejected(mmn: dict[str, Any], field: str) -> None:
    mmn.update(_linked_fields_null(field))  # every value is valid on its own; the rules have their own tests
    for value in fields()[field].values or ():
        validate_record({**mmn, field: value})
    assert field in _problems({**mmn, field: str(fields()[field].values[0]).upper()})  # type: ignore[index]


SPACES = [chr(code) for code in range(0x3001) if chr(code).isspace()]
"""Every whitespace character up to U+3000 (tab, newline, no-break space, ideographic space, ...)."""


def _text_fields(record: dict[str, Any]) -> list[str]:
    return [name for name in record if name in fields() and fields()[name].type in ("string", "category")]


@pytest.mark.parametrize("space", [" ", "\t", "\u00a0"], ids=["space", "tab", "nbsp"])
def test_text_values_are_read_without_surrounding_whitespace(mmn: dict[str, Any], space: str) -> None:
    """The importer's rule for one record: ' male' was refused by the Python and HTTP API, accepted from a file."""
    spaced = {name: f"{space}{mmn[name]}{space}{space}" for name in _text_fields(mmn)}
    assert {"patient_id", "sex", "onset_region"} <= set(spaced)
    assert validate_record({**mmn, **spaced}).to_dict() == validate_record(mmn).to_dict()


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("sex", " mail ", "'male' or 'female'"),  # stripped, still not a category: named with its values
    ("sex", "  ", "'male' or 'female'"),  # blank is the empty string, as in a JSON cohort: not a category
    ("sensory_loss", "", "'none'"),
    ("sex", 1, "'male' or 'female'"),  # a number is not a category, stripping or not
    ("age_at_onset_years", " 41 ", "valid number"),  # a quoted number stays refused, spaced or not
    ("nerves_definite_cb", "3", "valid integer"),
    ("bulbar_weakness", " true", "valid boolean"),
])
def test_stripping_converts_nothing_else(mmn: dict[str, Any], field: str, value: Any, reason: str) -> None:
    problems = _problems({**mmn, field: value})
    assert list(problems) == [field] and reason in problems[field]


def test_a_spaced_diagnosis_is_the_diagnosis_in_every_label_model(mmn: dict[str, Any]) -> None:
    assert LABEL not in without_label({**mmn, LABEL: " MMN\t"})
    assert PatientRecordOptionalLabel.model_validate({**mmn, LABEL: " MMN\t"}).to_dict()[LABEL] == "MMN"
    assert LabelledPatientRecord.model_validate({**mmn, LABEL: " MMN\t"}).to_dict()[LABEL] == "MMN"
    with pytest.raises(RecordError, match="not one of: MMN"):
        without_label({**mmn, LABEL: " ALS "})


@pytest.mark.parametrize("space", [*SPACES, "\u200b"], ids=lambda c: f"U+{ord(c):04X}")
def test_one_record_reads_text_as_the_cohort_readers_do(tmp_path: Path, space: str) -> None:
    """Parity with the JSON and CSV readers, character by character (U+200B is not whitespace: kept by all)."""
    record = {"patient_id": f"{space}P1{space}", "age_at_onset_years": 41, "sex": f"{space}male",
              "weakness_symmetry": f"asymmetric{space}", LABEL: f"{space}MMN"}
    jsonl = tmp_path / "cohort.jsonl"
    jsonl.write_text(json.dumps(record) + "\n", encoding="utf-8")
    with (tmp_path / "cohort.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL).writerows([list(record), list(record.values())])
    text = [*_text_fields(record), LABEL]
    try:
        one = LabelledPatientRecord.model_validate(record).to_dict()
        read: dict[str, Any] = {name: one[name] for name in text}
    except ValidationError as exc:
        read = {"refused": sorted(RecordError.from_validation_error(exc).problems)}
    for path in (jsonl, tmp_path / "cohort.csv"):
        cohort = read_cohort(path, require_label=True)
        if cohort.n_valid:
            assert {name: cohort.valid[name].iloc[0] for name in text} == read, path.name
        else:
            assert {"refused": sorted(cohort.rejections["field"])} == read, path.name
    assert read == ({name: value.strip() for name, value in record.items() if name in text} if space.isspace()
                    else {"refused": [LABEL, "sex", "weakness_symmetry"]})


@pytest.mark.parametrize("field", ["age_at_onset_years", "sex"])
def test_required_fields_must_be_present_and_non_null(mmn: dict[str, Any], field: str) -> None:
    assert field in _problems({k: v for k, v in mmn.items() if k != field})
    assert field in _problems({**mmn, field: None})


def test_every_problem_is_reported_at_once(mmn: dict[str, Any]) -> None:
    mmn.update(sex="Male", mrc_arm_distal_left=7.0, cramps="often", bogus=1)
    assert set(_problems(mmn)) == {"sex", "mrc_arm_distal_left", "cramps", "bogus"}


def test_records_are_immutable(mmn: dict[str, Any]) -> None:
    record = validate_record(mmn)
    with pytest.raises(ValidationError):
        record.sex = "female"  # type: ignore[misc]


def test_the_label_is_not_a_record_field_but_the_labelled_model_requires_it(mmn: dict[str, Any]) -> None:
    assert LABEL in _problems({**mmn, LABEL: "MMN"})
    assert LabelledPatientRecord.model_validate({**mmn, LABEL: "MMN"}).to_dict()[LABEL] == "MMN"
    with pytest.raises(ValidationError):
        LabelledPatientRecord.model_validate(mmn)
    with pytest.raises(ValidationError):
        LabelledPatientRecord.model_validate({**mmn, LABEL: "ALS"})
    assert issubclass(LabelledPatientRecord, PatientRecord)


@pytest.mark.parametrize("label", [*DIAGNOSES, None, "ALS", "mmn", "", 5])
def test_the_optional_label_model_checks_a_diagnosis_as_without_label_does(mmn: dict[str, Any], label: Any) -> None:
    """The HTTP API's record model: a diagnosis (or null) accepted, anything else refused in without_label's words."""
    try:
        without_label({**mmn, LABEL: label})
    except RecordError as exc:
        with pytest.raises(ValidationError) as refused:
            PatientRecordOptionalLabel.model_validate({**mmn, LABEL: label})
        assert RecordError.from_validation_error(refused.value).problems == exc.problems
    else:
        assert PatientRecordOptionalLabel.model_validate({**mmn, LABEL: label}).to_dict()[LABEL] == label
    assert issubclass(PatientRecordOptionalLabel, PatientRecord)


ISSUE_EXAMPLE = {"age_at_onset_years": 45.0, "sex": "male", "motor_nerves_studied": 2, "nerves_definite_cb": 5}
"""Issue #10: 2 motor nerves studied, 5 with definite conduction block - accepted by one entry point once."""


def test_a_count_above_its_denominator_is_rejected_naming_both_fields() -> None:
    problems = _problems(ISSUE_EXAMPLE)
    assert problems == {"nerves_definite_cb": next(r.message for r in rules() if r.field == "nerves_definite_cb")}
    assert "motor_nerves_studied" in problems["nerves_definite_cb"]


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule.field)
def test_every_rule_of_the_dictionary_binds_the_record(mmn: dict[str, Any], rule: Any) -> None:
    mmn.update({rule.at_most: 3, rule.field: 3})
    validate_record(mmn)  # equal is fine
    mmn[rule.field] = 4
    assert _problems(mmn)[rule.field] == rule.message
    mmn[rule.at_most] = None
    validate_record(mmn)  # a null bound contradicts nothing


def test_a_rule_is_not_reported_when_the_bound_itself_is_invalid() -> None:
    assert set(_problems({**ISSUE_EXAMPLE, "motor_nerves_studied": "2"})) == {"motor_nerves_studied"}
