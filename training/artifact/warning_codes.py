"""The warning codes every entry point lists, and their one order (most fundamental first).

Written here, below serving, because the pyfunc (``mlflow models serve``, Spark) lists them too and may not
import serving; :mod:`serving.alerts` decides and words the warnings of the Python API, the HTTP API, the web
page and the CLI's table with these same codes, so no entry point can list another code or another order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import compress
from typing import Final, Literal, get_args

import numpy as np

WarningCode = Literal[
    "synthetic_training_data", "out_of_distribution", "little_information", "treatment_response_ignored",
    "criteria_disagree",
]
"""A warning's code (``serving.result.Warning.code``), in the order every entry point lists them: the model's
training data, then the record against the training data, what the record holds, what of it the model does
not read, and last the model against the published criteria."""
WARNING_CODES: Final[tuple[WarningCode, ...]] = get_args(WarningCode)

SYNTHETIC_CODE: Final[WarningCode] = "synthetic_training_data"
OOD_CODE: Final[WarningCode] = "out_of_distribution"
LITTLE_INFORMATION_CODE: Final[WarningCode] = "little_information"
TREATMENT_IGNORED_CODE: Final[WarningCode] = "treatment_response_ignored"
DISAGREE_CODE: Final[WarningCode] = "criteria_disagree"


def codes_per_patient(flags: Mapping[WarningCode, np.ndarray | Sequence[bool] | bool], n: int
                      ) -> list[list[WarningCode]]:
    """Per patient, the codes whose flag is set, in :data:`WARNING_CODES` order, from whole-batch masks (a flag
    may be one bool for every patient). Every code must be given, so an entry point cannot forget a new one."""
    if set(flags) != set(WARNING_CODES):
        raise ValueError(f"flags must give every warning code {list(WARNING_CODES)}; got {list(flags)}")
    matrix = np.column_stack([np.broadcast_to(np.asarray(flags[code], dtype=bool), (n,)) for code in WARNING_CODES])
    return [list(compress(WARNING_CODES, row)) for row in matrix.tolist()]
