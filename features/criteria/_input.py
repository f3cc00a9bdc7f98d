"""Input errors of the criteria: the columnar reader's (:class:`data.columns.ColumnsError`).

The criteria read a cohort frame or record dicts through :mod:`data.columns`, with the same rules as the
features: unknown columns, wrong types, values outside the contract range and null required fields are
reported with the field and the offending row labels, never the values (they are patient data).
"""

from __future__ import annotations

from mmn_ddx.data import ColumnsError

CriteriaInputError = ColumnsError
"""The criteria's input breaks the contract; ``problems`` maps field name to reason."""
