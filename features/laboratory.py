"""Laboratory and imaging: anti-GM1, CSF, IgM paraprotein, anti-MAG, plexus MRI, nerve ultrasound.

Every investigation here is optional, and whether it was done carries information: anti-GM1 is
ordered mostly when MMN is suspected, a lumbar puncture when CIDP is (literature-priors.md section 6).
Each test therefore gets an explicit 0/1 "not done" column next to its NaN-where-unknown result, so
that no model reads a missing test as a normal one.

Thresholds: anti-GM1 positive at the laboratory cut-off (ratio >= 1) and high titre at >= 4 (data
dictionary; Taylor 1996); CSF protein against an age-partitioned upper limit of 0.50 g/L up to 50
years and 0.60 g/L above (Breiner 2019, criteria.md 0.2) - MMN tolerates a raised protein below
1 g/L (EFNS/PNS 2010 P2), CIDP supportive criteria need it raised with < 10 cells/uL (EAN/PNS 2021).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from mmn_ddx.features._base import ContractTransformer, Features, at_least, known, not_done
from mmn_ddx.features._columns import Columns

ANTI_GM1_POSITIVE = 1.0
ANTI_GM1_HIGH_TITRE = 4.0
ANTI_GM1_FLOOR = 0.05
"""Ratios below 1/20 of the cut-off are assay noise; the floor keeps the logarithm finite for a 0."""

CSF_ULN_AGE_LIMIT_YEARS = 50.0
CSF_ULN_YOUNG_G_PER_L = 0.50
CSF_ULN_OLD_G_PER_L = 0.60
CSF_PLEOCYTOSIS_PER_UL = 10.0
"""EAN/PNS 2021: the CSF supportive criterion needs fewer than 10 leucocytes/uL."""

_TESTS: dict[str, tuple[str, str]] = {
    "igm_paraprotein": ("igm_paraprotein", "paraprotein_not_tested"),
    "anti_mag_positive": ("anti_mag_positive", "anti_mag_not_tested"),
    "mri_plexus_abnormal": ("mri_plexus_abnormal", "mri_not_done"),
    "ultrasound_nerve_enlarged": ("ultrasound_nerve_enlarged", "ultrasound_not_done"),
}
"""Boolean test field -> (result column, not-done column)."""


def age_at_workup(columns: Columns) -> np.ndarray:
    """Age at the work-up = onset age + duration / 12 (criteria.md 0.2); NaN if either is null."""
    return columns["age_at_onset_years"] + columns["symptom_duration_months"] / 12.0


def csf_protein_uln(columns: Columns) -> np.ndarray:
    """Age-partitioned upper limit of CSF protein (g/L), NaN when the age band cannot be known.

    With the duration unknown the age at work-up is only known to be at least the onset age, which
    decides the band only when onset was already after 50.
    """
    age = age_at_workup(columns)
    onset = columns["age_at_onset_years"]
    banded = np.where(age <= CSF_ULN_AGE_LIMIT_YEARS, CSF_ULN_YOUNG_G_PER_L, CSF_ULN_OLD_G_PER_L)
    return np.where(~np.isnan(age), banded, np.where(onset > CSF_ULN_AGE_LIMIT_YEARS, CSF_ULN_OLD_G_PER_L, np.nan))


class LaboratoryFeatures(ContractTransformer):
    """Anti-GM1 (log ratio, positive, high titre), CSF against its age limit, paraprotein, anti-MAG, imaging."""

    input_fields: ClassVar[tuple[str, ...]] = (
        "anti_gm1_igm_ratio",
        "csf_protein_g_per_l",
        "csf_cells_per_ul",
        *_TESTS,
        "age_at_onset_years",
        "symptom_duration_months",
    )

    def _compute(self, columns: Columns) -> Features:
        out = self._anti_gm1(columns["anti_gm1_igm_ratio"])
        out.update(self._csf(columns))
        for field, (result, missing) in _TESTS.items():
            out[result] = columns[field]
            out[missing] = not_done(columns[field])
        return out

    @staticmethod
    def _anti_gm1(ratio: np.ndarray) -> Features:
        """log2 of the ratio to the cut-off (0 = at cut-off, 2 = high titre), flags, and "not tested"."""
        return {
            "anti_gm1_log2_ratio": np.log2(np.maximum(ratio, ANTI_GM1_FLOOR)),
            "anti_gm1_positive": at_least(ratio, ANTI_GM1_POSITIVE),
            "anti_gm1_high_titre": at_least(ratio, ANTI_GM1_HIGH_TITRE),
            "anti_gm1_not_tested": not_done(ratio),
        }

    @staticmethod
    def _csf(columns: Columns) -> Features:
        """Protein (raw and over the age limit), raised protein, cell count, pleocytosis, "not done".

        ``csf_protein_elevated`` is decided even without a known age band when the protein is above
        both limits (1) or at most the lower one (0).
        """
        protein, cells = columns["csf_protein_g_per_l"], columns["csf_cells_per_ul"]
        uln = csf_protein_uln(columns)
        banded = known(protein, uln)
        elevated = np.where(
            banded,
            protein > uln,
            np.where(protein > CSF_ULN_OLD_G_PER_L, 1.0, np.where(protein <= CSF_ULN_YOUNG_G_PER_L, 0.0, np.nan)),
        )
        return {
            "csf_protein_g_per_l": protein,
            "csf_protein_to_uln": protein / uln,
            "csf_protein_elevated": np.where(np.isnan(protein), np.nan, elevated),
            "csf_cells_per_ul": cells,
            "csf_pleocytosis": at_least(cells, CSF_PLEOCYTOSIS_PER_UL),
            "csf_not_done": not_done(protein, cells),
        }
