"""The tests a clinician can order in this work-up, and the contract fields each one's report fills.

One order = one set of fields (a motor conduction study reports its counts together). The next-test
search proposes these (never a treatment trial); its outcome tables are fitted per test in training.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmn_ddx.data.contract import fields


@dataclass(frozen=True)
class DiagnosticTest:
    """One test a clinician can order, and the contract fields its report fills."""

    key: str
    label: str
    fields: tuple[str, ...]
    may_stay_null: tuple[str, ...] = ()
    """Fields a complete report can leave empty (e.g. "sensory normal across block" without a block)."""

    @property
    def primary(self) -> str:
        """The field that is always reported when the test was done."""
        return self.fields[0]

    @property
    def required(self) -> tuple[str, ...]:
        """The fields every report of this test fills."""
        return tuple(name for name in self.fields if name not in self.may_stay_null)


_MOTOR_NCS = ("motor_nerves_studied", "nerves_definite_cb", "nerves_probable_cb", "nerves_cidp_cb",
              "nerves_any_demyelinating", "nerves_dml_prolonged", "nerves_cv_slowed", "nerves_fwave_prolonged",
              "nerves_fwave_absent", "nerves_temporal_dispersion")
TESTS: tuple[DiagnosticTest, ...] = (
    DiagnosticTest("anti_gm1", "Serum IgM anti-GM1 antibodies", ("anti_gm1_igm_ratio",)),
    DiagnosticTest("csf", "Lumbar puncture (CSF protein and cells)", ("csf_protein_g_per_l", "csf_cells_per_ul")),
    DiagnosticTest("motor_ncs", "Motor nerve conduction studies (conduction block, demyelination)", _MOTOR_NCS),
    DiagnosticTest("sensory_ncs", "Sensory nerve conduction studies",
                   ("sensory_nerves_studied", "sensory_nerves_abnormal", "sensory_normal_across_cb"),
                   may_stay_null=("sensory_normal_across_cb",)),
    DiagnosticTest("emg", "Needle EMG (denervation, fasciculation potentials)",
                   ("emg_regions_denervated", "emg_fasciculation_potentials")),
    DiagnosticTest("paraprotein", "Serum immunofixation for an IgM paraprotein", ("igm_paraprotein",)),
    DiagnosticTest("anti_mag", "Anti-MAG antibodies", ("anti_mag_positive",)),
    DiagnosticTest("mri", "MRI of the brachial or lumbosacral plexus", ("mri_plexus_abnormal",)),
    DiagnosticTest("ultrasound", "Nerve ultrasound", ("ultrasound_nerve_enlarged",)),
)


def find_test(key: str) -> DiagnosticTest:
    """The test with this key (KeyError naming the known keys otherwise)."""
    for test in TESTS:
        if test.key == key:
            return test
    raise KeyError(f"unknown test {key!r}; known: {', '.join(t.key for t in TESTS)}")


assert all(name in fields() for test in TESTS for name in test.fields), "test fields drifted from the contract"
