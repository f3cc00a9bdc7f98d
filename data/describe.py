"""Per-diagnosis summary of a cohort, laid out like the tables of ``literature-priors.md``.

Why: the generator's parameters are anchored in ``/work/shared/clinical/literature-priors.md``
(sections 1-7 give, per diagnosis, % true, the category split or median/IQR of every field). This
table puts a generated or imported cohort in the same shape so anyone can hold the two side by side.

Rates are among *recorded* values: missingness ("not examined / not tested") is shown separately as
"% recorded" and never dilutes a rate, because the priors are also quoted among patients tested
(literature-priors.md section 6, "suggested testing probabilities").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmn_ddx.data.contract import DIAGNOSES, FEATURE_FIELDS, LABEL, FieldSpec, fields

ALL = "all"
STATISTIC = "statistic"
NOT_RECORDED = "–"


def describe_cohort(df: pd.DataFrame) -> pd.DataFrame:
    """Summary table: rows (field, statistic), columns = diagnoses present (in DIAGNOSES order) + "all".

    Statistics per field: ``% recorded``; then ``% true`` (booleans), ``% <value>`` for each category,
    or ``median (IQR)`` (numbers). Cells are formatted text ("45.0%", "41 (33–49)"); a "–" means no
    patient of that group has the field recorded. The first row is the number of patients.
    """
    groups = _groups(df)
    columns = {name: _summary(frame) for name, frame in groups.items()}
    table = pd.DataFrame(columns)
    table.index = pd.MultiIndex.from_tuples(table.index, names=["field", STATISTIC])
    return table


def _groups(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    groups: dict[str, pd.DataFrame] = {}
    if LABEL in df.columns:
        label = df[LABEL].astype(object)
        groups = {d: df.loc[label.eq(d).to_numpy()] for d in DIAGNOSES if label.eq(d).any()}
    groups[ALL] = df
    return groups


def _summary(frame: pd.DataFrame) -> dict[tuple[str, str], str]:
    cells: dict[tuple[str, str], str] = {("n", "patients"): str(len(frame))}
    specs = fields()
    for name in FEATURE_FIELDS:
        if name in frame.columns:
            cells.update(_field_summary(frame[name], specs[name]))
    return cells


def _field_summary(column: pd.Series, spec: FieldSpec) -> dict[tuple[str, str], str]:
    recorded = column.dropna()
    cells = {(spec.name, "% recorded"): _percent(len(recorded), len(column))}
    if spec.type == "bool":
        cells[(spec.name, "% true")] = _percent(int(recorded.astype(bool).sum()), len(recorded))
    elif spec.type == "category":
        counts = recorded.astype(object).value_counts()
        for value in spec.values or ():
            cells[(spec.name, f"% {value}")] = _percent(int(counts.get(value, 0)), len(recorded))
    elif spec.is_numeric:
        cells[(spec.name, "median (IQR)")] = _median_iqr(recorded.astype("float64").to_numpy())
    return cells


def _percent(count: int, total: int) -> str:
    return f"{100 * count / total:.1f}%" if total else NOT_RECORDED


def _median_iqr(values: np.ndarray) -> str:
    if values.size == 0:
        return NOT_RECORDED
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return f"{_number(median)} ({_number(q1)}–{_number(q3)})"


def _number(x: float) -> str:
    """Three significant digits at most, without scientific notation (CSF cells reach 5000)."""
    decimals = 0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
