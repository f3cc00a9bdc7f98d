"""SHAP by finding: exact additivity, findings = sums of their features, order, and the sentences."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.special import softmax

from mmn_ddx.data.contract import DIAGNOSES, LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.features.findings import feature_map
from mmn_ddx.serving.explanation import finding_effects, finding_map
from mmn_ddx.serving.predictor import Predictor
from mmn_ddx.serving.records import frame_records
from mmn_ddx.serving.result import Explanation, FeatureContributions, PredictionResult
from mmn_ddx.serving.wording import NEUTRAL, describe_finding, direction

MMN = {
    "age_at_onset_years": 38.0, "sex": "male", "course": "progressive", "onset_region": "upper_limb",
    "mrc_arm_distal_left": 3.0, "mrc_arm_distal_right": 5.0, "weak_nerve_territories": 3, "sensory_loss": "none",
    "motor_nerves_studied": 8, "nerves_definite_cb": 3, "nerves_cidp_cb": 3, "nerves_any_demyelinating": 3,
    "sensory_nerves_studied": 4, "sensory_nerves_abnormal": 0, "anti_gm1_igm_ratio": 12.0,
}


@pytest.fixture(scope="module")
def predictor(quick_bundle_dir: Path) -> Predictor:
    return Predictor.load(str(quick_bundle_dir))


@pytest.fixture(scope="module")
def results(predictor: Predictor) -> list[PredictionResult]:
    records = frame_records(generate_cohort(30, seed=21).drop(columns=[LABEL]))
    return predictor.predict_many([*records, MMN, {"age_at_onset_years": 70.0, "sex": "male"}], with_next_test=False)


def _matrix(contributions: list[dict[str, float]]) -> np.ndarray:
    return np.array([[c[d] for d in DIAGNOSES] for c in contributions])


def test_additivity_is_exact_on_the_stated_scale(results: list[PredictionResult]) -> None:
    for result in results:
        e = result.explanation
        assert e.scale == "log-odds" and e.classes == list(DIAGNOSES)
        base = np.array([e.base_values[d] for d in DIAGNOSES])
        outputs = np.array([e.outputs[d] for d in DIAGNOSES])
        features = np.array([e.by_feature.contributions[d] for d in DIAGNOSES]).sum(axis=1)
        findings = _matrix([f.contributions for f in e.by_finding]).sum(axis=0)
        np.testing.assert_allclose(base + features, outputs, atol=1e-6, rtol=0)
        np.testing.assert_allclose(base + findings, outputs, atol=1e-6, rtol=0)
        probs = np.array([result.probabilities[d] for d in DIAGNOSES])
        np.testing.assert_allclose(softmax(outputs), probs, atol=1e-6, rtol=0)


def test_finding_sums_equal_their_feature_sums(results: list[PredictionResult], predictor: Predictor) -> None:
    table = feature_map(predictor.mode)
    for result in results:
        by_feature = result.explanation.by_feature
        assert by_feature.features == list(predictor.bundle.feature_names)
        assert by_feature.findings == [table[name].group for name in by_feature.features]
        per_feature = np.array([by_feature.contributions[d] for d in DIAGNOSES]).T  # (features, classes)
        for finding in result.explanation.by_finding:
            members = [j for j, name in enumerate(by_feature.features) if table[name].group == finding.finding]
            assert members, finding.finding
            np.testing.assert_allclose(per_feature[members].sum(axis=0), _matrix([finding.contributions])[0],
                                       atol=1e-9)


def test_findings_sorted_by_the_size_of_their_effect_on_the_predicted_class(results: list[PredictionResult]) -> None:
    for result in results:
        sizes = [abs(f.effects[result.predicted_diagnosis]) for f in result.explanation.by_finding]
        assert sizes == sorted(sizes, reverse=True)
        assert len({f.finding for f in result.explanation.by_finding}) == len(sizes)


def test_each_finding_carries_its_effects_and_its_words_say_them(results: list[PredictionResult]) -> None:
    """The effects are the exact change of each class's log-odds without the finding, and the words' direction
    for the predicted class has their sign: never "away from MMN" beside a finding that raises MMN's odds."""
    for result in results:
        e = result.explanation
        outputs = np.array([e.outputs[d] for d in DIAGNOSES])
        k = DIAGNOSES.index(result.predicted_diagnosis)
        for finding in e.by_finding:
            contributions = _matrix([finding.contributions])
            effects = _matrix([finding.effects])[0]
            np.testing.assert_allclose(effects, finding_effects(contributions, outputs, e.scale)[0], atol=1e-12)
            words = finding.sentence.removeprefix(finding.statement + ": ")
            assert words == direction(effects, k)
            own = effects[k]
            if words.startswith(f"towards {DIAGNOSES[k]}"):
                assert own >= NEUTRAL[e.scale]
            elif words.startswith(f"away from {DIAGNOSES[k]}"):
                assert own <= -NEUTRAL[e.scale]
            else:
                assert abs(own) < NEUTRAL[e.scale]


def test_every_finding_has_the_patients_statement_and_a_direction(results: list[PredictionResult]) -> None:
    result = results[-2]  # the MMN vignette
    for finding in result.explanation.by_finding:
        assert finding.statement == describe_finding(finding.finding, MMN)
        assert finding.sentence.startswith(finding.statement + ": ")
        tail = finding.sentence.removeprefix(finding.statement + ": ")
        assert tail == "little effect" or any(tail.endswith(d) for d in DIAGNOSES)


