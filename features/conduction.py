"""Motor nerve conduction: conduction-block burden and demyelinating burden.

Conduction block outside entrapment sites is the electrodiagnostic hallmark of MMN (EFNS/PNS 2010,
N1 definite / N2 probable), and also common in MADSAM; the EAN/PNS 2021 CIDP definition of block
(>= 30 % amplitude drop, tibial excluded) is counted separately because it is looser. The other
EAN/PNS 2021 motor parameters (distal latency, velocity, F-waves, temporal dispersion; section 2.2 of
criteria.md) measure demyelination, which is widespread in typical CIDP and rare in MND.

Each count comes with its fraction of motor nerves studied: three blocks in 12 nerves mean something
different from three in 4. Fractions are NaN when the number studied is null or 0 (criteria.md 0.1).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from mmn_ddx.features._base import ContractTransformer, Features, fraction, row_count
from mmn_ddx.features._columns import Columns

BLOCK_FIELDS: dict[str, str] = {
    "cb_definite": "nerves_definite_cb",
    "cb_probable": "nerves_probable_cb",
    "cb_cidp": "nerves_cidp_cb",
}
"""Output prefix -> conduction-block count field (EFNS/PNS 2010 definite, probable; EAN/PNS 2021)."""

DEMYELINATING_FIELDS: dict[str, str] = {
    "dml_prolonged": "nerves_dml_prolonged",
    "cv_slowed": "nerves_cv_slowed",
    "fwave_prolonged": "nerves_fwave_prolonged",
    "fwave_absent": "nerves_fwave_absent",
    "temporal_dispersion": "nerves_temporal_dispersion",
    "demyelinating": "nerves_any_demyelinating",
}
"""Output prefix -> EAN/PNS 2021 motor demyelinating parameter count (last: any parameter)."""

EAN_PNS_PARAMETERS: tuple[str, ...] = (
    "nerves_dml_prolonged",
    "nerves_cv_slowed",
    "nerves_fwave_prolonged",
    "nerves_fwave_absent",
    "nerves_cidp_cb",
    "nerves_temporal_dispersion",
)
"""The EAN/PNS 2021 motor parameters (a)-(f) encoded in the contract ((g), distal CMAP duration, is not)."""

STUDIED = "motor_nerves_studied"


class ConductionFeatures(ContractTransformer):
    """Counts and fractions of motor nerves with conduction block or demyelinating abnormalities."""

    input_fields: ClassVar[tuple[str, ...]] = (STUDIED, *BLOCK_FIELDS.values(), *DEMYELINATING_FIELDS.values())

    def _compute(self, columns: Columns) -> Features:
        studied = columns[STUDIED]
        out: Features = {
            "motor_nerves_studied": studied,
            "motor_ncs_not_done": self._not_done(columns),
        }
        counts = {**BLOCK_FIELDS, **DEMYELINATING_FIELDS}
        fractions = fraction(np.vstack([columns[name] for name in counts.values()]), studied)
        for j, (prefix, name) in enumerate(counts.items()):
            out[f"{prefix}_nerves"] = columns[name]
            out[f"{prefix}_fraction"] = fractions[j]
        out["demyelinating_any"] = self._any_demyelinating(columns)
        out["demyelinating_parameters"] = self._parameters_abnormal(columns)
        return out

    def _not_done(self, columns: Columns) -> np.ndarray:
        """1 when no motor nerve is reported studied and no abnormal motor nerve is reported."""
        reported = np.column_stack([columns[name] > 0 for name in self.input_fields]).any(axis=1)
        return np.asarray(~reported, dtype=np.float64)

    @staticmethod
    def _any_demyelinating(columns: Columns) -> np.ndarray:
        """1 if any nerve shows any EAN/PNS parameter, 0 if the any-parameter count is 0, else NaN."""
        counts = np.column_stack([columns[name] for name in (*EAN_PNS_PARAMETERS, "nerves_any_demyelinating")])
        return np.where((counts > 0).any(axis=1), 1.0, np.where(columns["nerves_any_demyelinating"] == 0, 0.0, np.nan))

    @staticmethod
    def _parameters_abnormal(columns: Columns) -> np.ndarray:
        """How many distinct EAN/PNS parameters are abnormal in >= 1 nerve, over the recorded ones.

        Several different parameters point to demyelination more firmly than one (EAN/PNS 2021 asks
        for "another parameter in another nerve" in rules d, e and g). NaN if none was recorded.
        """
        counts = np.column_stack([columns[name] for name in EAN_PNS_PARAMETERS])
        abnormal = (counts > 0).sum(axis=1).astype(np.float64)
        return np.where(row_count(counts) > 0, abnormal, np.nan)
