"""Motor nerve conduction: conduction-block burden and demyelinating burden.

Conduction block outside entrapment sites is the electrodiagnostic hallmark of MMN (EFNS/PNS 2010,
N1 definite / N2 probable), and also common in MADSAM; the EAN/PNS 2021 CIDP definition of block
(>= 30 % amplitude drop, tibial excluded) is counted separately because it is looser. The other
EAN/PNS 2021 motor parameters (distal latency, velocity, F-waves, temporal dispersion; section 2.2 of
criteria.md) measure demyelination, which is widespread in typical CIDP and rare in MND.

Each count comes with its fraction of motor nerves studied: three blocks in 12 nerves mean something
different from three in 4. Fractions are NaN when the number studied is null or 0 (criteria.md 0.1).

Real reports often state these findings in words (contract v2: ``motor_conduction_block``,
``motor_ncs_pattern``). The findings that counts *or* words can establish - a conduction block, blocks
in two or more nerves, demyelinating features - are one column each, fed by both, so a model trained on
counted records reads a worded report with the same evidence. A zero count without the number of nerves
studied ("no conduction block was found") is evidence of absence in the nerves the report studied; a
positive count without it is a lower bound. Only ``motor_nerves_studied: 0`` means nothing was studied.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from mmn_ddx.data import find_test, result_recorded
from mmn_ddx.features._base import (
    ContractTransformer,
    Features,
    category_flag,
    column_matrix,
    either,
    fraction,
    known_any,
    ordinal,
    row_count,
)
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
BLOCK_EXTENT: tuple[float, ...] = (0.0, 1.0, 1.0, 2.0)
"""``motor_conduction_block`` none / present / single / multiple as nerves blocked (present: at least one)."""
WORDS: tuple[str, ...] = ("motor_conduction_block", "motor_ncs_pattern")
"""The v2 fields that state the motor conduction findings without counts."""
_MOTOR_NCS = find_test("motor_ncs")
assert set(_MOTOR_NCS.report) == {STUDIED, *BLOCK_FIELDS.values(), *DEMYELINATING_FIELDS.values(), *WORDS}, \
    "the motor conduction study's report is the fields these features read"


class ConductionFeatures(ContractTransformer):
    """Counts and fractions of motor nerves with conduction block or demyelinating abnormalities."""

    input_fields: ClassVar[tuple[str, ...]] = (STUDIED, *BLOCK_FIELDS.values(), *DEMYELINATING_FIELDS.values(), *WORDS)

    def _compute(self, columns: Columns) -> Features:
        studied = columns[STUDIED]
        out: Features = {
            "motor_nerves_studied": studied,
            "motor_ncs_not_done": self._not_done(columns),
        }
        counts = {**BLOCK_FIELDS, **DEMYELINATING_FIELDS}
        fractions = fraction(np.array([columns[name] for name in counts.values()]), studied)  # np.vstack, one call
        for j, (prefix, name) in enumerate(counts.items()):
            out[f"{prefix}_nerves"] = columns[name]
            out[f"{prefix}_fraction"] = fractions[j]
        out["cb_present"] = self._block_present(columns)
        out["cb_extent"] = self._block_extent(columns)
        out["demyelinating_any"] = self._any_demyelinating(columns)
        out["demyelinating_parameters"] = self._parameters_abnormal(columns)
        out["motor_ncs_axonal"] = category_flag(columns["motor_ncs_pattern"], "motor_ncs_pattern",
                                                ("axonal", "mixed"), ("normal", "demyelinating"))
        return out

    @staticmethod
    def _not_done(columns: Columns) -> np.ndarray:
        """1 unless a result of the motor conduction study is recorded: a positive number studied, a count
        reported (a zero count without the number studied is a finding, not "not done") or a finding stated in
        words; 0 studied = not done. The data layer's one rule (:func:`data.result_recorded`), which the
        warning, the prediction sets' information groups and the next test read too."""
        return np.asarray(~result_recorded(_MOTOR_NCS, columns), dtype=np.float64)

    @staticmethod
    def _block_counts(columns: Columns) -> tuple[np.ndarray, np.ndarray]:
        """(nerves with a block of any grade, as far as the counts tell; whether they may be read as none).

        Definite and probable blocks are disjoint (EFNS/PNS 2010) and the CIDP definition overlaps them, so
        the nerves with a block are at least ``max(definite + probable, cidp)``, the null grades counting 0.
        The counts tell "none" when some grade is recorded and something was studied (studied > 0, or
        the number studied not given: a zero count then means "none found in the nerves the report studied").
        """
        return columns.cached("block_counts", lambda: _block_counts(columns))

    @classmethod
    def _block_present(cls, columns: Columns) -> np.ndarray:
        """Conduction block of any grade in >= 1 motor nerve, from the counts or ``motor_conduction_block``."""
        blocked, readable = cls._block_counts(columns)
        counted = np.where(blocked > 0, 1.0, np.where(readable, 0.0, np.nan))
        stated = category_flag(columns["motor_conduction_block"], "motor_conduction_block",
                               ("present", "single", "multiple"), ("none",))
        return either(counted, stated)

    @classmethod
    def _block_extent(cls, columns: Columns) -> np.ndarray:
        """Motor nerves with conduction block: 0 none, 1 one, 2 two or more (the multifocal finding), from
        the counts or the words (none / single / multiple).

        A lower bound where that is all the record gives, as ``present`` (not counted) and a positive count
        without the number studied are: at least one nerve. One column rather than a "two or more" flag
        beside :meth:`_block_present`: a second flag repeating the counts made the out-of-distribution
        density read conduction block in every nerve of an implausible record as typical MMN.
        """
        blocked, readable = cls._block_counts(columns)
        counted = np.where(readable | (blocked > 0), np.minimum(blocked, 2.0), np.nan)
        stated = ordinal(columns["motor_conduction_block"], BLOCK_EXTENT)
        return np.fmax(counted, stated)

    @staticmethod
    def _any_demyelinating(columns: Columns) -> np.ndarray:
        """Demyelinating features: any EAN/PNS parameter in any nerve, or a demyelinating / mixed pattern (1);
        an any-parameter count of 0 with something studied, or a normal / axonal pattern (0); else NaN."""
        counts = column_matrix([columns[name] for name in (*EAN_PNS_PARAMETERS, "nerves_any_demyelinating")])
        none_found = (columns["nerves_any_demyelinating"] == 0) & (columns[STUDIED] != 0)
        counted = np.where((counts > 0).any(axis=1), 1.0, np.where(none_found, 0.0, np.nan))
        stated = category_flag(columns["motor_ncs_pattern"], "motor_ncs_pattern",
                               ("demyelinating", "mixed"), ("normal", "axonal"))
        return either(counted, stated)

    @staticmethod
    def _parameters_abnormal(columns: Columns) -> np.ndarray:
        """How many distinct EAN/PNS parameters are abnormal in >= 1 nerve, over the recorded ones.

        Several different parameters point to demyelination more firmly than one (EAN/PNS 2021 asks
        for "another parameter in another nerve" in rules d, e and g). NaN if none was recorded.
        """
        counts = column_matrix([columns[name] for name in EAN_PNS_PARAMETERS])
        abnormal = (counts > 0).sum(axis=1).astype(np.float64)
        return np.where(row_count(counts) > 0, abnormal, np.nan)


def _block_counts(columns: Columns) -> tuple[np.ndarray, np.ndarray]:
    definite, probable, cidp = (columns[name] for name in BLOCK_FIELDS.values())
    blocked = np.fmax(np.fmax(definite, 0.0) + np.fmax(probable, 0.0), cidp)  # fmax(NaN, 0) = 0
    readable = known_any(definite, probable, cidp) & (columns[STUDIED] != 0)
    return blocked, readable
