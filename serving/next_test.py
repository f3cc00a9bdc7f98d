"""The next most informative test: which test not yet done would change the prediction most.

For a patient with predictive distribution ``p`` and a test ``t`` whose fields are all null, the
expected reduction of uncertainty is the expected information gain under the model

    EIG(t) = H(p) - sum_o q(o) * H(p(. | record with the result o of t))

with ``H`` the Shannon entropy in bits. The posterior after each hypothetical result is the *model's*
own prediction for the record completed with that result (one batched model call for every test
and result of every patient). The result probabilities ``q(o)`` come from the model's predictive
distribution as a class mixture, ``q(o) = sum_c p(c) P(o | c)``.

Approximation (documented, deliberate): ``P(o | c)`` is the class-conditional distribution of the
test's result in the *synthetic generator* (``data.generator``), ignoring what the patient's other
findings say about the result beyond the diagnosis (as a naive-Bayes model would). It is estimated
once per process from a generated cohort restricted to the "tertiary" work-up level (results written
down regardless of their value, so not biased towards abnormal ones) and quantised to at most
:data:`MAX_OUTCOMES` representative results per test: every distinct result when there are few
(booleans, EMG), else k-means clusters whose representatives are real generated results (medoids, so
counts stay whole and below the nerves studied), with ``P(o | c)`` the share of class-``c`` results in
each cluster. Tests are the generator's test blocks (one order = one set of fields); treatment
responses are not tests and are never proposed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from mmn_ddx.data.contract import DIAGNOSES, LABEL, fields
from mmn_ddx.data.columns import Columns, encode
from mmn_ddx.serving.result import NextTest

MAX_OUTCOMES = 8
"""Representative results per test: the model is called ``n_tests * MAX_OUTCOMES`` times at most per patient."""
REFERENCE_SIZE = 20_000
REFERENCE_SEED = 20_240_601
MIN_GAIN_BITS = 1e-3
"""Below this expected gain no test is proposed (the prediction would not move)."""


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


@dataclass(frozen=True)
class Outcomes:
    """Representative results of one test and their class-conditional probabilities."""

    test: DiagnosticTest
    values: pd.DataFrame
    """One row per result, the test's fields in canonical dtypes (a null stays possible, e.g. a
    structurally unreported 'sensory normal across block')."""
    likelihood: np.ndarray
    """(n results, n classes): P(result | class) in :data:`DIAGNOSES` order; columns sum to 1."""

    @cached_property
    def records(self) -> list[dict[str, Any]]:
        """The results as plain record fragments (None = null), ready to merge into a record."""
        return _plain_rows(self.values)

    @cached_property
    def encoded(self) -> dict[str, np.ndarray]:
        """The results field by field in the feature layer's encoding (one value per result)."""
        return {name: encode(name, [row[name] for row in self.records]) for name in self.test.fields}


@cache
def outcome_tables() -> dict[str, Outcomes]:
    """The quantised result distributions of every test (built once per process, about a second)."""
    from mmn_ddx.data.generator import generate_cohort  # lazy: the generator's model loads on first use

    cohort = generate_cohort(REFERENCE_SIZE, seed=REFERENCE_SEED, return_latents=True)
    cohort = cohort[cohort["latent_completeness"] == "tertiary"]
    return {test.key: _outcomes(test, cohort) for test in TESTS}


