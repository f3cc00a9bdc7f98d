"""The feature -> finding map: complete, faithful to the transformers, and readable by a clinician."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data.contract import FEATURE_FIELDS, fields, rules
from mmn_ddx.features import MODES, TREATMENT_FIELDS, ClinicalFeatures, feature_names, fields_unseen_in
from mmn_ddx.features._random_frame import random_frame
from mmn_ddx.features.findings import (
    DELIBERATELY_UNUSED,
    FINDING_GROUPS,
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
    assert {"patient_id"} == DELIBERATELY_UNUSED
    at_presentation = {f for finding in feature_map("at-presentation").values() for f in finding.fields}
    assert not at_presentation & set(TREATMENT_FIELDS)
    # what a model of each mode does not read is what its Bayes yardstick excludes
    for mode, features in (("at-presentation", at_presentation), ("with-treatment", used)):
        assert set(fields_unseen_in(mode)) == set(FEATURE_FIELDS) - features - DELIBERATELY_UNUSED


def _perturbations(
    frame: pd.DataFrame, other: pd.DataFrame, field: str, rng: np.random.Generator
) -> list[pd.DataFrame]:
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
        variants.append(
            frame.assign(**{field: pd.Series([None] * len(frame), index=frame.index, dtype=spec.pandas_dtype())})
        )
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
