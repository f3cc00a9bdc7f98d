"""Laboratory and imaging: anti-GM1, CSF, IgM paraprotein, anti-MAG, plexus MRI, nerve ultrasound.

Every investigation here is optional, and whether it was done carries information: anti-GM1 is
ordered mostly when MMN is suspected, a lumbar puncture when CIDP is (literature-priors.md section 6).
Each test therefore gets an explicit 0/1 "not done" column next to its NaN-where-unknown result, so
that no model reads a missing test as a normal one.

Thresholds and rules are the criteria's, imported (:mod:`features.criteria.thresholds`, each with its
citation): anti-GM1 positive at the laboratory cut-off and high titre at 4 x; CSF protein against its
age-partitioned upper limit (Breiner 2019, :func:`features.criteria._derived.csf_protein_uln`) - MMN
tolerates a raised protein below 1 g/L (EFNS/PNS 2010 P2), CIDP supportive criteria need it raised with
fewer than 10 cells/uL (EAN/PNS 2021).

A qualitative result (contract v2: ``anti_gm1_igm`` positive / negative, ``csf_protein_raised``) feeds the
same columns as the measured value: positive anti-GM1, raised CSF protein, and "not done".
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from mmn_ddx.data import WORKUP_AGE_FIELDS, Columns
from mmn_ddx.features._base import ContractTransformer, Features, at_least, category_flag, either, not_done
from mmn_ddx.features.criteria import thresholds as T
from mmn_ddx.features.criteria._derived import age_at_workup, csf_protein_elevated, csf_protein_uln

ANTI_GM1_POSITIVE = T.ANTI_GM1_POSITIVE_RATIO
ANTI_GM1_HIGH_TITRE = T.ANTI_GM1_HIGH_TITRE_RATIO
ANTI_GM1_FLOOR = 0.05
"""Ratios below 1/20 of the cut-off are assay noise; the floor keeps the logarithm finite for a 0."""

CSF_PLEOCYTOSIS_PER_UL = T.CSF_CELLS_BELOW_PER_UL
"""EAN/PNS 2021: the CSF supportive criterion needs fewer than 10 leucocytes/uL; pleocytosis is at least that."""

__all__ = ["ANTI_GM1_HIGH_TITRE", "ANTI_GM1_POSITIVE", "CSF_PLEOCYTOSIS_PER_UL", "LaboratoryFeatures", "age_at_workup",
           "csf_protein_uln"]

_TESTS: dict[str, tuple[str, str]] = {
    "igm_paraprotein": ("igm_paraprotein", "paraprotein_not_tested"),
    "anti_mag_positive": ("anti_mag_positive", "anti_mag_not_tested"),
    "mri_plexus_abnormal": ("mri_plexus_abnormal", "mri_not_done"),
    "ultrasound_nerve_enlarged": ("ultrasound_nerve_enlarged", "ultrasound_not_done"),
}
"""Boolean test field -> (result column, not-done column)."""


class LaboratoryFeatures(ContractTransformer):
    """Anti-GM1 (log ratio, positive, high titre), CSF against its age limit, paraprotein, anti-MAG, imaging."""

    input_fields: ClassVar[tuple[str, ...]] = (
        "anti_gm1_igm_ratio",
        "anti_gm1_igm",
        "csf_protein_g_per_l",
        "csf_protein_raised",
        "csf_cells_per_ul",
        *_TESTS,
        *WORKUP_AGE_FIELDS,
    )

    def _compute(self, columns: Columns) -> Features:
        out = self._anti_gm1(columns)
        out.update(self._csf(columns))
        for field, (result, missing) in _TESTS.items():
            out[result] = columns[field]
            out[missing] = not_done(columns[field])
        return out

    @staticmethod
    def _anti_gm1(columns: Columns) -> Features:
        """log2 of the ratio to the cut-off (0 = at cut-off, 2 = high titre), flags, and "not tested".

        A qualitative result says positive or negative; a negative one also rules out a high titre.
        """
        ratio = columns["anti_gm1_igm_ratio"]
        stated = category_flag(columns["anti_gm1_igm"], "anti_gm1_igm", ("positive",), ("negative",))
        return {
            "anti_gm1_log2_ratio": np.log2(np.maximum(ratio, ANTI_GM1_FLOOR)),
            "anti_gm1_positive": either(at_least(ratio, ANTI_GM1_POSITIVE), stated),
            "anti_gm1_high_titre": either(at_least(ratio, ANTI_GM1_HIGH_TITRE), np.where(stated == 0, 0.0, np.nan)),
            "anti_gm1_not_tested": not_done(ratio, stated),
        }

    @staticmethod
    def _csf(columns: Columns) -> Features:
        """Protein (raw and over the age limit), raised protein, cell count, pleocytosis, "not done".

        ``csf_protein_elevated`` is the criteria's own element (one rule): decided even without a known
        age band when the protein is above both limits (1) or at most the lower one (0); a report's
        "raised CSF protein" without a value (``csf_protein_raised``) establishes it too.
        """
        protein, cells = columns["csf_protein_g_per_l"], columns["csf_cells_per_ul"]
        stated = columns["csf_protein_raised"]
        return {
            "csf_protein_g_per_l": protein,
            "csf_protein_to_uln": protein / csf_protein_uln(columns),
            "csf_protein_elevated": either(csf_protein_elevated(columns).to_float(), stated),
            "csf_cells_per_ul": cells,
            "csf_pleocytosis": at_least(cells, CSF_PLEOCYTOSIS_PER_UL),
            "csf_not_done": not_done(protein, cells, stated),
        }
