"""Coverage of the rule-based criteria: how often each verdict occurs, overall and per reference diagnosis.

criteria.md §5 asks to report, per class, how often each rule set is not assessable because of nulls and
how often the cascade abstains ("unclassified") or cannot order the sets ("conflicting"): abstention is
part of the benchmark and must not be hidden inside an accuracy figure.
"""

from __future__ import annotations

import pandas as pd

from mmn_ddx.data import DIAGNOSES
from mmn_ddx.features.criteria._evaluate import VERDICT_COLUMNS

NO_VARIANT = "no variant met"
_ALL = "all"


def _counts(verdicts: pd.DataFrame, group: str) -> pd.DataFrame:
    rows = []
    for column in VERDICT_COLUMNS:
        if column not in verdicts.columns:
            raise ValueError(f"{column}: missing; pass the output of evaluate_criteria")
        values = verdicts[column].astype("object").fillna(NO_VARIANT)
        counts = values.value_counts(sort=False)
        order = [v for v in (*VERDICT_COLUMNS[column], NO_VARIANT) if v in counts.index]
        for verdict in order:
            rows.append((column, group, verdict, int(counts[verdict]), counts[verdict] / max(len(verdicts), 1)))
    return pd.DataFrame(rows, columns=["criteria", "group", "verdict", "n", "fraction"])


def criteria_coverage(verdicts: pd.DataFrame, diagnosis: pd.Series | None = None) -> pd.DataFrame:
    """Long table ``criteria, group, verdict, n, fraction`` from :func:`evaluate_criteria` output.

    ``group`` is "all", plus one group per reference diagnosis when ``diagnosis`` (aligned on the index)
    is given; ``fraction`` is relative to the group size. Verdicts that never occur are omitted.
    """
    tables = [_counts(verdicts, _ALL)]
    if diagnosis is not None:
        if not diagnosis.index.equals(verdicts.index):
            raise ValueError("diagnosis: index does not match the verdict rows")
        for label in DIAGNOSES:
            mask = (diagnosis == label).fillna(False).to_numpy(dtype=bool)
            if mask.any():
                tables.append(_counts(verdicts[mask], label))
    return pd.concat(tables, ignore_index=True)


def rule_based_coverage(verdicts: pd.DataFrame) -> float:
    """Fraction of patients the cascade assigns one of the four labels (not unclassified/conflicting)."""
    if len(verdicts) == 0:
        return float("nan")
    return float(verdicts["rule_based_label"].isin(DIAGNOSES).mean())
