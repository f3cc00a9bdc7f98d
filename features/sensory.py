"""Sensory involvement: symptoms, objective loss, sensory ataxia and sensory nerve conduction.

Sensory findings are what separate MMN and MND (pure motor) from typical CIDP and MADSAM
(sensorimotor). The guidelines draw the line finely: MMN tolerates minor vibration loss in the legs
but no other objective sensory deficit (EFNS/PNS 2010, C2 and E10), and requires normal sensory
conduction across the segments with motor block (N3); CIDP requires sensory abnormalities in two
nerves (EAN/PNS 2021). Hence ``minor_vibration`` keeps its own column, and "sensory involvement"
(symptoms or a deficit beyond minor vibration loss) follows criteria.md 0.2.

"Abnormal sensory conduction" is one column that the counts or the report's words (``sensory_ncs``,
contract v2) establish; ``sensory_nerves_abnormal: 0`` without the number studied reads like
``sensory_ncs: normal`` (none found in the nerves the report studied), never as "not done".
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from mmn_ddx.data import fields
from mmn_ddx.features._base import (
    ContractTransformer,
    Features,
    category_flag,
    either,
    flag,
    fraction,
    kleene_or,
    one_hot,
)
from mmn_ddx.features._columns import NULL_CODE, Columns

SENSORY_LOSS_VALUES: tuple[str, ...] = fields()["sensory_loss"].values or ()
DEFICIT_VALUES: tuple[str, ...] = ("multifocal", "symmetric")
"""Objective sensory deficits beyond the minor vibration loss that MMN tolerates (EFNS/PNS 2010 E10)."""


class SensoryFeatures(ContractTransformer):
    """Sensory symptoms, objective loss (one-hot), ataxia, and the sensory conduction findings."""

    input_fields: ClassVar[tuple[str, ...]] = (
        "sensory_symptoms",
        "sensory_loss",
        "sensory_ataxia",
        "sensory_nerves_studied",
        "sensory_nerves_abnormal",
        "sensory_normal_across_cb",
        "sensory_ncs",
    )

    def _compute(self, columns: Columns) -> Features:
        loss = columns["sensory_loss"]
        out: Features = {"sensory_symptoms": columns["sensory_symptoms"]}
        out.update(one_hot(loss, SENSORY_LOSS_VALUES, "sensory_loss"))
        out["sensory_involvement"] = kleene_or(columns["sensory_symptoms"], self._deficit(loss))
        out["sensory_ataxia"] = columns["sensory_ataxia"]
        out.update(self._conduction(columns))
        return out

    @staticmethod
    def _deficit(loss: np.ndarray) -> np.ndarray:
        """1 for a multifocal or symmetric objective deficit, 0 for none / minor vibration, NaN if unknown."""
        deficit = np.zeros(loss.shape, dtype=bool)
        for value in DEFICIT_VALUES:
            deficit |= loss == SENSORY_LOSS_VALUES.index(value)
        return flag(deficit, loss != NULL_CODE)

    @staticmethod
    def _conduction(columns: Columns) -> Features:
        """Sensory NCS extent and abnormality; "not done" unless a nerve is reported studied, a count is
        given (0 studied excepted) or the result is stated in words.

        The fraction is NaN when the number studied is null or 0 (criteria.md 0.1: counts are only
        interpretable with a positive denominator).
        """
        studied, abnormal = columns["sensory_nerves_studied"], columns["sensory_nerves_abnormal"]
        stated = category_flag(columns["sensory_ncs"], "sensory_ncs", ("abnormal",), ("normal",))
        counted_any = (studied != 0) & ~np.isnan(abnormal)
        done = (studied > 0) | counted_any | ~np.isnan(stated)
        counted = np.where(abnormal > 0, 1.0, np.where(counted_any, 0.0, np.nan))
        return {
            "sensory_nerves_studied": studied,
            "sensory_ncs_not_done": (~done).astype(np.float64),
            "sensory_nerves_abnormal": abnormal,
            "sensory_nerves_abnormal_fraction": fraction(abnormal, studied),
            "sensory_ncs_abnormal": either(counted, stated),
            "sensory_normal_across_cb": columns["sensory_normal_across_cb"],
        }
