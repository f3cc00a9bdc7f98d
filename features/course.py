"""Demographics, course and timing: age, sex, duration, pattern of evolution, region of onset.

Age and duration separate the diseases more than any single sign in the priors: MMN starts around
40 and is diagnosed after years (median 25 months, Aotsuka 2024), MND starts around 62-65 and is
diagnosed within about a year (Paganoni 2014). Duration enters also as a logarithm, because one
month more means much at 3 months and little at 10 years. The course is a core MMN criterion
(slowly or stepwise progressive, EFNS/PNS 2010 C1) and a relapsing course points to CIDP (EAN/PNS
2021); the onset region separates bulbar-onset MND and generalised-onset CIDP from limb-onset MMN.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from mmn_ddx.data import fields
from mmn_ddx.features._base import ContractTransformer, Features, one_hot
from mmn_ddx.features._columns import NULL_CODE, Columns

COURSE_VALUES: tuple[str, ...] = fields()["course"].values or ()
ONSET_VALUES: tuple[str, ...] = fields()["onset_region"].values or ()
MALE_CODE: int = (fields()["sex"].values or ()).index("male")


class CourseFeatures(ContractTransformer):
    """Age at onset, sex, symptom duration (and its log), course one-hot, onset region one-hot."""

    input_fields: ClassVar[tuple[str, ...]] = (
        "age_at_onset_years",
        "sex",
        "symptom_duration_months",
        "course",
        "onset_region",
    )

    def _compute(self, columns: Columns) -> Features:
        duration = columns["symptom_duration_months"]
        sex = columns["sex"]
        out: Features = {
            "age_at_onset_years": columns["age_at_onset_years"],
            "sex_male": np.where(sex == NULL_CODE, np.nan, (sex == MALE_CODE).astype(np.float64)),
            "symptom_duration_months": duration,
            "log_symptom_duration": np.log1p(duration),
        }
        out.update(one_hot(columns["course"], COURSE_VALUES, "course"))
        out.update(one_hot(columns["onset_region"], ONSET_VALUES, "onset"))
        return out
