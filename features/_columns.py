"""The feature layer's names for the data layer's one columnar reader (:mod:`data.columns`).

Every transformer reads its inputs through :func:`read_columns` (a cohort frame) or ``read_records`` (record
dicts), which are the data layer's readers: the rules for what a transformer accepts are the contract's.
"""

from __future__ import annotations

from mmn_ddx.data import NULL_CODE, Columns, ColumnsError, read_frame

FeatureInputError = ColumnsError
"""The input of a feature transformer breaks the contract (the reader's error, under the feature layer's name)."""

read_columns = read_frame

__all__ = ["NULL_CODE", "Columns", "FeatureInputError", "read_columns"]
