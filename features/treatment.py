"""Response to a therapeutic trial: IVIg and corticosteroids (``"with-treatment"`` mode only).

Objective improvement with IVIg supports MMN (EFNS/PNS 2010, S7/P4) and CIDP (EAN/PNS 2021,
supportive criterion); worsening on corticosteroids is characteristic of MMN and of some MADSAM
patients (Donaghy 1994; Cochrane-MMN 2005; L-SS-EJN 2019), so "worsened" keeps its own column.
"not_given" is information (no trial was made), unlike a null (not recorded), which stays NaN.
These features exist only after treatment, so :mod:`features.modes` leaves them out at presentation.
"""

from __future__ import annotations

from typing import ClassVar

from mmn_ddx.data import fields
from mmn_ddx.features._base import ContractTransformer, Features, one_hot
from mmn_ddx.features._columns import Columns

IVIG_VALUES: tuple[str, ...] = fields()["ivig_response"].values or ()
STEROID_VALUES: tuple[str, ...] = fields()["corticosteroid_response"].values or ()


class TreatmentResponseFeatures(ContractTransformer):
    """One-hot IVIg and corticosteroid responses (NaN when not recorded)."""

    input_fields: ClassVar[tuple[str, ...]] = ("ivig_response", "corticosteroid_response")

    def _compute(self, columns: Columns) -> Features:
        out = one_hot(columns["ivig_response"], IVIG_VALUES, "ivig")
        out.update(one_hot(columns["corticosteroid_response"], STEROID_VALUES, "steroid"))
        return out