def test_conduction_block_is_worded_with_the_patients_counts(results: list[PredictionResult]) -> None:
    result = results[-2]
    assert result.predicted_diagnosis == "MMN"
    block = next(f for f in result.explanation.by_finding if f.finding == "conduction_block")
    assert block.label == "Motor conduction block"
    assert block.sentence.startswith("definite conduction block in 3 of 8 motor nerves")
    predicted = DIAGNOSES.index(result.predicted_diagnosis)
    values = np.array([[block.contributions[d] for d in DIAGNOSES]])
    outputs = np.array([result.explanation.outputs[d] for d in DIAGNOSES])
    effects = finding_effects(values, outputs, result.explanation.scale)[0]
    assert block.sentence.endswith(": " + direction(effects, predicted))


WORDED_MMN = {
    "age_at_onset_years": 38.0, "sex": "male", "course": "progressive", "onset_region": "upper_limb",
    "weakness_symmetry": "asymmetric", "weakness_predominance": "distal", "weak_arms": "one", "weak_legs": "none",
    "motor_conduction_block": "multiple", "motor_ncs_pattern": "demyelinating", "sensory_ncs": "normal",
    "anti_gm1_igm": "positive",
}


def test_a_record_in_words_is_explained_with_its_stated_findings(predictor: Predictor) -> None:
    result = predictor.predict_many([WORDED_MMN], with_next_test=False)[0]
    statements = {f.finding: f.statement for f in result.explanation.by_finding}
    assert statements["conduction_block"] == "conduction block in several nerves (stated without counts)"
    assert statements["anti_gm1"] == "anti-GM1 IgM positive (no titre given)"
    assert statements["sensory_conduction"].startswith("normal sensory conduction (stated without counts)")
    assert "not done" not in statements["ncs_extent"]
    features = dict(zip(result.explanation.by_feature.features, result.explanation.by_feature.values, strict=True))
    assert features["cb_extent"] == 2 and features["anti_gm1_positive"] == 1
    assert features["motor_ncs_not_done"] == 0 and features["efns_asymmetric"] == 1


def test_feature_values_are_the_models_inputs(results: list[PredictionResult], predictor: Predictor) -> None:
    features = predictor.bundle.transform([MMN])[0]
    reported = results[-2].explanation.by_feature.values
    np.testing.assert_array_equal(np.array(reported, dtype=float), features)


def test_every_explanation_equals_its_validated_copy(results: list[PredictionResult]) -> None:
    # the per-feature columns are built without validation (serving.explanation): they must be what it would give
    for result in results:
        explanation = result.explanation
        assert Explanation.model_validate(explanation.model_dump()) == explanation
        assert FeatureContributions.model_validate(explanation.by_feature.model_dump()) == explanation.by_feature
        assert all(type(v) is float for column in explanation.by_feature.contributions.values() for v in column)
        assert all(v is None or type(v) is float for v in explanation.by_feature.values)


@pytest.mark.parametrize(("contributions", "predicted", "expected"), [
    ([0.8, -0.2, -0.3, 0.0], 0, "towards MMN"),
    ([-0.4, 0.6, 0.0, 0.1], 0, "away from MMN, towards MND"),
    ([-0.4, -0.1, 0.0, 0.02], 0, "away from MMN"),
    ([0.01, 0.02, 0.3, -0.01], 0, "towards CIDP"),
    ([0.01, -0.02, 0.03, 0.0], 3, "little effect"),
    ([0.0, 0.0, 0.0, 0.5], 3, "towards MADSAM"),
])
def test_direction_words(contributions: list[float], predicted: int, expected: str) -> None:
    assert direction(contributions, predicted) == expected


def test_a_finding_is_worded_by_its_effect_on_each_probability_not_its_own_score() -> None:
    """A softmax class rises with its score relative to the others': a high anti-GM1 titre adding +4.5 to MMN
    and +0.3 to MND lowers MND's probability, so it is not "towards MND" for a patient predicted MND."""
    phi = np.array([[4.5, 0.3, 0.0, 0.0], [0.0, 1.0, -0.2, 0.0], [0.02, 0.0, 0.0, 0.0]])
    outputs = np.array([1.0, 1.1, -3.0, -3.0])  # MND just above MMN
    effects = finding_effects(phi, outputs, "log-odds")
    def log_odds(scores: np.ndarray) -> np.ndarray:
        p = softmax(scores)
        return np.log(p) - np.log1p(-p)

    for finding, row in enumerate(phi):  # exact: each class's log-odds with the finding minus without it
        np.testing.assert_allclose(effects[finding], log_odds(outputs) - log_odds(outputs - row), atol=1e-9)
    predicted = DIAGNOSES.index("MND")
    assert [direction(e, predicted) for e in effects] == ["away from MND, towards MMN", "towards MND", "little effect"]
    assert direction(phi[0], predicted) == "towards MND"  # what the score alone said
    assert finding_effects(phi, outputs, "probability") is phi  # additive probabilities: the effects themselves
    certain = np.array([12.0, 1.0, -3.0, -3.0])  # MMN near certainty: a finding for it still moves its odds
    assert direction(finding_effects(np.array([[4.5, -0.5, 0.0, 0.0]]), certain, "log-odds")[0], 0) == "towards MMN"


def test_finding_map_refuses_unknown_features() -> None:
    with pytest.raises(ValueError, match="not_a_feature"):
        finding_map("at-presentation", ("age_at_onset_years", "not_a_feature"))


def test_finding_map_membership_is_a_partition() -> None:
    columns: tuple[Any, ...] = tuple(feature_map("with-treatment"))
    fmap = finding_map("with-treatment", columns)
    assert (fmap.membership.sum(axis=1) == 1).all()
    assert "treatment_response" in fmap.groups
