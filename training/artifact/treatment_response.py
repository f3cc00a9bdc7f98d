"""A recorded treatment response that the model does not read: the ``treatment_response_ignored`` rule.

An at-presentation model leaves out what is known only after a therapeutic trial
(:func:`features.fields_unseen_in`), so a record giving the response to IVIg or corticosteroids is predicted as
if it did not: without a warning, silently. One rule, below serving, for the warning (:mod:`serving.alerts` words
it), the CLI's table and the pyfunc's codes.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from mmn_ddx.data import NULL_CODE, Columns, fields, read_frame
from mmn_ddx.features import NO_TRIAL, fields_unseen_in


def unread_responses(columns: Columns, mode: str) -> np.ndarray:
    """(patients, ``fields_unseen_in(mode)``): the record gives a response to that treatment - recorded and not
    :data:`features.NO_TRIAL` (no trial, so no response) - which a model of ``mode`` does not read. A
    with-treatment model reads them all: no column."""
    names = fields_unseen_in(mode)
    out = np.empty((columns.n, len(names)), dtype=bool)
    for j, (name, no_trial) in enumerate(_no_trial_codes(names)):
        codes = columns.codes(name)
        out[:, j] = (codes != NULL_CODE) & (codes != no_trial)
    return out


def unread_response_mask(frame: pd.DataFrame, mode: str) -> np.ndarray:
    """Per patient of a canonical frame: any :func:`unread_responses` (the pyfunc's reading; serving reads its
    columns with the same rule)."""
    names = fields_unseen_in(mode)
    if not names:
        return np.zeros(len(frame), dtype=bool)
    return np.asarray(unread_responses(read_frame(frame[list(names)], names), mode).any(axis=1))


@cache
def _no_trial_codes(names: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """Each treatment field with the code of :data:`features.NO_TRIAL` among its values (dictionary order)."""
    specs = fields()
    return tuple((name, (specs[name].values or ()).index(NO_TRIAL)) for name in names)
