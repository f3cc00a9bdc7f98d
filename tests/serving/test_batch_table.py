"""The batch table (``serving.batch.score_table``) cut from the vectorised scores equals the full results.

``test_cli`` checks 25 generated patients through the CLI; here many more patients, sparse random records
too, so that every warning code and many findings appear: the warning codes computed for the whole batch
at once and the top findings worded without the engineered features where their describer ignores them
must be those of :meth:`Predictor.predict_many`, row by row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data.contract import FIELD_NAMES, ID_FIELD, LABEL, fields
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.features import MODES
from mmn_ddx.features._random_frame import random_frame
from mmn_ddx.features.findings import FINDING_GROUPS
from mmn_ddx.serving.batch import score_table
from mmn_ddx.serving.records import frame_records, validate_frame
from mmn_ddx.serving.wording import describe_finding
from mmn_ddx.serving.wording.findings import READS_FEATURES
from mmn_ddx.training.artifact import WARNING_CODES


def _sparse(frame: pd.DataFrame, null_rate: float, seed: int) -> pd.DataFrame:
    """``frame`` with each optional field blanked with probability ``null_rate`` (nulls break no rule)."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for name in out.columns:
        if name in FIELD_NAMES and not fields()[name].required and name != ID_FIELD:
            out.loc[rng.random(len(out)) < null_rate, name] = None
    return out


def _cohorts() -> Iterator[pd.DataFrame]:
    yield generate_cohort(300, seed=17).drop(columns=[LABEL])
    yield _sparse(generate_cohort(200, seed=3).drop(columns=[LABEL]), 0.7, seed=3)  # little information


@pytest.mark.parametrize("cohort", list(_cohorts()), ids=["generated", "sparse"])
def test_table_rows_equal_the_full_results(predictor: Any, cohort: pd.DataFrame) -> None:
    frame = validate_frame(cohort)
    table = score_table(predictor, frame)
    expected = predictor.predict_many(frame_records(frame), with_next_test=False)
    assert table["warnings"].tolist() == [";".join(w.code for w in r.warnings) for r in expected]
    assert table["top_findings"].tolist() == [" | ".join(f.sentence for f in r.explanation.by_finding[:3])
                                              for r in expected]
    assert table["criteria_agree"].tolist() == [
        pd.NA if r.criteria.agrees_with_model is None else r.criteria.agrees_with_model for r in expected]


def test_the_comparison_sees_every_warning_code(predictor: Any) -> None:
    """The cohorts above raise every warning, so the equality holds for each code, not only the common ones."""
    seen = set()
    for cohort in _cohorts():
        for codes in score_table(predictor, validate_frame(cohort))["warnings"]:
            seen.update(codes.split(";"))
    assert seen >= set(WARNING_CODES)


class _Untouchable(Mapping[str, float]):
    """Engineered features that fail the test if a describer reads them."""

    def __getitem__(self, name: str) -> float:
        raise AssertionError(f"read feature {name}")

    def __contains__(self, name: object) -> bool:
        raise AssertionError(f"asked for feature {name}")

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("iterated over the features")

    def __len__(self) -> int:
        raise AssertionError("counted the features")


@pytest.mark.parametrize("mode", MODES)
def test_only_the_listed_findings_read_the_engineered_features(mode: str) -> None:
    """The batch passes no features to a finding outside ``READS_FEATURES``: its describer must not read them."""
    assert READS_FEATURES and set(FINDING_GROUPS) > READS_FEATURES
    for record in random_frame(40, seed=11, null_rate=0.3).to_dict("records"):
        for group in set(FINDING_GROUPS) - READS_FEATURES:
            describe_finding(group, record, mode, _Untouchable())
