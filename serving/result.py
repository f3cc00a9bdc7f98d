"""The one typed prediction result: the Python API returns it, the CLI, HTTP API and web page render it.

Like shap's ``Explanation``, it is the single currency between the predictor and every view, with its
axes explicit: contributions are per finding (or engineered feature) *and* per class, on a stated scale.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mmn_ddx.training.artifact import WarningCode

NOT_FOR_CLINICAL_USE = (
    "Research software. The model has not been validated on real patients: not for clinical use. What it was "
    "trained on (synthetic patients generated from published frequencies, a user's cohort, or both) is stated in "
    "its warnings and its model card."
)
"""One notice for every model and response: a model trained on a user's cohort is not said to be synthetic."""

Status = Literal["met", "not met", "not assessable"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FindingContribution(_Frozen):
    """One clinical finding: its SHAP contributions (summed over its engineered features), which add up to the
    scores, and its effects on the odds, which its sentence words. On the log-odds scale the two can differ in
    sign: a finding raising MMN's score can raise MND's more and so lower MMN's probability."""

    finding: str = Field(description="Finding group id from the feature->finding map.")
    label: str = Field(description="Clinician-readable name of the finding.")
    statement: str = Field(
        description="The patient's value(s), e.g. 'definite conduction block in 3 of 8 motor nerves'."
    )
    contributions: dict[str, float] = Field(description=(
        "SHAP contribution per diagnosis to its score on Explanation.scale (on the log-odds scale the class's "
        "softmax logit: positive raises the score, which lowers the probability when the finding raises another "
        "class's score more). Additive: base_values + the contributions of every finding = outputs."))
    effects: dict[str, float] = Field(description=(
        "Effect per diagnosis: on the log-odds scale, the change of the diagnosis' log-odds against all the others "
        "when the finding is taken out (positive: towards it, what the sentence says); on the probability scale, "
        "the contribution itself. Effects do not add up."))
    sentence: str = Field(description="Readable summary for the predicted class, worded from the effects, e.g. "
                                      "'...: towards MMN'.")


class FeatureContributions(_Frozen):
    """SHAP values per engineered feature, in columns (the layout of ``shap.Explanation``): feature ``j`` is
    ``features[j]``, part of finding ``findings[j]``, with value ``values[j]`` and contribution
    ``contributions[d][j]`` to diagnosis ``d``. Columns, not one object per feature: the ~100 features
    made up most of a result's size and of the time to build and serialise it."""

    features: list[str]
    findings: list[str] = Field(description="Finding group of each feature (the feature->finding map).")
    values: list[float | None] = Field(description="Engineered feature values; null where the finding is unknown.")
    contributions: dict[str, list[float]] = Field(
        description="Per diagnosis, one contribution per feature (in `features` order), on Explanation.scale.")


class Explanation(_Frozen):
    """Additive explanation: base_values[c] + sum(contributions[c]) == outputs[c] on ``scale``."""

    method: str = Field(description="e.g. 'xgboost pred_contribs (TreeSHAP)' or 'linear SHAP'.")
    scale: Literal["log-odds", "probability"] = Field(
        description="log-odds: per-class logits whose softmax gives the probabilities.")
    classes: list[str]
    base_values: dict[str, float]
    outputs: dict[str, float]
    by_finding: list[FindingContribution] = Field(
        description="Sorted by the size of the effect on the predicted class, largest first.")
    by_feature: FeatureContributions
    base_shift: dict[str, float] | None = Field(
        default=None, description="log(pre-test / training prior) per class, already added to base_values: the "
        "clinical setting moves the base (prior) term only, the findings' contributions are unchanged. Null on the "
        "probability scale, where the explanation stays on the training population's scale (see setting.note).")


class CriterionElement(_Frozen):
    """One element of a verdict. Tuples, not lists: results share these instances (:mod:`serving.criteria_view`),
    so nothing in them may be mutable; JSON and the schema are the same arrays."""

    id: str
    description: str
    status: Status
    fields: tuple[str, ...]
    missing: tuple[str, ...] = Field(default=(), description="Null fields that made it not assessable.")


class CriteriaVerdict(_Frozen):
    criteria: str = Field(description="e.g. 'EFNS/PNS 2010 MMN'.")
    verdict: str
    variant: str | None = None
    elements: list[CriterionElement]
    maps_to: str | None = Field(default=None, description="Diagnosis the verdict points to (None if not met).")
    missing_fields: list[str] = Field(
        default_factory=list, description="Null fields that could still change this verdict if recorded.")


class CriteriaSummary(_Frozen):
    verdicts: list[CriteriaVerdict]
    rule_based_label: str = Field(
        description="MMN / MND / CIDP / MADSAM / unclassified / conflicting (strict reading).")
    rule_based_labels: dict[str, str] = Field(
        description="The rule-based label under each reading of the record, side by side: 'strict' (an unknown "
                    "never counts; the verdicts above) and 'chart-review' (an unmentioned exclusion or supportive "
                    "finding is absent, a count without its denominator is complete; docs/criteria.md).")
    agrees_with_model: bool | None = Field(description="None when the criteria give no single label.")
    note: str


class PredictionSet(_Frozen):
    diagnoses: list[str]
    coverage: float = Field(description="Target probability that the true diagnosis is in the set.")
    method: str
    population: str = Field(
        default="training", description="Whose probabilities the set is computed from: 'training' (the population "
        "the conformal threshold was calibrated on, whatever the clinical setting) or the setting's name.")


class ClinicalSetting(_Frozen):
    """The intended-use population the probabilities are for (Bayes' rule from the training prior)."""

    name: str = Field(description="balanced / new-patients / follow-up / referral (data/priors.yaml presets).")
    is_default: bool = Field(description="True when no setting was asked for: the intended-use population.")
    pre_test_probabilities: dict[str, float] = Field(description="The setting's prior probability of each diagnosis.")
    training_prior: dict[str, float] = Field(description="The class mix the model's probabilities were calibrated to.")
    note: str = Field(description="What the setting changes, in words.")


class NextTest(_Frozen):
    field: str
    label: str
    expected_change: float = Field(description="Expected absolute change of the top-class probability (0-1).")
    expected_entropy_reduction: float = Field(description="Expected reduction of the predictive entropy, in bits.")
    rationale: str
    test: str | None = Field(default=None, description="Test key, e.g. 'csf' (mmn_ddx.data.diagnostic_tests.TESTS).")
    fields: list[str] = Field(default_factory=list, description=(
        "The contract fields the test's report fills in numbers (a report may state the same results in words "
        "instead: the contract v2 fields, which count as the test's result too)."))


class Warning(_Frozen):  # the domain word; never shadows builtins at import sites
    code: WarningCode  # the codes and their order: training.artifact.warning_codes
    message: str


class Audit(_Frozen):
    model_name: str
    model_version: str | None
    model_alias: str | None
    model_uri: str
    mode: str
    training_data_digest: str
    generator_version: str | None
    training_world_digest: str | None = Field(default=None, description="SHA-256 of the world the synthetic "
                                              "training patients came from (literature or fitted to a cohort).")
    training_world_source: str | None = Field(default=None, description="Where that world came from.")
    code_version: str = Field(description="Serving code version (package version + git commit).")
    training_code_version: str | None = Field(default=None, description="Code version that trained the model.")
    schema_version: int
    manifest_digest: str | None = Field(
        default=None, description="SHA-256 of the model bundle's manifest of file digests (training.artifact."
        "manifest): names the exact files that produced this prediction; null for a model never saved.")


class PredictionResult(_Frozen):
    patient_id: str | None
    predicted_diagnosis: str
    probabilities: dict[str, float]
    prediction_set: PredictionSet
    setting: ClinicalSetting
    explanation: Explanation
    criteria: CriteriaSummary
    next_test: NextTest | None
    warnings: list[Warning]
    audit: Audit
    notice: str = NOT_FOR_CLINICAL_USE
