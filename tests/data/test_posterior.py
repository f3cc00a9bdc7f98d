"""The exact posterior: agrees with Monte-Carlo frequencies and is calibrated on generated data."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data.columns import ColumnsError
from mmn_ddx.data.contract import DIAGNOSES, LABEL, to_canonical
from mmn_ddx.data.exact_posterior import log_likelihoods, posterior
from mmn_ddx.data.generator import CLASS_PRIOR_PRESETS, generate_cohort

# Sets of fields whose joint recorded/null pattern is checked against Monte Carlo: across sections;
# within the strength section (MRC grades on the full grid, omitted as a whole with atrophy); within
# the nerve-conduction section (a count whose denominator is rarely stated) and the history; and the
# weakness-pattern latent (generator 2.1): one arm's left/right pair and the onset, whose joint grades
# depend on the pattern, the side and the severity summed together on the full grid.
KEPT_SETS = [
    ["onset_region", "sensory_loss", "nerves_definite_cb", "emg_fasciculation_potentials", "sex"],
    ["mrc_arm_distal_left", "mrc_leg_distal_right", "muscle_atrophy", "course"],
    ["nerves_definite_cb", "motor_nerves_studied", "sensory_normal_across_cb", "upper_motor_neuron_signs"],
    ["reflexes_affected_limbs", "upper_motor_neuron_signs", "sensory_loss"],
    ["mrc_arm_distal_left", "mrc_arm_distal_right", "mrc_arm_proximal_right", "onset_region"],
]


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Top-label ECE with equal-width bins."""
    confidence, predicted = probs.max(axis=1), probs.argmax(axis=1)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            ece += inside.mean() * abs((predicted[inside] == labels[inside]).mean() - confidence[inside].mean())
    return float(ece)


@pytest.fixture(scope="module")
def big_cohort() -> pd.DataFrame:
    return generate_cohort(200_000, seed=21)


@pytest.mark.parametrize("kept", KEPT_SETS, ids=lambda k: "+".join(k[:2]))
def test_posterior_agrees_with_monte_carlo_frequencies(
        big_cohort: pd.DataFrame, kept: list[str],
        posterior_matches_monte_carlo: Callable[[pd.DataFrame, list[str], int], None]) -> None:
    """Among patients sharing the same recorded (or null) values of a few fields, the class shares
    equal the posterior that marginalises every other field — including the reporting model."""
    posterior_matches_monte_carlo(big_cohort, kept, 2000)

def test_posterior_is_calibrated_on_generated_patients() -> None:
    cohort = generate_cohort(20_000, seed=22)
    probs = posterior(cohort)
    labels = cohort[LABEL].cat.codes.to_numpy()
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert expected_calibration_error(probs, labels) < 0.02


def test_class_priors_shift_the_posterior_by_bayes_rule() -> None:
    cohort = generate_cohort(50, seed=23)
    balanced = posterior(cohort)
    referral = CLASS_PRIOR_PRESETS["referral"]
    shifted = posterior(cohort, class_priors=referral)
    weights = np.array([referral[d] for d in DIAGNOSES]) / 0.25
    expected = balanced * weights
    np.testing.assert_allclose(shifted, expected / expected.sum(axis=1, keepdims=True), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"nerves_definite_cb": 3, "motor_nerves_studied": 8, "sensory_loss": "none", "anti_gm1_igm_ratio": 8.0,
          "onset_region": "upper_limb", "upper_motor_neuron_signs": False}, "MMN"),
        ({"upper_motor_neuron_signs": True, "emg_regions_denervated": 3, "fasciculations": True,
          "sensory_loss": "none", "nerves_definite_cb": 0}, "MND"),
        ({"sensory_loss": "symmetric", "nerves_dml_prolonged": 4, "motor_nerves_studied": 6,
          "csf_protein_g_per_l": 1.4, "reflexes_affected_limbs": "absent"}, "CIDP"),
        ({"sensory_loss": "multifocal", "nerves_definite_cb": 2, "sensory_nerves_abnormal": 3,
          "sensory_nerves_studied": 4, "onset_region": "upper_limb"}, "MADSAM"),
    ],
)
def test_sparse_textbook_records_get_the_textbook_diagnosis(record: dict[str, object], expected: str) -> None:
    frame = to_canonical(pd.DataFrame([{"age_at_onset_years": 45.0, "sex": "male", **record}]))
    probs = posterior(frame)[0]
    assert DIAGNOSES[int(probs.argmax())] == expected
    assert probs.max() > 0.6


def test_excluding_fields_equals_dropping_them_from_the_record() -> None:
    cohort = generate_cohort(200, seed=24)
    treatment = ["ivig_response", "corticosteroid_response"]
    np.testing.assert_allclose(
        posterior(cohort, exclude=treatment), posterior(cohort.drop(columns=treatment), exclude=treatment)
    )
    with pytest.raises(ValueError, match="unknown fields"):
        posterior(cohort, exclude=["ivig"])


def test_a_value_outside_the_dictionary_is_refused_not_read_as_a_null() -> None:
    """The posterior reads its frame through the one checked reader (``data.column_readers.read_frame``): an
    unknown category or an out-of-range count names its field and row, where it used to count as unrecorded."""
    cohort = generate_cohort(3, seed=26).astype({"course": "string", "motor_nerves_studied": "float64"})
    cohort.loc[1, "course"] = "fluctuating"
    cohort.loc[2, "motor_nerves_studied"] = -1.0
    with pytest.raises(ColumnsError) as refused:
        posterior(cohort)
    assert refused.value.problems == {"course": "value not among ['progressive', 'stepwise', 'relapsing'] at rows [1]",
                                      "motor_nerves_studied": "value outside the allowed range [0, 40] at rows [2]"}
    assert "fluctuating" not in str(refused.value)


def test_a_record_gets_the_same_likelihood_alone_as_among_records_it_shares_values_with() -> None:
    """Rows with the same records share one computation (per section, per count group, per state class of
    the strength section): batched with copies of itself, a record gets what it gets alone."""
    cohort = generate_cohort(40, seed=25)
    batch = pd.concat([cohort, cohort.iloc[::-1], cohort.iloc[:10]], ignore_index=True)
    together = log_likelihoods(batch)
    alone = np.concatenate([log_likelihoods(cohort.iloc[[i]]) for i in range(len(cohort))])
    for copy in (together[:40], together[40:80][::-1], together[80:]):
        np.testing.assert_allclose(copy, alone[: len(copy)], rtol=0, atol=1e-9)


def test_values_outside_the_generator_support_do_not_break_the_posterior() -> None:
    frame = to_canonical(pd.DataFrame([{"age_at_onset_years": 5.0, "sex": "female", "motor_nerves_studied": 30,
                                        "nerves_definite_cb": 25, "mrc_arm_distal_left": 4.5}]))
    probs = posterior(frame)
    assert np.isfinite(probs).all() and np.isclose(probs.sum(), 1.0)


@pytest.mark.parametrize(
    "finding",
    [{"motor_nerves_studied": 3}, {"course": "relapsing"}, {"weak_nerve_territories": 0},
     {"reflexes_unaffected_limbs": "absent"}, {"onset_region": "bulbar"}, {"upper_motor_neuron_signs": True}],
)
def test_no_single_finding_excludes_a_diagnosis(finding: dict[str, object]) -> None:
    """Atypical findings are part of the model, so one unusual value never gives probability 0."""
    frame = to_canonical(pd.DataFrame([{"age_at_onset_years": 50.0, "sex": "male", **finding}]))
    assert (posterior(frame)[0] > 1e-4).all()
