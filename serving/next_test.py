"""The next most informative test: which test not yet done would change the prediction most.

For a patient with predictive distribution ``p`` and a test ``t`` whose fields are all null, the
expected reduction of uncertainty is the expected information gain under the model

    EIG(t) = H(p) - sum_o q(o) * H(p(. | record with the result o of t))

with ``H`` the Shannon entropy in bits. The posterior after each hypothetical result is the *model's*
own prediction for the record completed with that result (one batched model call for every test
and result of every patient). The result probabilities ``q(o)`` come from the model's predictive
distribution as a class mixture, ``q(o) = sum_c p(c) P(o | c)``.

Approximation (documented, deliberate): ``P(o | c)`` is the class-conditional distribution of the
test's result in the *synthetic generator*, ignoring what the patient's other findings say about the
result beyond the diagnosis (as a naive-Bayes model would). The tables of representative results and
``P(o | c)`` are fitted in training (:mod:`mmn_ddx.training.fitting.outcome_tables`) and shipped in the
model bundle with their provenance (:class:`~mmn_ddx.training.artifact.outcomes.OutcomeTables`). Tests
are :data:`mmn_ddx.data.diagnostic_tests.TESTS` (one order = one set of fields); treatment responses are
not tests and are never proposed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmn_ddx.data import DIAGNOSES, TESTS, Columns
from mmn_ddx.serving.result import NextTest
from mmn_ddx.training.artifact import OutcomeTables

MIN_GAIN_BITS = 1e-3
"""Below this expected gain no test is proposed (the prediction would not move)."""


def candidate_tests(nulls: np.ndarray, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Test key -> positions of the patients for whom every field of the test is null (not done).

    ``nulls`` is the (patients, fields) null mask of the canonical frame, ``columns`` its field names.
    """
    position = {name: j for j, name in enumerate(columns)}
    return {test.key: np.flatnonzero(nulls[:, [position[f] for f in test.fields]].all(axis=1)) for test in TESTS}


def hypothetical_records(records: Sequence[Mapping[str, Any]], candidates: dict[str, np.ndarray],
                         tables: OutcomeTables) -> list[dict[str, Any]]:
    """Every candidate patient x test x result as a record dict (grouped by test, then patient).

    The plain form of the hypotheses, for :func:`next_tests` with any ``predict_proba``; the predictor
    builds the same patients as columns instead (:meth:`Hypotheses.columns`, equal by test).
    """
    return [{**records[i], **result} for key, who in candidates.items() for i in who
            for result in tables[key].records]


def entropy_bits(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy along the last axis, in bits (0 log 0 = 0)."""
    p = np.clip(probs, 1e-300, 1.0)
    return -(probs * np.log2(p)).sum(axis=-1)


@dataclass(frozen=True)
class Hypotheses:
    """What the search will ask the model: every candidate patient x test x result of a batch, in the
    order of :func:`hypothetical_records` (grouped by test, then patient, then result)."""

    n_patients: int
    candidates: dict[str, np.ndarray]
    """Test key -> positions of the patients for whom the test is not done (non-empty only)."""
    tables: OutcomeTables
    """The model's outcome tables (shipped in its bundle)."""

    def columns(self, patients: Columns) -> Columns:
        """The batch's patients followed by every hypothesis, as feature-layer columns built from the
        patients' own: each patient's row repeated per result with the test's fields filled in. The
        same values as reading :func:`hypothetical_records` (a test holds it), without reading and
        checking them again; one feature pass then serves the patients and their hypotheses."""
        rows, fill, start = [np.arange(self.n_patients)], [], self.n_patients
        for key, who in self.candidates.items():
            outcomes = self.tables[key]
            k = len(outcomes.records)
            rows.append(np.repeat(who, k))
            fill.append((slice(start, start + k * len(who)),
                         {name: np.tile(values, len(who)) for name, values in outcomes.encoded.items()}))
            start += k * len(who)
        return patients.take(np.concatenate(rows), fill)


def hypotheses(nulls: np.ndarray, columns: Sequence[str], tables: OutcomeTables) -> Hypotheses:
    """The hypotheses to score for a batch, from its (patients, fields) null mask and field names."""
    candidates = {key: who for key, who in candidate_tests(nulls, columns).items() if len(who)}
    return Hypotheses(len(nulls), candidates, tables)


def next_tests(
    records: Sequence[Mapping[str, Any]], nulls: np.ndarray, columns: Sequence[str], probs: np.ndarray,
    predict_proba: Callable[[list[dict[str, Any]]], np.ndarray], tables: OutcomeTables,
) -> list[NextTest | None]:
    """The most informative test per patient (None when no test is left or none would help).

    ``records`` are the validated patients, ``nulls``/``columns`` their null mask, ``probs`` the model's
    probabilities, ``predict_proba`` the model (called once, on every hypothesis of the batch), ``tables``
    the model's outcome tables.
    """
    asked = hypotheses(nulls, columns, tables)
    completed = hypothetical_records(records, asked.candidates, tables)
    after = predict_proba(completed) if completed else np.empty((0, len(DIAGNOSES)))
    return most_informative(asked, probs, after)


def most_informative(asked: Hypotheses, probs: np.ndarray, after: np.ndarray) -> list[NextTest | None]:
    """The search itself, given the model's probabilities ``after`` for every hypothesis (in order).

    Split from :func:`next_tests` so that a caller can compute the hypotheses' features from the
    patients' own columns (:meth:`Hypotheses.columns`) instead of from completed records.
    """
    n = asked.n_patients
    gain = np.full((n, len(TESTS)), -np.inf)
    change = np.zeros((n, len(TESTS)))
    if asked.candidates:
        top = probs.argmax(axis=1)
        start = 0
        for key, who in asked.candidates.items():
            outcomes = asked.tables[key]
            k = len(outcomes.records)
            p_after = after[start:start + k * len(who)].reshape(len(who), k, len(DIAGNOSES))
            start += k * len(who)
            # q(o) = sum_c p(c) P(o|c); elementwise, not a matrix product, so a patient's numbers do not
            # depend on the batch it is scored in (BLAS kernels differ with the batch shape)
            weights = (probs[who][:, None, :] * outcomes.likelihood[None, :, :]).sum(axis=2)
            weights /= weights.sum(axis=1, keepdims=True)
            j = _TEST_INDEX[key]
            gain[who, j] = entropy_bits(probs[who]) - (weights * entropy_bits(p_after)).sum(axis=1)
            moved = np.abs(p_after[np.arange(len(who)), :, top[who]] - probs[who, top[who]][:, None])
            change[who, j] = (weights * moved).sum(axis=1)
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
            f"{100 * change[j]:.0f} percentage points on average; results weighted by the current prediction "
            "using the synthetic generator's class-conditional result frequencies."
        ),
        test=test.key,
        fields=list(test.fields),
    )


def describe_outcomes(tables: OutcomeTables, key: str) -> list[tuple[dict[str, Any], dict[str, float]]]:
    """Each representative result of a test with P(result | diagnosis): for documentation and tests."""
    outcomes = tables[key]
    return [(row, dict(zip(DIAGNOSES, map(float, outcomes.likelihood[i]), strict=True)))
            for i, row in enumerate(outcomes.records)]
