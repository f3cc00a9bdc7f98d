"""The field table: the shared v1 dictionary's fields plus its cross-field rules, read into typed specs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mmn_ddx.data.contract import (
    DIAGNOSES,
    FEATURE_FIELDS,
    FIELD_NAMES,
    ID_FIELD,
    LABEL,
    MRC_FIELDS,
    MRC_REGIONS,
    empty_frame,
    fields,
    label_spec,
    rules,
    to_canonical,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "data" / "data_dictionary.yaml"
SHARED = REPO.parent / "shared" / "data-dictionary.yaml"


def test_shipped_dictionary_keeps_every_field_of_the_shared_v1_one() -> None:
    """The shared v1 file is the compatibility reference: same schema version, label and fields (name, type,
    values, range, requiredness, meaning), in the same order; the shipped file may add a ``rules`` section."""
    if not SHARED.is_file():
        pytest.skip(f"shared data dictionary not found at {SHARED} (only present in the project workspace)")
    shipped = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    shared = yaml.safe_load(SHARED.read_text(encoding="utf-8"))
    assert shipped["schema_version"] == shared["schema_version"] == 1
    assert shipped["label"] == shared["label"]
    assert list(shipped["fields"]) == list(shared["fields"])
    assert shipped["fields"] == shared["fields"]
    assert set(shipped) - set(shared) <= {"rules"}


def test_rules_bound_each_nerve_count_by_the_nerves_studied() -> None:
    bounds = {rule.field: rule.at_most for rule in rules()}
    counts = [name for name in FIELD_NAMES if name.startswith("nerves_")]
    assert bounds == {
        **dict.fromkeys(counts, "motor_nerves_studied"),
        "sensory_nerves_abnormal": "sensory_nerves_studied",
    }
    for rule in rules():
        assert rule.at_most in rule.message, "the message must name the other field"
        assert rule.broken(np.array([5.0, 2.0, np.nan, 1.0]), np.array([2.0, 2.0, 1.0, np.nan])).tolist() == [
            True, False, False, False]  # a null on either side breaks nothing


def test_mrc_fields_are_the_eight_regional_grades_region_major() -> None:
    assert tuple(f"mrc_{region}_{side}" for region in MRC_REGIONS for side in ("left", "right")) == MRC_FIELDS
    assert MRC_REGIONS == ("arm_proximal", "arm_distal", "leg_proximal", "leg_distal")


def test_field_table_follows_the_yaml_in_order_and_content() -> None:
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    assert list(FIELD_NAMES) == list(raw["fields"])
    for name, spec in fields().items():
        entry = raw["fields"][name]
        assert spec.type == entry["type"]
        assert spec.required == bool(entry.get("required", False))
        assert spec.values == (tuple(entry["values"]) if "values" in entry else None)
        assert spec.range == (tuple(map(float, entry["range"])) if "range" in entry else None)


def test_only_age_and_sex_are_required() -> None:
    """Data dictionary header: every field except age_at_onset_years and sex may be null."""
    assert {name for name, spec in fields().items() if spec.required} == {"age_at_onset_years", "sex"}


def test_every_field_is_fully_specified_for_validation() -> None:
    for spec in fields().values():
        if spec.type == "category":
            assert spec.values, f"{spec.name}: a category needs its values"
        if spec.is_numeric:
            assert spec.range is not None and spec.range[0] <= spec.range[1], f"{spec.name}: a number needs a range"


def test_label_is_separate_from_the_fields_and_lists_the_four_diagnoses() -> None:
    assert LABEL not in fields()
    assert label_spec().values == DIAGNOSES == ("MMN", "MND", "CIDP", "MADSAM")
    assert ID_FIELD in FIELD_NAMES and ID_FIELD not in FEATURE_FIELDS
    assert set(FEATURE_FIELDS) == set(FIELD_NAMES) - {ID_FIELD}


@pytest.mark.parametrize("with_label", [False, True])
def test_empty_frame_has_the_canonical_dtypes(with_label: bool) -> None:
    frame = empty_frame(with_label=with_label)
    assert list(frame.columns) == list(FIELD_NAMES) + ([LABEL] if with_label else [])
    expected = {"float": "float64", "int": "Int64", "bool": "boolean", "string": "string", "category": "category"}
    for spec in fields().values():
        assert str(frame[spec.name].dtype) == expected[spec.type], spec.name
        if spec.type == "category":
            assert tuple(frame[spec.name].cat.categories) == spec.values


def test_to_canonical_casts_without_changing_values() -> None:
    frame = pd.DataFrame({"age_at_onset_years": [40, 55], "sex": ["male", "female"], "nerves_definite_cb": [2.0, None]})
    frame = frame.assign(**{name: None for name in FIELD_NAMES if name not in frame.columns})
    out = to_canonical(frame)
    assert out["nerves_definite_cb"].dtype == "Int64" and out["nerves_definite_cb"].tolist()[0] == 2
    assert out["nerves_definite_cb"].isna().tolist() == [False, True]
    assert out["sex"].tolist() == ["male", "female"]
    assert out["bulbar_weakness"].isna().all(), "a missing finding must stay null, never False"


def test_to_canonical_adds_missing_optional_fields_as_null() -> None:
    out = to_canonical(pd.DataFrame({"age_at_onset_years": [40.0], "sex": ["male"]}))
    assert list(out.columns) == list(FIELD_NAMES)
    assert out.drop(columns=["age_at_onset_years", "sex"]).isna().all().all()
