"""The field table: v2 keeps every field of the shared v1 dictionary (compatibility), adds the v2 fields and the
cross-field rules, read into typed specs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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
    SCHEMA_VERSION,
    empty_frame,
    fields,
    label_spec,
    rules,
    to_canonical,
)
from mmn_ddx.data.importer import read_cohort
from mmn_ddx.data.record import validate_record

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "data" / "data_dictionary.yaml"
SHARED_DIR = Path(os.environ.get("MMN_DDX_SHARED", REPO.parent / "shared"))
"""The project's shared folder (beside the repo in the project workspace; ``MMN_DDX_SHARED`` elsewhere)."""
SHARED = SHARED_DIR / "data-dictionary.yaml"
DEV_CASES = SHARED_DIR / "clinical" / "real-cases" / "dev.jsonl"
VIGNETTES = REPO / "tests" / "data" / "fixtures" / "vignettes.csv"
EXAMPLES = sorted((REPO / "examples").glob("*.json"))
METADATA = ("case_id", "source", "evidence", "difficulty", "notes", LABEL)
"""Keys of a real-case line that are not record fields (the publication and the authors' diagnosis)."""


def _words(text: object) -> str:
    return " ".join(str(text or "").split())


def _shared() -> dict[str, Any]:
    if not SHARED.is_file():
        pytest.skip(f"shared data dictionary not found at {SHARED} (only present in the project workspace)")
    return yaml.safe_load(SHARED.read_text(encoding="utf-8"))


def test_every_v1_field_is_in_v2_with_the_same_type_meaning_range_and_requiredness() -> None:
    """The shared v1 file is the compatibility reference: v2 keeps each v1 field's type, range and
    requiredness, its meaning (the v1 description, extended at most) and a superset of its values, the v1
    values first and in order (their category codes do not move); every added field is optional and marked."""
    shared, shipped = _shared(), yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    assert shared["schema_version"] == 1 and shipped["schema_version"] == SCHEMA_VERSION == 2
    assert shipped["label"] == shared["label"]
    for name, v1 in shared["fields"].items():
        v2 = shipped["fields"][name]
        assert {key: v2.get(key) for key in ("type", "range", "required")} == {
            key: v1.get(key) for key in ("type", "range", "required")}, name
        assert list(v2.get("values", []))[:len(v1.get("values", []))] == list(v1.get("values", [])), name
        assert _words(v1.get("description")) in _words(v2.get("description")), f"{name}: meaning changed"
        assert fields()[name].since == 1, name
    added = set(shipped["fields"]) - set(shared["fields"])
    assert added == {name for name, spec in fields().items() if spec.since == 2}
    assert all(not fields()[name].required for name in added)
    assert [name for name in FIELD_NAMES if name in shared["fields"]] == list(shared["fields"]), "v1 order kept"


def _v1_records() -> list[tuple[str, dict[str, Any]]]:
    """Every v1 record the project ships or tests with: the vignettes, the examples, the real dev cases."""
    frame = pd.read_csv(VIGNETTES, keep_default_na=False, dtype=str)
    records = [(f"vignette {row[LABEL]}", {k: _cell(k, v) for k, v in row.items() if k != LABEL})
               for row in frame.to_dict(orient="records")]
    records += [(path.name, json.loads(path.read_text(encoding="utf-8"))) for path in EXAMPLES]
    if DEV_CASES.is_file():
        for number, line in enumerate(DEV_CASES.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                raw = json.loads(line)
                records.append((f"dev case {number}", {k: v for k, v in raw.items() if k not in METADATA}))
    return records


def _cell(name: str, text: str) -> Any:
    kind = fields()[name].type
    if text == "":
        return None
    return {"float": float, "int": int, "bool": lambda t: t == "True"}.get(kind, str)(text)


def test_every_v1_record_validates_unchanged_under_v2_and_keeps_its_values() -> None:
    """The fixtures, the examples and the real development cases (when beside the repo) need no
    ``schema_version`` and come back with the same values, every v2 field null."""
    records = _v1_records()
    assert len(records) >= 5
    shared_fields = set(_shared()["fields"]) if SHARED.is_file() else set(FIELD_NAMES)
    for where, raw in records:
        assert set(raw) <= shared_fields, f"{where}: not a v1 record"
        assert validate_record(raw).to_dict() == {**dict.fromkeys(FIELD_NAMES), **raw}, where
    if not DEV_CASES.is_file():
        pytest.skip(f"real development cases not found at {DEV_CASES}: checked the fixtures and examples only")


def test_the_importer_reads_the_v1_vignettes_unchanged() -> None:
    result = read_cohort(VIGNETTES, require_label=True)
    assert result.n_rejected == 0
    expected = pd.read_csv(VIGNETTES, keep_default_na=False, dtype=str)
    for row, (_, raw) in zip(result.valid.to_dict(orient="records"), expected.iterrows(), strict=True):
        for name, text in raw.items():
            assert (None if pd.isna(row[name]) else row[name]) == (text if name == LABEL else _cell(name, text)), name
        assert all(pd.isna(row[name]) for name, spec in fields().items() if spec.since == 2)


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
