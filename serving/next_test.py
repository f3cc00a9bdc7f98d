"""The next most informative test: which test not yet done would change the prediction most.

For a patient with predictive distribution ``p`` and a test ``t`` not done - no result of it recorded, in
numbers or in words (:func:`mmn_ddx.data.recorded_tests`) - the expected reduction of uncertainty is the
expected information gain

    EIG(t) = H(p) - sum_o q(o) H(p(. | o)),  p(c | o) = p(c) P(o | c) / q(o),  q(o) = sum_c p(c) P(o | c)

with ``H`` the Shannon entropy in bits: the mutual information between the diagnosis and the test's
result, as in Gorry and Barnett's sequential diagnosis. ``P(o | c)`` is the class-conditional distribution
of the test's result in the synthetic generator, fitted in training
(:mod:`mmn_ddx.training.fitting.outcome_tables`) and shipped in the model bundle with its provenance
(:class:`~mmn_ddx.training.artifact.outcomes.OutcomeTables`).

Why Bayes' rule rather than the model's prediction for the record completed with each result (the search
until December 2026): ordering a test is an intervention, while the model learnt from records in which a
*reported* result is also evidence of how complete the work-up was, and so of the diagnosis; asked about a
completed record it counts that too. On a published flail-arm case (balanced setting) an IgM paraprotein,
positive in 2-4 % of every diagnosis, moved MND from 0.40 to 0.51 when negative and to 0.66 when positive:
the expected probability after the test was not the probability before it, and a test without diagnostic
value looked informative. Here the expected probabilities after a test are the current ones by
construction, and a test whose result is equally likely under every diagnosis gains nothing.

Approximation (documented, deliberate): ``P(o | c)`` ignores what the patient's other findings say about
the result beyond the diagnosis (as a naive-Bayes model would). Tests are
:data:`mmn_ddx.data.diagnostic_tests.TESTS` (one order = one set of fields); treatment responses are not
tests and are never proposed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mmn_ddx.data import DIAGNOSES, TESTS, Columns, recorded_tests
from mmn_ddx.serving.result import NextTest
from mmn_ddx.training.artifact import OutcomeTables

MIN_GAIN_BITS = 5e-3
"""Below this expected gain no test is proposed: the prediction would not move, and the rationale (to 0.01 bits)
would promise "0.00 bits"."""


def candidate_tests(read: Columns) -> dict[str, np.ndarray]:
    """Test key -> positions of the patients whose record holds no result of the test (not done), by the rule of
    the ``little_information`` warning and the information groups (:func:`mmn_ddx.data.recorded_tests`): a
    result stated in words is a result, 0 nerves studied is "not done"."""
    pending = ~recorded_tests(read)
    return {test.key: np.flatnonzero(pending[:, j]) for j, test in enumerate(TESTS)}


def entropy_bits(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy along the last axis, in bits (0 log 0 = 0)."""
    p = np.clip(probs, 1e-300, 1.0)
    return -(probs * np.log2(p)).sum(axis=-1)


def after_results(probs: np.ndarray, likelihood: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each result's probability q(o), shape (patients, results), and the probabilities after it,
    p(c | o), shape (patients, results, classes), for ``probs`` (patients, classes) and a test's
    ``likelihood`` P(o | c) (results, classes).

    Elementwise products, not a matrix product, so a patient's numbers do not depend on the batch it is
    scored in (BLAS kernels differ with the batch shape).
    """
    joint = probs[:, None, :] * likelihood[None, :, :]
    q = joint.sum(axis=2)
    return q, joint / np.maximum(q, np.finfo(float).tiny)[:, :, None]


def next_tests(read: Columns, probs: np.ndarray, tables: OutcomeTables) -> list[NextTest | None]:
    """The most informative test per patient (None when no test is left or none would help).

    ``read``: the patients' fields (:mod:`data.columns`); ``probs``: the probabilities served (in the clinical
    setting); ``tables``: the model's outcome tables.
    """
    n = len(probs)
    gain = np.full((n, len(TESTS)), -np.inf)
    change = np.zeros((n, len(TESTS)))
    top = probs.argmax(axis=1)
    for key, who in candidate_tests(read).items():
        if not len(who):
            continue
        q, after = after_results(probs[who], tables[key].likelihood)
        j = _TEST_INDEX[key]
        gain[who, j] = entropy_bits(probs[who]) - (q * entropy_bits(after)).sum(axis=1)
        moved = np.abs(after[np.arange(len(who)), :, top[who]] - probs[who, top[who]][:, None])
        change[who, j] = (q * moved).sum(axis=1)
    return [_pick(gain[i], change[i], probs[i]) for i in range(n)]


_TEST_INDEX = {test.key: j for j, test in enumerate(TESTS)}


def _pick(gain: np.ndarray, change: np.ndarray, probs: np.ndarray) -> NextTest | None:
    j = int(np.argmax(gain))
    if not np.isfinite(gain[j]) or gain[j] < MIN_GAIN_BITS:
        return None
    test = TESTS[j]
    top = DIAGNOSES[int(np.argmax(probs))]
    return NextTest(
        field=test.primary,
        label=test.label,
        expected_change=float(change[j]),
        expected_entropy_reduction=float(gain[j]),
        rationale=(
            f"Expected to reduce the uncertainty by {gain[j]:.2f} bits and to move the {top} probability by "
            f"{100 * change[j]:.0f} percentage points on average (Bayes' rule on the current prediction with "
            "each result's frequency per diagnosis in the synthetic generator)."
        ),
        test=test.key,
        fields=list(test.fields),
    )


def describe_outcomes(tables: OutcomeTables, key: str) -> list[tuple[dict[str, Any], dict[str, float]]]:
    """Each representative result of a test with P(result | diagnosis): for documentation and tests."""
    outcomes = tables[key]
    return [(row, dict(zip(DIAGNOSES, map(float, outcomes.likelihood[i]), strict=True)))
            for i, row in enumerate(outcomes.records)]