def _outcomes(test: DiagnosticTest, cohort: pd.DataFrame) -> Outcomes:
    required = [name for name in test.fields if name not in test.may_stay_null]
    done = cohort[cohort.loc[:, required].notna().all(axis=1)]
    block = done.loc[:, list(test.fields)].reset_index(drop=True)
    labels = done[LABEL].cat.codes.to_numpy()
    encoded = _encode(block)
    distinct, inverse, multiplicity = np.unique(encoded, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    if len(distinct) <= MAX_OUTCOMES:
        assignment = inverse
        representatives = np.array([np.flatnonzero(inverse == k)[0] for k in range(len(distinct))])
    else:  # cluster the distinct results, weighted by how often each occurs
        scale = encoded.std(axis=0)
        z = (distinct - encoded.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
        with threadpool_limits(limits=1):  # a few hundred points: OpenMP start-up and spinning cost more than they save
            km = KMeans(n_clusters=MAX_OUTCOMES, n_init=2, random_state=0).fit(z, sample_weight=multiplicity)
        distance = ((z - km.cluster_centers_[km.labels_]) ** 2).sum(axis=1)
        medoids = [np.flatnonzero(km.labels_ == k)[np.argmin(distance[km.labels_ == k])] for k in range(MAX_OUTCOMES)]
        assignment = km.labels_[inverse]
        representatives = np.array([np.flatnonzero(inverse == m)[0] for m in medoids])
    counts = np.zeros((len(representatives), len(DIAGNOSES)))
    np.add.at(counts, (assignment, labels), 1.0)
    likelihood = counts / np.maximum(counts.sum(axis=0, keepdims=True), 1.0)
    return Outcomes(test, block.iloc[representatives].reset_index(drop=True), likelihood)


def _encode(block: pd.DataFrame) -> np.ndarray:
    """Numbers as log1p (counts, ratios and CSF values are right-skewed), booleans 0/1, plus a null flag."""
    columns = []
    for name in block.columns:
        values = block[name].to_numpy(dtype=np.float64, na_value=np.nan)
        null = np.isnan(values)
        columns += [np.log1p(np.where(null, 0.0, values)), null.astype(np.float64)]
    return np.column_stack(columns)


def candidate_tests(nulls: np.ndarray, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Test key -> positions of the patients for whom every field of the test is null (not done).

    ``nulls`` is the (patients, fields) null mask of the canonical frame, ``columns`` its field names.
    """
    position = {name: j for j, name in enumerate(columns)}
    return {test.key: np.flatnonzero(nulls[:, [position[f] for f in test.fields]].all(axis=1)) for test in TESTS}


def hypothetical_records(records: Sequence[Mapping[str, Any]], candidates: dict[str, np.ndarray]
                         ) -> list[dict[str, Any]]:
    """Every candidate patient x test x result as a record dict (grouped by test, then patient).

    The plain form of the hypotheses, for :func:`next_tests` with any ``predict_proba``; the predictor
    builds the same patients as columns instead (:meth:`Hypotheses.columns`, equal by test).
    """
    tables = outcome_tables()
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

    def columns(self, patients: Columns) -> Columns:
        """The batch's patients followed by every hypothesis, as feature-layer columns built from the
        patients' own: each patient's row repeated per result with the test's fields filled in. The
        same values as reading :func:`hypothetical_records` (a test holds it), without reading and
        checking them again; one feature pass then serves the patients and their hypotheses."""
        tables = outcome_tables()
        rows, fill, start = [np.arange(self.n_patients)], [], self.n_patients
        for key, who in self.candidates.items():
            outcomes = tables[key]
            k = len(outcomes.values)
            rows.append(np.repeat(who, k))
            fill.append((slice(start, start + k * len(who)),
                         {name: np.tile(values, len(who)) for name, values in outcomes.encoded.items()}))
            start += k * len(who)
        return patients.take(np.concatenate(rows), fill)


def hypotheses(nulls: np.ndarray, columns: Sequence[str]) -> Hypotheses:
    """The hypotheses to score for a batch, from its (patients, fields) null mask and field names."""
    candidates = {key: who for key, who in candidate_tests(nulls, columns).items() if len(who)}
    return Hypotheses(len(nulls), candidates)


def next_tests(
    records: Sequence[Mapping[str, Any]], nulls: np.ndarray, columns: Sequence[str], probs: np.ndarray,
    predict_proba: Callable[[list[dict[str, Any]]], np.ndarray],
) -> list[NextTest | None]:
    """The most informative test per patient (None when no test is left or none would help).

    ``records`` are the validated patients, ``nulls``/``columns`` their null mask, ``probs`` the model's
    probabilities, ``predict_proba`` the model (called once, on every hypothesis of the batch).
    """
    asked = hypotheses(nulls, columns)
    completed = hypothetical_records(records, asked.candidates)
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
        tables = outcome_tables()
        top = probs.argmax(axis=1)
        start = 0
        for key, who in asked.candidates.items():
            outcomes = tables[key]
            k = len(outcomes.values)
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


def find_test(key: str) -> DiagnosticTest:
    """The test with this key (KeyError naming the known keys otherwise)."""
    for test in TESTS:
        if test.key == key:
            return test
    raise KeyError(f"unknown test {key!r}; known: {', '.join(t.key for t in TESTS)}")


def describe_outcomes(key: str) -> list[tuple[dict[str, Any], dict[str, float]]]:
    """Each representative result of a test with P(result | diagnosis): for documentation and tests."""
    outcomes = outcome_tables()[key]
    return [(row, dict(zip(DIAGNOSES, map(float, outcomes.likelihood[i]), strict=True)))
            for i, row in enumerate(outcomes.records)]


def _plain_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{k: v.item() if isinstance(v, np.generic) else v for k, v in row.items()} for row in rows]


assert all(name in fields() for test in TESTS for name in test.fields), "test fields drifted from the contract"
