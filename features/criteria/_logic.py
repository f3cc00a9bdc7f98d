"""Three-valued (Kleene) logic for the criteria: the data layer's one logic and one columnar reader.

Every criterion element yields True, False or Unknown per patient (criteria.md §0.1) as a
:class:`data.kleene.Tri`, reading the patient's fields through :class:`data.columns.Columns` (``num``,
``count_at_least``, ``flag``, ``isin``: Unknown where a field is null). The features, the OOD check and
serving read the same object, so one prediction reads its record once.

Nothing here imputes: a null field makes the comparisons on it Unknown, never False.
"""

from __future__ import annotations

from mmn_ddx.data import (
    READINGS,
    SMALL,
    Bounds,
    Columns,
    Reading,
    Tri,
    all_of,
    any_of,
    at_least,
    decided_by,
    exactly,
    first_true,
    from_rows,
    is_true,
    masks,
    row_truths,
    tri,
    true_or_unknown,
)

__all__ = [
    "READINGS",
    "SMALL",
    "Bounds",
    "Columns",
    "Reading",
    "Tri",
    "all_of",
    "any_of",
    "at_least",
    "decided_by",
    "exactly",
    "first_true",
    "from_rows",
    "is_true",
    "masks",
    "row_truths",
    "tri",
    "true_or_unknown",
]
