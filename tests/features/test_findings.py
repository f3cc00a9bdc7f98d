"""The feature -> finding map: complete, faithful to the transformers, and readable by a clinician."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data.contract import FEATURE_FIELDS, fields, rules
from mmn_ddx.features import MODES, TREATMENT_FIELDS, ClinicalFeatures, feature_names
from mmn_ddx.features._random_frame import random_frame
from mmn_ddx.features.findings import (
    DELIBERATELY_UNUSED,
    FINDING_GROUPS,
    describe_finding,
    feature_map,
    finding_name,
    group_columns,
)
from mmn_ddx.features.weakness import MRC_FIELDS

COMPLETENESS = "fields_recorded"  # depends on every field by definition; excluded where that would hide gaps

COUNT_DENOMINATORS = {rule.field: rule.at_most for rule in rules()}
"""Each nerve count and the nerves-studied field it may not exceed (data dictionary rules)."""


@pytest.mark.parametrize("mode", MODES)
def test_every_output_column_is_mapped_to_a_known_group(mode: str) -> None:
    mapping = feature_map(mode)
    assert list(mapping) == feature_names(mode)
    assert {finding.group for finding in mapping.values()} <= set(FINDING_GROUPS)
    columns = group_columns(mode)
    assert sorted(c for group in columns.values() for c in group) == sorted(mapping)


def test_groups_are_few_and_named_for_clinicians() -> None:
    assert 15 <= len(FINDING_GROUPS) <= 25
    names = [finding_name(key) for key in FINDING_GROUPS]
    assert len(set(names)) == len(names)
    assert all(name[0].isupper() and "_" not in name and len(name) <= 50 for name in names)
    assert set(group_columns("with-treatment")) == set(FINDING_GROUPS)  # no empty group
    assert "treatment_response" not in group_columns("at-presentation")


@pytest.mark.parametrize("mode", MODES)
def test_column_labels_are_unique_readable_phrases(mode: str) -> None:
    labels = [finding.label for finding in feature_map(mode).values()]
    assert len(set(labels)) == len(labels)
    assert all(label[0].isupper() and "_" not in label and len(label) <= 60 for label in labels)


def test_every_contract_field_feeds_a_feature_or_is_deliberately_unused() -> None:
    mapping = feature_map("with-treatment")
    used = {f for column, finding in mapping.items() if column != COMPLETENESS for f in finding.fields}
    assert used <= set(FEATURE_FIELDS)
    assert used == set(fields()) - DELIBERATELY_UNUSED
    assert DELIBERATELY_UNUSED == {"patient_id"}
    at_presentation = {f for finding in feature_map("at-presentation").values() for f in finding.fields}
    assert not at_presentation & set(TREATMENT_FIELDS)


def _perturbations(frame: pd.DataFrame, other: pd.DataFrame, field: str, rng: np.random.Generator) -> list[pd.DataFrame]:
    """Contract-valid frames differing from ``frame`` in ``field`` only: null, or values taken from ``other``."""
    spec = fields()[field]
    if field in COUNT_DENOMINATORS:  # stay within the nerves studied
        whole = frame[COUNT_DENOMINATORS[field]].astype("float64").fillna(12).to_numpy()
        new: Any = pd.array(np.floor(rng.random(len(frame)) * (whole + 1)).astype(int), dtype="Int64")
    elif field in COUNT_DENOMINATORS.values():  # stay above every count it bounds
        parts = [frame[p].astype("float64").fillna(0) for p, w in COUNT_DENOMINATORS.items() if w == field]
        new = pd.array((np.max(parts, axis=0) + rng.integers(0, 4, len(frame))).astype(int), dtype="Int64")
    else:
        new = other[field]
    variants = [frame.assign(**{field: new})]
    if not spec.required:
        variants.append(frame.assign(**{field: pd.Series([None] * len(frame), index=frame.index, dtype=spec.pandas_dtype())}))
    return variants


@pytest.fixture(scope="module")
def perturbation_frame() -> pd.DataFrame:
    # Sparse blocks make rare dependencies observable (e.g. "motor NCS not done" reacts to one count
    # only when every other one is null; "UMN with LMN signs" to one arm region only when the rest of
    # the examination is unremarkable or missing).
    blocks = [random_frame(1500, seed=seed, null_rate=rate) for seed, rate in ((1, 0.2), (2, 0.6), (3, 0.85))]
    full_strength = random_frame(1500, seed=5, null_rate=0.2).assign(**{name: 5.0 for name in MRC_FIELDS})
    return pd.concat([*blocks, full_strength], ignore_index=True)


@pytest.fixture(scope="module")
def other_frame(perturbation_frame: pd.DataFrame) -> pd.DataFrame:
    return random_frame(len(perturbation_frame), seed=4, null_rate=0.2)


@pytest.mark.parametrize("mode", MODES)
def test_declared_fields_are_exactly_what_each_column_depends_on(
    mode: str, perturbation_frame: pd.DataFrame, other_frame: pd.DataFrame
) -> None:
    """Changing a field may only move columns that declare it, and every declared field moves its column."""
    transformer = ClinicalFeatures(mode=mode).set_output(transform="pandas").fit(perturbation_frame)
    base = transformer.transform(perturbation_frame)
    mapping = feature_map(mode)
    rng = np.random.default_rng(0)
    observed: dict[str, set[str]] = {column: set() for column in mapping}
    for field in FEATURE_FIELDS:
        for variant in _perturbations(perturbation_frame, other_frame, field, rng):
            changed = base.columns[~np.isclose(transformer.transform(variant), base, equal_nan=True).all(axis=0)]
            undeclared = [c for c in changed if field not in mapping[c].fields]
            assert not undeclared, f"{field} changes {undeclared} but is not among their declared fields"
            for column in changed:
                observed[column].add(field)
    for column, finding in mapping.items():
        assert set(finding.fields) == observed[column], column


# --- describe_finding ---------------------------------------------------------------------------

MMN = {
    "age_at_onset_years": 45.0, "sex": "male", "symptom_duration_months": 24.0, "course": "stepwise",
    "mrc_arm_distal_left": 3.0, "mrc_arm_distal_right": 5.0, "mrc_arm_proximal_left": 5.0,
    "mrc_arm_proximal_right": 5.0, "sensory_symptoms": False, "sensory_loss": "minor_vibration",
    "motor_nerves_studied": 8, "nerves_definite_cb": 3, "nerves_probable_cb": 1, "nerves_cidp_cb": 3,
    "anti_gm1_igm_ratio": 8.0, "csf_protein_g_per_l": 0.82, "csf_cells_per_ul": 2.0,
}


@pytest.mark.parametrize(("group", "record", "expected"), [
    ("conduction_block", MMN, "definite conduction block in 3 of 8 motor nerves, probable conduction block in 1, "
                              "conduction block by the CIDP definition in 3"),
    ("conduction_block", {**MMN, "motor_nerves_studied": None, "nerves_definite_cb": None, "nerves_probable_cb": None,
                          "nerves_cidp_cb": None}, "motor nerve conduction not done"),
    ("anti_gm1", MMN, "anti-GM1 IgM 8.0× cut-off (high titre)"),
    ("anti_gm1", {**MMN, "anti_gm1_igm_ratio": 0.4}, "anti-GM1 IgM 0.4× cut-off (negative)"),
    ("anti_gm1", {**MMN, "anti_gm1_igm_ratio": None}, "anti-GM1 IgM not tested"),
    ("csf", MMN, "CSF protein 0.82 g/L (1.6× the age-adjusted upper limit of 0.50 g/L), 2 cells/µL"),
    ("csf", {**MMN, "csf_protein_g_per_l": None, "csf_cells_per_ul": None}, "CSF not examined"),
    ("weakness_distribution", MMN, "weakest MRC 3 (left distal arm); weak in 1 of 4 examined regions (1 limb); "
                                   "distal > proximal"),
    ("asymmetry", MMN, "asymmetric by the EFNS/PNS rule in 1 of 2 region pairs, largest difference 2 MRC grades "
                       "(distal arm)"),
    ("sensory_signs", MMN, "no sensory symptoms, only minor vibration loss in the legs, ataxia not recorded"),
    ("course", MMN, "stepwise course, symptoms for 24 months (2 years)"),
])
def test_descriptions_state_the_patient_s_actual_values(group: str, record: dict[str, Any], expected: str) -> None:
    assert describe_finding(group, record) == expected


def test_nothing_unrecorded_is_described_as_normal() -> None:
    minimal = {"age_at_onset_years": 50.0, "sex": "female"}
    for group in FINDING_GROUPS:
        if group in ("age_sex", "record_completeness"):
            continue
        words = describe_finding(group, minimal)
        assert "not" in words and "normal" not in words.replace("not recorded", ""), (group, words)


def test_record_completeness_follows_the_mode() -> None:
    record = {**MMN, "ivig_response": "improved"}
    assert describe_finding("record_completeness", record) == f"17 of {len(FEATURE_FIELDS) - 2} fields recorded"
    assert describe_finding("record_completeness", record, mode="with-treatment") == (
        f"18 of {len(FEATURE_FIELDS)} fields recorded")


def test_descriptions_of_random_records_are_clean_and_agree_with_the_counts() -> None:
    frame = random_frame(60, seed=5, null_rate=0.3)
    for record in frame.to_dict("records"):  # rows of a canonical frame: NaN / pd.NA for nulls
        for group in FINDING_GROUPS:
            words = describe_finding(group, record)
            assert words and not any(bad in words for bad in ("None", "nan", "<NA>", "_")), (group, words)
        studied, blocked = record["motor_nerves_studied"], record["nerves_definite_cb"]
        if not pd.isna(studied) and studied > 0 and not pd.isna(blocked):
            assert describe_finding("conduction_block", record).startswith(
                f"definite conduction block in {blocked} of {studied} motor nerve")


@pytest.mark.parametrize("mode", MODES)
def test_given_features_word_every_finding_as_computing_them_would(mode: str) -> None:
    frame = random_frame(80, seed=9, null_rate=0.3)
    features = ClinicalFeatures(mode=mode).fit(frame).set_output(transform="pandas").transform(frame)
    for record, known in zip(frame.to_dict("records"), features.to_dict("records"), strict=True):
        for group in FINDING_GROUPS:
            assert describe_finding(group, record, mode, known) == describe_finding(group, record, mode), group


def test_unknown_groups_are_refused_with_the_known_ones() -> None:
    with pytest.raises(KeyError, match="conduction_block"):
        describe_finding("conduction_blocks", MMN)
