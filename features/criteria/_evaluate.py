"""Run all criteria sets over a canonical cohort frame: one verdict row per patient, the elements and
categories as boolean feature columns, and the shared :class:`Evaluation` that the explanation reads.

Input is a cohort frame, record dicts or columns already read (:mod:`data.columns`, the one reader).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from mmn_ddx.data import DIAGNOSES, ID_FIELD, read_frame, read_records, truth_codes
from mmn_ddx.features.criteria._logic import READINGS, SMALL, Columns, Reading, Tri
from mmn_ddx.features.criteria._registry import Categories, CriteriaSet
from mmn_ddx.features.criteria._results import (
    ALS_VERDICTS,
    CIDP_VARIANT_LABELS,
    CIDP_VARIANTS,
    CIDP_VERDICTS,
    EL_ESCORIAL_PROXY_VERDICTS,
    MET,
    MMN_VERDICTS,
    NOT_ASSESSABLE,
    NOT_MET,
    RULE_BASED_LABELS,
)
from mmn_ddx.features.criteria.als_gold_coast import ALS_GOLD_COAST, el_escorial_proxy
from mmn_ddx.features.criteria.cascade import cascade_steps, rule_based_labels
from mmn_ddx.features.criteria.cidp_ean2021 import CIDP_EAN2021
from mmn_ddx.features.criteria.mmn_efns2010 import MMN_EFNS2010

CRITERIA_SETS: tuple[CriteriaSet, ...] = (MMN_EFNS2010, CIDP_EAN2021, ALS_GOLD_COAST)
CRITERIA_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(f for s in CRITERIA_SETS for f in s.fields))
"""Every contract field read by at least one element."""

VERDICT_COLUMNS: dict[str, tuple[str, ...]] = {
    "mmn_efns2010": MMN_VERDICTS,
    "cidp_ean2021": CIDP_VERDICTS,
    "cidp_variant": CIDP_VARIANTS,
    "als_gold_coast": ALS_VERDICTS,
    "als_el_escorial_proxy": EL_ESCORIAL_PROXY_VERDICTS,
    "rule_based_label": RULE_BASED_LABELS,
}
"""Output columns of :func:`evaluate_criteria` (after ``patient_id``) and their allowed values."""


@dataclass
class Evaluation:
    """Everything computed for a frame: element results and categories per set, cascade steps, labels."""

    cols: Columns
    """The columns read, with their reading (``cols.reading``)."""
    elements: Mapping[str, Mapping[str, Tri]]
    categories: Mapping[str, Mapping[str, Tri]]
    steps: Mapping[str, Tri]
    el_escorial: Tri
    labels: np.ndarray
    stacked: Evaluation | None = None
    """For one reading of :func:`evaluate_readings`: the one evaluation of every reading, stacked, of which this
    is the rows ``rows`` (a caller reading every element at once can slice the whole arrays instead of
    cutting each value)."""
    rows: slice | None = None


def _columns(data: Columns | pd.DataFrame | Sequence[Mapping[str, Any]]) -> Columns:
    if isinstance(data, Columns):
        return data
    if isinstance(data, pd.DataFrame):
        return read_frame(data, CRITERIA_FIELDS)
    if isinstance(data, Sequence) and not isinstance(data, str):
        return read_records(data, CRITERIA_FIELDS)
    raise TypeError(f"expected a pandas DataFrame or a list of record dicts, got {type(data).__name__}")


def evaluate_all(data: Columns | pd.DataFrame | Sequence[Mapping[str, Any]], reading: Reading = "strict"
                 ) -> Evaluation:
    """Evaluate every element of every set once, then the categories and the cascade, under one reading
    (``strict`` or ``chart-review``, see :data:`features.criteria.READINGS`).

    ``data``: columns already read (the serving path: the prediction's one read), a cohort frame or
    record dicts (read and checked by :mod:`data.columns`).
    """
    return _evaluate(_columns(data).with_reading(reading))


def evaluate_readings(
    data: Columns | pd.DataFrame | Sequence[Mapping[str, Any]], readings: Sequence[Reading] = READINGS
) -> dict[Reading, Evaluation]:
    """:func:`evaluate_all` under several readings, reading the data once (what serving shows side by side).

    The readings are evaluated in one pass over the patients stacked once per reading
    (:meth:`data.columns.Columns.stacked_readings`), then cut back into one evaluation per reading: one
    patient's two readings then cost about one evaluation.
    """
    cols = _columns(data)
    if len(readings) == 1:
        return {readings[0]: evaluate_all(cols, readings[0])}
    stacked = _evaluate(cols.stacked_readings(readings))
    n = len(cols)
    return {reading: _rows(stacked, cols.with_reading(reading), slice(k * n, (k + 1) * n))
            for k, reading in enumerate(readings)}


class _Rows(Mapping[str, Tri]):
    """Rows ``start`` to ``stop`` of every value of a stacked evaluation's mapping, each cut when first read
    (serving reads every element of one reading but only the label of the other)."""

    __slots__ = ("_cut", "_source", "_start", "_stop")

    def __init__(self, source: Mapping[str, Tri], start: int, stop: int) -> None:
        self._source, self._start, self._stop = source, start, stop
        self._cut: dict[str, Tri] = {}

    def __getitem__(self, key: str) -> Tri:
        value = self._cut.get(key)
        if value is None:
            value = self._cut[key] = self._source[key].rows(self._start, self._stop)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._source)

    def __len__(self) -> int:
        return len(self._source)


def _rows(ev: Evaluation, cols: Columns, rows: slice) -> Evaluation:
    """The evaluation of ``rows`` of a stacked evaluation, for ``cols`` (those rows' patients and reading)."""
    start, stop = rows.start, rows.stop
    return Evaluation(
        cols=cols,
        elements={set_id: _Rows(results, start, stop) for set_id, results in ev.elements.items()},
        categories={set_id: _Rows(cats, start, stop) for set_id, cats in ev.categories.items()},
        steps=_Rows(ev.steps, start, stop),
        el_escorial=ev.el_escorial.rows(start, stop),
        labels=ev.labels[rows],
        stacked=ev,
        rows=rows,
    )


def _evaluate(cols: Columns) -> Evaluation:
    elements: dict[str, dict[str, Tri]] = {}
    categories: dict[str, Categories] = {}
    for criteria in CRITERIA_SETS:
        elements[criteria.id], categories[criteria.id] = criteria.evaluate(cols)
    steps = cascade_steps(categories["mmn_efns2010"], categories["cidp_ean2021"], categories["als_gold_coast"])
    return Evaluation(
        cols=cols,
        elements=elements,
        categories=categories,
        steps=steps,
        el_escorial=el_escorial_proxy(elements["als_gold_coast"]),
        labels=rule_based_labels(steps),
    )


def first_met(categories: Mapping[str, Tri]) -> np.ndarray:
    """Per patient, the first (highest) category that is met; else "not assessable" if any category is
    Unknown, else "not met". A category is never reported "not met" because of missing data."""
    return first_met_codes(truth_codes(list(categories.values())), tuple(categories))


def first_met_codes(codes: np.ndarray, keys: Sequence[str]) -> np.ndarray:
    """:func:`first_met` of categories given as truth codes (:func:`data.kleene.truth_codes`: categories x
    patients, 0 not met, 1 met, 2 Unknown) named ``keys`` in order: for a caller that holds the codes already
    (serving reads every category's code, then the verdicts)."""
    if codes.shape[1] <= SMALL:  # a few patients: column by column, without numpy calls
        return np.array([keys[column.index(1)] if 1 in column else NOT_ASSESSABLE if 2 in column else NOT_MET
                         for column in codes.T.tolist()], dtype=object)
    met = codes == 1
    first = np.where(met.any(axis=0), met.argmax(axis=0), -1)
    out = np.array([*keys, NOT_MET], dtype=object)[first]  # position -1: none met
    out[(first < 0) & (codes == 2).any(axis=0)] = NOT_ASSESSABLE
    return out


def undecided_before_met(codes: Sequence[int]) -> list[int]:
    """Positions of the Unknown (2) codes before the first met (1) one, or of every Unknown code when none is
    met: one patient's categories of a set (highest first) or cascade steps, as truth codes read strictly.

    What recording a null field could change: a verdict (the first met) could move up if an undecided category
    above it became met. Read strictly, as in both readings: chart review resolves only the strict unknowns
    (docs/criteria.md), so a verdict it reaches by taking an unmentioned finding as absent sits at or below such
    a position, and recording that finding could move it down as well as up."""
    stop = codes.index(1) if 1 in codes else len(codes)
    return [k for k in range(stop) if codes[k] == 2]


@cache
def _verdict_dtype(column: str) -> tuple[pd.CategoricalDtype, dict[Any, int]]:
    allowed = VERDICT_COLUMNS[column]
    return pd.CategoricalDtype(list(allowed)), {value: code for code, value in enumerate(allowed)}


def _categorical(values: np.ndarray, column: str, index: pd.Index) -> pd.Series:
    """Verdict strings as a categorical with the column's fixed categories (None -> NA)."""
    dtype, codes = _verdict_dtype(column)
    coded = np.fromiter((codes.get(v, -1) for v in values), dtype=np.int64, count=len(values))
    return pd.Series(pd.Categorical.from_codes(coded, dtype=dtype), index=index, copy=False)


def evaluate_criteria(frame: pd.DataFrame, reading: Reading = "strict") -> pd.DataFrame:
    """One row per patient (same index as ``frame``): ``patient_id``, the verdict of each criteria set, the
    CIDP variant reaching it, a coarse El Escorial proxy and the rule-based label, under ``reading``.
    Vectorised: 20 000 patients take a fraction of a second."""
    ev = evaluate_all(frame, reading)
    mmn = first_met(ev.categories["mmn_efns2010"])
    cidp_key = first_met(ev.categories["cidp_ean2021"])
    cidp = np.array([k.split(": ")[-1] for k in cidp_key], dtype=object)
    variant = np.array([k.split(": ")[0] if ": " in k else None for k in cidp_key], dtype=object)
    als = first_met(ev.categories["als_gold_coast"])
    eec = first_met({EL_ESCORIAL_PROXY_VERDICTS[0]: ev.el_escorial})
    if ID_FIELD in frame.columns:
        patient_id = frame[ID_FIELD].astype(pd.StringDtype())
    else:
        patient_id = pd.Series(pd.NA, index=frame.index, dtype=pd.StringDtype())
    columns = dict(zip(VERDICT_COLUMNS, (mmn, cidp, variant, als, eec, ev.labels), strict=True))
    return pd.DataFrame(
        {ID_FIELD: patient_id, **{name: _categorical(values, name, frame.index) for name, values in columns.items()}},
        index=frame.index,
    )


def maps_to(criteria_id: str, verdict: str, variant: str | None) -> str | None:
    """The project label a verdict points to (None when not met / not assessable)."""
    if verdict in (NOT_MET, NOT_ASSESSABLE):
        return None
    if criteria_id == "cidp_ean2021":
        return CIDP_VARIANT_LABELS[variant] if variant else None
    if criteria_id == "als_gold_coast":
        return "MND" if verdict == MET else None
    if criteria_id == "mmn_efns2010":
        return "MMN"
    return verdict if verdict in DIAGNOSES else None


def _boolean_frame(arrays: dict[str, Tri], index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(a.to_pandas(), index=index, copy=False) for name, a in arrays.items()},
                        index=index)


def criteria_elements(frame: pd.DataFrame, reading: Reading = "strict") -> pd.DataFrame:
    """Every element of every set as a nullable ``boolean`` column ``"<set>.<element id>"`` (NA = not
    assessable): the criteria as features, with missingness kept visible."""
    ev = evaluate_all(frame, reading)
    return _boolean_frame(
        {f"{set_id}.{eid}": a for set_id, results in ev.elements.items() for eid, a in results.items()}, frame.index
    )


def criteria_categories(frame: pd.DataFrame, reading: Reading = "strict") -> pd.DataFrame:
    """Every diagnostic category (``"mmn_efns2010.definite"``, ``"cidp_ean2021.multifocal: CIDP"``,
    ``"als_gold_coast.met"``) and cascade step (``"rule_based.step4_gold_coast"``) as a nullable
    ``boolean`` column."""
    ev = evaluate_all(frame, reading)
    arrays = {f"{set_id}.{key}": a for set_id, cats in ev.categories.items() for key, a in cats.items()}
    arrays.update({f"rule_based.{step}": a for step, a in ev.steps.items()})
    return _boolean_frame(arrays, frame.index)
