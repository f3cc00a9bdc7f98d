"""Fit the next-test outcome tables: each test's results quantised to a few representatives, P(result | class).

``P(o | c)`` is the class-conditional distribution of the test's result in the *synthetic generator*,
ignoring what the patient's other findings say about the result beyond the diagnosis (as a naive-Bayes
model would): a documented, deliberate approximation (see :mod:`mmn_ddx.serving.next_test`). It is
estimated from a generated cohort of complete work-ups (every test done and its results written down
regardless of their value, so not biased towards abnormal ones) and quantised to at most
:data:`MAX_OUTCOMES` representative results per test: every distinct result when there are few
(booleans, EMG), else k-means clusters whose representatives are real generated results (medoids, so
counts stay whole and below the nerves studied).

Which generator: the worlds the model's synthetic training patients came from (``world``), so the tables and
the probabilities they update are of one world. With K drawn worlds that is their mixture, not the base world
alone: the model learns the mixture's posterior (drawn labels, and posterior targets whose expectation it is,
:mod:`mmn_ddx.training.fitting.posterior_targets`), and the mixture's P(o | c) is the predictive one, averaged
over the stated uncertainty. For 100 worlds around the literature it differs from the literature's by about
the tables' own sampling noise, at ~14 s instead of ~1 s (each world's cohort model is built again). A model
trained on a user cohort alone gets the literature world's tables: a cohort's tests are neither all done nor
recorded regardless of their results, so it cannot give P(o | c) (the card says so).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from mmn_ddx.data import (
    DIAGNOSES,
    GENERATOR_VERSION,
    LABEL,
    TESTS,
    DiagnosticTest,
    World,
    WorldMixture,
    generate_cohort,
    load_world,
)
from mmn_ddx.training.artifact.outcomes import Outcomes, OutcomeTables

MAX_OUTCOMES = 8
"""Representative results per test: the model is called ``n_tests * MAX_OUTCOMES`` times at most per patient."""
REFERENCE_SIZE = 20_000
REFERENCE_SEED = 20_240_601
WORK_UP = "complete"


def fit_outcome_tables(n: int = REFERENCE_SIZE, seed: int = REFERENCE_SEED,
                       world: World | WorldMixture | None = None) -> OutcomeTables:
    """The outcome tables of every test, from ``n`` patients generated in ``world`` (None: the literature world)."""
    cohort = generate_cohort(n, seed=seed, complete=True, world=world)
    provenance = {"source": "synthetic generator", "generator_version": GENERATOR_VERSION, "n_generated": n,
                  "seed": seed, "work_up": WORK_UP, "max_outcomes": MAX_OUTCOMES,
                  "world_digest": (world or load_world()).digest}
    return OutcomeTables({test.key: _outcomes(test, cohort) for test in TESTS}, provenance)


def _outcomes(test: DiagnosticTest, cohort: pd.DataFrame) -> Outcomes:
    done = cohort[cohort.loc[:, list(test.required)].notna().all(axis=1)]
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
    return Outcomes(test, _plain_rows(block.iloc[representatives]), likelihood)


def _encode(block: pd.DataFrame) -> np.ndarray:
    """Numbers as log1p (counts, ratios and CSF values are right-skewed), booleans 0/1, plus a null flag."""
    columns = []
    for name in block.columns:
        values = block[name].to_numpy(dtype=np.float64, na_value=np.nan)
        null = np.isnan(values)
        columns += [np.log1p(np.where(null, 0.0, values)), null.astype(np.float64)]
    return np.column_stack(columns)


def _plain_rows(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain JSON-able values (None = null), ready to merge into a record."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{str(k): v.item() if isinstance(v, np.generic) else v for k, v in row.items()} for row in rows]
