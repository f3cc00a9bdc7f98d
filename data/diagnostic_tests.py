"""The tests a clinician can order in this work-up, the contract fields each one's report fills, and whether a
record holds a test's result.

One order = one set of fields (a motor conduction study reports its counts together). The next-test
search proposes these (never a treatment trial); its outcome tables are fitted per test in training. A report
may give a result in numbers or in words (contract v2: "conduction block in several nerves", "anti-GM1
positive"): both are fields of the test's report, and :func:`recorded_tests` - the one rule of the
``little_information`` warning, the prediction sets' information groups and the next-test search - reads both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmn_ddx.data.columns import Columns
from mmn_ddx.data.contract import fields


@dataclass(frozen=True)
class DiagnosticTest:
    """One test a clinician can order, and the contract fields its report fills."""

    key: str
    label: str
    fields: tuple[str, ...]
    """The report in numbers (counts, values, yes/no): what the next-test outcome tables quantise."""
    may_stay_null: tuple[str, ...] = ()
    """Fields a complete report can leave empty (e.g. "sensory normal across block" without a block)."""
    words: tuple[str, ...] = ()
    """The contract v2 fields stating the same results in words, without the numbers ("multiple conduction
    blocks"): a report written this way fills these only. Not in the outcome tables, which tabulate the result
    in numbers: the words restate it more coarsely (``data.qualitative``; the axonal part of
    ``motor_ncs_pattern``, which no number holds, stays out of the tables as before)."""
    studied: str | None = None
    """The count of what the test examined (nerves studied), whose 0 says the test was not done (see
    :func:`recorded_tests`)."""

    @property
    def primary(self) -> str:
        """The field that is always reported when the test was done."""
        return self.fields[0]

    @property
    def required(self) -> tuple[str, ...]:
        """The fields every report of this test fills."""
        return tuple(name for name in self.fields if name not in self.may_stay_null)

    @property
    def report(self) -> tuple[str, ...]:
        """Every field of the test's report, in numbers and in words: the test is recorded when one is (0 nerves
        studied excepted, :func:`recorded_tests`)."""
        return (*self.fields, *self.words)


_MOTOR_NCS = ("motor_nerves_studied", "nerves_definite_cb", "nerves_probable_cb", "nerves_cidp_cb",
              "nerves_any_demyelinating", "nerves_dml_prolonged", "nerves_cv_slowed", "nerves_fwave_prolonged",
              "nerves_fwave_absent", "nerves_temporal_dispersion")
TESTS: tuple[DiagnosticTest, ...] = (
    DiagnosticTest("anti_gm1", "Serum IgM anti-GM1 antibodies", ("anti_gm1_igm_ratio",), words=("anti_gm1_igm",)),
    DiagnosticTest("csf", "Lumbar puncture (CSF protein and cells)", ("csf_protein_g_per_l", "csf_cells_per_ul"),
                   words=("csf_protein_raised",)),
    DiagnosticTest("motor_ncs", "Motor nerve conduction studies (conduction block, demyelination)", _MOTOR_NCS,
                   words=("motor_conduction_block", "motor_ncs_pattern"), studied="motor_nerves_studied"),
    DiagnosticTest("sensory_ncs", "Sensory nerve conduction studies",
                   ("sensory_nerves_studied", "sensory_nerves_abnormal", "sensory_normal_across_cb"),
                   may_stay_null=("sensory_normal_across_cb",), words=("sensory_ncs",),
                   studied="sensory_nerves_studied"),
    DiagnosticTest("emg", "Needle EMG (denervation, fasciculation potentials)",
                   ("emg_regions_denervated", "emg_fasciculation_potentials")),
    DiagnosticTest("paraprotein", "Serum immunofixation for an IgM paraprotein", ("igm_paraprotein",)),
    DiagnosticTest("anti_mag", "Anti-MAG antibodies", ("anti_mag_positive",)),
    DiagnosticTest("mri", "MRI of the brachial or lumbosacral plexus", ("mri_plexus_abnormal",)),
    DiagnosticTest("ultrasound", "Nerve ultrasound", ("ultrasound_nerve_enlarged",)),
)
REPORT_FIELDS: tuple[str, ...] = tuple(name for test in TESTS for name in test.report)
"""Every field some test's report fills: what :func:`recorded_tests` reads."""


def find_test(key: str) -> DiagnosticTest:
    """The test with this key (KeyError naming the known keys otherwise)."""
    for test in TESTS:
        if test.key == key:
            return test
    raise KeyError(f"unknown test {key!r}; known: {', '.join(t.key for t in TESTS)}")


def recorded_tests(columns: Columns) -> np.ndarray:
    """(patients, tests) in :data:`TESTS` order: True where the record holds a result of the test.

    A test is recorded when any field of its report is, in numbers or in words (README, "Little information"):
    a letter stating "conduction block in several nerves" without the number of nerves studied has done a motor
    conduction study, and one stating "normal sensory conduction" needs no sensory study proposed.

    Except a number studied of 0 (``motor_nerves_studied: 0``): the record then says no nerve was studied,
    so the test was not done - the contract's and the wording's reading ("motor nerve conduction not done"),
    and the features' (``motor_ncs_not_done`` in ``features.conduction``, ``sensory_ncs_not_done`` in
    ``features.sensory``). Its counts, which can then only be 0 (each at most the number studied), are no
    result either; a result stated in words still is (``motor_ncs_pattern: normal`` beside 0 nerves studied:
    the record states a result, and the features read it as done too). The warning, the information group
    and the next test thus call such a record what the model's features and its explanation call it: a
    motor conduction study not done, to be proposed, not one whose result is known.

    One difference with the features, deliberate: a report giving only ``sensory_normal_across_cb`` (sensory
    conduction normal across the blocked segments) has done a sensory conduction study here, since that result
    needs one; the features' ``sensory_ncs_not_done``, a model input read as the models were trained, does
    not count it.
    """
    return columns.cached("recorded_tests", lambda: _recorded_tests(columns))


def result_recorded(test: DiagnosticTest, columns: Columns) -> np.ndarray:
    """Per patient: the record holds a result of ``test`` (the rule of :func:`recorded_tests`); ``columns`` need
    only hold the fields of its report."""
    return _recorded(test, columns.null_mask(test.report), columns)


def _recorded_tests(columns: Columns) -> np.ndarray:
    nulls = columns.null_mask(REPORT_FIELDS)  # one mask, each test's report a slice of it
    out = np.empty((columns.n, len(TESTS)), dtype=bool)
    start = 0
    for j, test in enumerate(TESTS):
        out[:, j] = _recorded(test, nulls[:, start:start + len(test.report)], columns)
        start += len(test.report)
    return out


def _recorded(test: DiagnosticTest, nulls: np.ndarray, columns: Columns) -> np.ndarray:
    """``nulls``: the (patients, fields) null mask of ``test.report``."""
    if test.studied is None:
        return np.asarray(~nulls.all(axis=1))
    studied = columns.number(test.studied)
    n_numbers = len(test.fields)
    results = [j for j, name in enumerate(test.fields) if name != test.studied]
    counted = ~nulls[:, results].all(axis=1)
    stated = ~nulls[:, n_numbers:].all(axis=1)
    return np.asarray(stated | (studied > 0) | ((studied != 0) & counted))  # NaN != 0: a count without studied


assert all(name in fields() for test in TESTS for name in test.report), "test fields drifted from the contract"
assert all(fields()[name].since >= 2 for test in TESTS for name in test.words), "words are contract v2 fields"
assert all(test.studied in (None, *test.fields) for test in TESTS), "the number studied is a field of the report"
