"""Out-of-distribution reference: the mixture density equals scikit-learn's, absurd records are flagged
with the facts behind it (worded by serving.wording), typical ones are not."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.mixture import GaussianMixture

from mmn_ddx.data.columns import read_frame
from mmn_ddx.data.contract import LABEL, to_canonical
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.serving.records import frame_records
from mmn_ddx.training.artifact.bundle import load_bundle
from mmn_ddx.training.artifact.reference import N_COMPONENTS, REG_COVAR, Atypical, DiagonalMixture, Reference


def test_mixture_density_matches_scikit_learn() -> None:
    """The hand-written scoring (two matrix products) equals GaussianMixture.score_samples."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, size=(300, 6)), rng.normal(3, 0.5, size=(300, 6))])
    density = DiagonalMixture.fit(X, seed=0)
    reference = GaussianMixture(N_COMPONENTS, covariance_type="diag", reg_covar=REG_COVAR, random_state=0,
                                max_iter=200).fit(density.standardise(X))
    test = rng.normal(1, 2, size=(50, 6))
    np.testing.assert_allclose(density.score_samples(test), reference.score_samples(density.standardise(test)),
                               rtol=1e-10, atol=1e-8)


def test_unknown_features_are_read_as_typical_not_as_zero() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(10, 1, size=(500, 3))
    density = DiagonalMixture.fit(X, seed=0)
    assert (
        density.score_samples(np.array([[np.nan, 10.0, 10.0]]))[0]
        > density.score_samples(np.array([[0.0, 10.0, 10.0]]))[0]
    )


@pytest.fixture(scope="module")
def bundle(quick_bundle_dir: Path):  # type: ignore[no-untyped-def]
    return load_bundle(quick_bundle_dir)


def test_typical_patients_are_rarely_flagged(bundle) -> None:  # type: ignore[no-untyped-def]
    reasons = bundle.out_of_distribution(generate_cohort(2000, seed=77).drop(columns=[LABEL]))
    assert np.mean([bool(r) for r in reasons]) < 0.03


def _absurd() -> pd.DataFrame:
    """Within the contract's ranges, but unlike any patient: CSF protein 18 g/L with 4 000 cells, a
    3-year-old, every muscle MRC 0 with normal conduction in 30 nerves."""
    record = {"age_at_onset_years": 3.0, "sex": "female", "csf_protein_g_per_l": 18.0, "csf_cells_per_ul": 4000.0,
              "motor_nerves_studied": 30, "nerves_definite_cb": 0, "nerves_any_demyelinating": 0,
              **{f"mrc_{limb}_{level}_{side}": 0.0 for limb in ("arm", "leg") for level in ("proximal", "distal")
                 for side in ("left", "right")}}
    return to_canonical(pd.DataFrame([record]))


def test_an_absurd_record_is_flagged_with_the_facts_behind_it(bundle) -> None:  # type: ignore[no-untyped-def]
    (facts,) = bundle.out_of_distribution(_absurd())
    by_field = {fact.field: fact for fact in facts if fact.code == "out_of_range"}
    csf = by_field["csf_protein_g_per_l"]
    assert csf.value == 18.0 and csf.share == pytest.approx(0.99)
    assert (csf.low, csf.high) == bundle.reference.ranges["csf_protein_g_per_l"][:2]
    assert not csf.low <= 18.0 <= csf.high
    assert by_field["age_at_onset_years"].value == 3.0


def test_an_implausible_combination_of_plausible_values_is_flagged(bundle) -> None:  # type: ignore[no-untyped-def]
    """Ranges alone would pass these patients; the isolation forest must catch the combination."""
    cohort = generate_cohort(400, seed=5).drop(columns=[LABEL])
    mixed = cohort.copy()
    mixed["upper_motor_neuron_signs"] = True
    mixed["anti_gm1_igm_ratio"] = 50.0
    counts = [c for c in mixed.columns if c.startswith("nerves_")]
    mixed[counts] = 0
    mixed["motor_nerves_studied"] = 10
    mixed["nerves_definite_cb"] = 10
    mixed["csf_protein_g_per_l"] = 2.0
    mixed["sensory_loss"] = "symmetric"
    mixed["bulbar_weakness"] = True
    flagged = [r for r in bundle.out_of_distribution(mixed) if any(x.code == "unusual_combination" for x in r)]
    assert len(flagged) / len(mixed) > 0.9


def test_facts_from_the_one_read_equal_those_from_records_and_frames(bundle) -> None:  # type: ignore[no-untyped-def]
    """Serving passes the prediction's columns (data.columns); same facts, in the same order, as the
    record and frame paths - including values never seen in training (here: "relapsing", "True")."""
    cohort = pd.concat([generate_cohort(60, seed=8).drop(columns=[LABEL]), _absurd()], ignore_index=True)
    cohort.loc[:5, "course"] = "relapsing"
    cohort.loc[3:9, "cramps"] = True
    seen = {**bundle.reference.seen_values, "course": ["progressive", "stepwise"], "cramps": ["False"]}
    reference = dataclasses.replace(bundle.reference, seen_values=seen)
    records = frame_records(cohort)
    features = bundle.transform(cohort)
    from_columns = reference.atypical(read_frame(cohort), features)
    assert from_columns == reference.atypical(records, features) == reference.atypical(cohort, features)
    assert Atypical("unseen_value", field="course", value="relapsing") in from_columns[0]
    assert Atypical("unseen_value", field="cramps", value=True) in from_columns[3]


def test_reference_round_trips_through_its_files(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bundle.reference.save(tmp_path)
    again = Reference.load(tmp_path)
    X = bundle.transform(generate_cohort(50, seed=1))
    np.testing.assert_array_equal(again.density.score_samples(X), bundle.reference.density.score_samples(X))
    assert again.ranges == bundle.reference.ranges and again.seen_values == bundle.reference.seen_values
