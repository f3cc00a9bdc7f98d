"""Record completeness: how many contract fields are recorded.

Records range from a full tertiary work-up to a referral letter that mentions a handful of findings,
and sparse records mention abnormal findings far more often than normal ones (data/priors.yaml,
``completeness``). The count lets a model weigh "not recorded" differently in a sparse record than
in a complete one. In ``"at-presentation"`` mode the treatment fields are not counted: whether a
treatment response was recorded is itself post-treatment information.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import StrOptions

from mmn_ddx.data import FEATURE_FIELDS
from mmn_ddx.features._base import ContractTransformer, Features
from mmn_ddx.features._columns import Columns
from mmn_ddx.features.modes import MODES, fields_for_mode


class RecordCompleteness(ContractTransformer):
    """Number of recorded (non-null) contract fields.

    Parameters
    ----------
    mode : {"at-presentation", "with-treatment"}
        Whether the treatment-response fields count (see :mod:`features.modes`).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"mode": [StrOptions(set(MODES))]}

    def __init__(self, mode: str = MODES[0]) -> None:
        self.mode = mode

    def _fields(self) -> tuple[str, ...]:
        return fields_for_mode(FEATURE_FIELDS, self.mode)

    def _compute(self, columns: Columns) -> Features:
        # the read's one null mask (made while reading records, shared with serving's warnings)
        recorded = (~columns.null_mask(self._fields())).sum(axis=1)
        return {"fields_recorded": recorded.astype(np.float64)}
