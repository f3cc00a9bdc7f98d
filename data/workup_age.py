"""The age at work-up: the age a lumbar puncture is read at, for the age-partitioned CSF protein limit.

CSF protein is compared with an upper limit that depends on the patient's age when the sample is taken
([Breiner 2019]; criteria.md §0.2); the record gives the age at onset and the symptom duration, so the age
at work-up is onset + duration / 12. Defined once here, in the lowest layer that needs it: the generator's
``csf_protein_raised``, the exact posterior's likelihood of that word and the world fit read it here, and
the criteria (``features``) through ``mmn_ddx.data``.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from mmn_ddx.data.columns import compare
from mmn_ddx.data.kleene import Tri

ONSET: Final = "age_at_onset_years"
DURATION: Final = "symptom_duration_months"
WORKUP_AGE_FIELDS: Final = (ONSET, DURATION)
"""The fields the age at work-up is computed from."""
MONTHS_PER_YEAR: Final = 12.0


def age_at_workup(onset: np.ndarray, duration_months: np.ndarray) -> np.ndarray:
    """Age at onset + symptom duration / 12 (criteria.md §0.2); NaN where either is null."""
    return onset + duration_months / MONTHS_PER_YEAR


def workup_age_at_most(onset: np.ndarray, duration_months: np.ndarray, years: float) -> Tri:
    """Three-valued ``age at work-up <= years`` (``<=`` with :func:`data.columns.compare`'s tolerance). A null
    duration decides only where the age at onset alone already exceeds ``years`` (work-up is not before onset)."""
    return compare(age_at_workup(onset, duration_months), "<=", years) & ~compare(onset, ">", years)


def longest_duration_within(onset: np.ndarray, years: float, decimals: int) -> np.ndarray:
    """(n,) the longest symptom duration (months, on the grid of ``decimals``) whose age at work-up is at most
    ``years`` by :func:`workup_age_at_most`, below 0 where none is: the exact posterior sums a null duration
    over the durations on either side of it. Worked out from the rule itself, so the two cannot differ."""
    step = 10.0 ** -decimals
    guess = np.floor(np.round((years - onset) * MONTHS_PER_YEAR / step, 6)) * step
    within = lambda d: workup_age_at_most(onset, d, years).true  # noqa: E731
    guess = np.where(within(guess + step), guess + step, guess)  # float error moves the boundary one step at most
    guess = np.where(within(guess), guess, guess - step)
    return np.round(guess, decimals)
