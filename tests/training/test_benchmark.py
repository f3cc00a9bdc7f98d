"""The benchmark use case: criteria mapping, both modes, paired comparisons, re-weighting, user cohorts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data import LITERATURE_WORLD, draw_world, world_name
from mmn_ddx.data.contract import DIAGNOSES, LABEL
from mmn_ddx.data.exact_posterior import posterior
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.features.criteria import CIDP_VARIANT_LABELS, criteria_categories, evaluate_criteria
from mmn_ddx.features.modes import MODES, TREATMENT_FIELDS
from mmn_ddx.training.artifact.calibration import log_loss
from mmn_ddx.training.evaluation.benchmark import COHORT_SETTING, PRIOR_SETTINGS, BenchmarkResult, Cohort, run_benchmark
from mmn_ddx.training.evaluation.benchmark_methods import (
    BAYES,
    CASCADE,
    CASCADE_CHART_REVIEW,
    CIDP_CRITERIA,
    GOLD_COAST,
    MMN_DEFINITE_PROBABLE,
    ModeModels,
    criteria_methods,
    frame_for_mode,
)
from mmn_ddx.training.evaluation.benchmark_worlds import TrainingOrigin, world_shift_note
from mmn_ddx.training.evaluation.metrics import ABSTAIN, NEGATIVE, K, point_estimates

N_BOOT = 40


def exclude(mode: str) -> tuple[str, ...]:
    return TREATMENT_FIELDS if mode == "at-presentation" else ()


def fake_models(mode: str) -> ModeModels:
    """Two 'families' with known quality: the exact posterior (the champion) and a blurred copy of it."""

    def oracle(frame: pd.DataFrame) -> np.ndarray:
        return posterior(frame, exclude=exclude(mode))

    def blurred(frame: pd.DataFrame) -> np.ndarray:
        return 0.6 * oracle(frame) + 0.4 / K

    return ModeModels(mode, {"oracle": oracle, "blurred": blurred}, "oracle", oracle)


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return generate_cohort(1000, seed=11)  # enough false MND calls for the re-weighting test


@pytest.fixture(scope="module")
def result(cohort: pd.DataFrame) -> BenchmarkResult:
    models = {mode: fake_models(mode) for mode in MODES}
    return run_benchmark([Cohort("test", cohort, synthetic=True)], models, n_boot=N_BOOT, seed=3)


def test_every_method_has_a_row_per_mode_setting_and_metric(result: BenchmarkResult) -> None:
    m = result.metrics
    methods = {"oracle", "blurred", "champion (oracle)", CASCADE, BAYES, GOLD_COAST}
    for mode in MODES:
        for setting in (COHORT_SETTING, *PRIOR_SETTINGS):
            rows = m[(m["mode"] == mode) & (m["setting"] == setting)]
            assert methods <= set(rows["method"]), (mode, setting)
            assert rows.groupby("method").size().nunique() == 1  # every method reports every metric
    assert set(m["kind"]) == {"model", "champion", "criteria", "rules", "bayes"}
    finite = m.dropna(subset=["ci_low", "ci_high"])
    assert (finite["ci_low"] <= finite["ci_high"] + 1e-12).all()


def test_champion_equal_to_the_posterior_has_zero_paired_gap_to_the_ceiling(result: BenchmarkResult) -> None:
    """Same patients, same resamples: the difference of a method with itself is exactly 0 in every resample."""
    c = result.comparisons
    gaps = c[(c["comparison"] == "gap to Bayes ceiling") & (c["setting"] == COHORT_SETTING)]
    assert len(gaps) == 2 * 5
    np.testing.assert_allclose(gaps[["estimate", "ci_low", "ci_high"]].to_numpy(), 0.0, atol=1e-12)
    ratio = c[(c["comparison"] == "ratio to Bayes ceiling") & (c["setting"] == COHORT_SETTING)]
    np.testing.assert_allclose(ratio["estimate"], 1.0)


def test_gain_over_the_rules_is_paired_and_matches_the_point_estimates(result: BenchmarkResult) -> None:
    c = result.comparisons
    gains = c[(c["comparison"] == "gain over best rules") & (c["setting"] == COHORT_SETTING)
              & (c["mode"] == "with-treatment")].set_index("metric")
    ev = next(e for e in result.evaluations if e.mode == "with-treatment")
    reference = gains["reference"].unique()
    assert len(reference) == 1 and reference[0] in (CASCADE, CASCADE_CHART_REVIEW)  # the best of the two readings
    rules = next(m for m in ev.methods if m.name == reference[0]).predictions
    champion = next(m for m in ev.methods if m.kind == "champion").predictions
    rules_score = point_estimates(ev.y, rules)
    on_all = point_estimates(ev.y, champion)["balanced_accuracy_all"] - rules_score["balanced_accuracy_all"]
    assert gains.loc["balanced_accuracy_all", "estimate"] == pytest.approx(on_all)
    covered = point_estimates(ev.y, champion.restricted_to(rules.covered))["accuracy"] - rules_score["accuracy"]
    assert gains.loc["accuracy", "estimate"] == pytest.approx(covered)
    assert (gains["ci_low"] <= gains["estimate"]).all() and (gains["estimate"] <= gains["ci_high"]).all()
    assert gains.loc["balanced_accuracy_all", "ci_low"] > 0  # the posterior beats rules that mostly abstain


def test_criteria_become_detectors_and_the_cascade_abstains(cohort: pd.DataFrame) -> None:
    methods, abstentions = criteria_methods(cohort)
    verdicts = evaluate_criteria(cohort)
    by_name = {m.name: m.predictions for m in methods}
    cascade = by_name[CASCADE]
    rule_labels = verdicts["rule_based_label"].astype(object).to_numpy()
    decided = np.isin(rule_labels, DIAGNOSES)
    assert (cascade.labels[~decided] == ABSTAIN).all()
    np.testing.assert_array_equal(np.array(DIAGNOSES)[cascade.labels[decided]], rule_labels[decided])
    assert abstentions["unclassified"] + abstentions["conflicting"] == pytest.approx(1 - decided.mean())
    chart = evaluate_criteria(cohort, "chart-review")["rule_based_label"].astype(object).to_numpy()
    chart_decided = np.isin(chart, DIAGNOSES)
    np.testing.assert_array_equal(np.array(DIAGNOSES)[by_name[CASCADE_CHART_REVIEW].labels[chart_decided]],
                                  chart[chart_decided])
    assert (by_name[CASCADE_CHART_REVIEW].labels[~chart_decided] == ABSTAIN).all()
    assert abstentions["unclassified (chart review)"] + abstentions["conflicting (chart review)"] == pytest.approx(
        1 - chart_decided.mean())
    assert chart_decided.mean() >= decided.mean()  # chart review only resolves what strict leaves undecided
    gold = by_name[GOLD_COAST]
    als = verdicts["als_gold_coast"].astype(object).to_numpy()
    assert gold.targets == (DIAGNOSES.index("MND"),)
    np.testing.assert_array_equal(gold.labels == DIAGNOSES.index("MND"), als == "met")
    np.testing.assert_array_equal(gold.labels == NEGATIVE, als == "not met")
    np.testing.assert_array_equal(gold.labels == ABSTAIN, als == "not assessable")


def test_the_cidp_detectors_name_says_which_phenotype_it_scores_as_which_diagnosis(cohort: pd.DataFrame) -> None:
    """Focal CIDP confined to an arm is scored as MADSAM (CIDP_VARIANT_LABELS); the name said only typical ->
    CIDP and multifocal -> MADSAM."""
    methods, _ = criteria_methods(cohort)
    cidp = next(m for m in methods if m.name == CIDP_CRITERIA).predictions.labels
    verdicts = evaluate_criteria(cohort)
    met = verdicts["cidp_ean2021"].isin(["CIDP", "possible CIDP"]).to_numpy()
    variant = verdicts["cidp_variant"].astype(object).to_numpy()
    focal_arm = met & (variant == "focal arm")
    assert focal_arm.any() and (cidp[focal_arm] == DIAGNOSES.index("MADSAM")).all()
    assert CIDP_CRITERIA == "EAN/PNS 2021 CIDP (typical -> CIDP, multifocal or focal arm -> MADSAM)"
    for phenotype, label in CIDP_VARIANT_LABELS.items():  # what the name says is what is scored
        scored = met & (variant == phenotype)
        assert (cidp[scored] == (DIAGNOSES.index(label) if label in DIAGNOSES else NEGATIVE)).all()


def test_a_detector_abstains_only_when_the_categories_it_names_are_undecided(cohort: pd.DataFrame) -> None:
    """"Definite or probable" is decided by those two categories, not by the set's verdict, which stays "not
    assessable" while "possible" is undecided; the CIDP detector by its typical / multifocal / arm-focal ones."""
    methods, _ = criteria_methods(cohort)
    by_name = {m.name: m.predictions.labels for m in methods}
    cats = criteria_categories(cohort)
    verdicts = evaluate_criteria(cohort)

    def expected(names: list[str], label: int) -> np.ndarray:
        block = cats[names]
        met = block.fillna(False).to_numpy(dtype=bool).any(axis=1)
        decided = met | block.notna().to_numpy().all(axis=1)
        return np.where(met, label, np.where(decided, NEGATIVE, ABSTAIN))

    mmn = expected(["mmn_efns2010.definite", "mmn_efns2010.probable"], DIAGNOSES.index("MMN"))
    np.testing.assert_array_equal(by_name[MMN_DEFINITE_PROBABLE], mmn)
    answered_though_set_undecided = (mmn == NEGATIVE) & (verdicts["mmn_efns2010"] == "not assessable").to_numpy()
    assert answered_though_set_undecided.any()
    targets = [f"cidp_ean2021.{v}: {level}" for v in ("typical", "multifocal", "focal arm")
               for level in ("CIDP", "possible CIDP")]
    cidp = by_name[CIDP_CRITERIA]
    not_assessable = (verdicts["cidp_ean2021"] == "not assessable").to_numpy()
    np.testing.assert_array_equal(cidp[not_assessable] == NEGATIVE,
                                  (expected(targets, 0) == NEGATIVE)[not_assessable])
    assert (cidp[not_assessable] == NEGATIVE).any() and (cidp[not_assessable] == ABSTAIN).any()


def test_treatment_responses_are_hidden_from_every_method_at_presentation(cohort: pd.DataFrame) -> None:
    treated = cohort.copy()
    treated["ivig_response"] = pd.Categorical(["improved"] * len(cohort), dtype=cohort["ivig_response"].dtype)
    hidden = frame_for_mode(treated, "at-presentation")
    assert hidden[list(TREATMENT_FIELDS)].isna().all().all()
    assert (hidden["ivig_response"].dtype == cohort["ivig_response"].dtype)
    assert frame_for_mode(treated, "with-treatment") is treated
    assert treated["ivig_response"].notna().all()  # the caller's frame is left alone


def test_reweighting_changes_ppv_but_not_the_sensitivity_of_prior_free_rules(cohort: pd.DataFrame,
                                                                            result: BenchmarkResult) -> None:
    # The PPV can only move if the cascade calls some non-MND patient MND (about 0.7 % of them do): the
    # cohort is large enough to hold a few such calls (1 000 records: 3; 400 held none after the merge).
    calls = evaluate_criteria(frame_for_mode(cohort, "at-presentation"))["rule_based_label"].astype(object)
    assert ((calls.to_numpy() == "MND") & (cohort[LABEL].to_numpy() != "MND")).sum() > 0
    m = result.metrics
    rules = m[(m["method"] == CASCADE) & (m["mode"] == "at-presentation")].pivot(
        index="metric", columns="setting", values="estimate")
    for d in DIAGNOSES:
        sensitivity = rules.loc[f"sensitivity_{d}"]
        assert sensitivity["new-patients"] == pytest.approx(sensitivity[COHORT_SETTING])
    # MND is 86 % of new patients: a rule that says MND is more often right there than in a balanced cohort
    assert rules.loc["ppv_MND", "new-patients"] > rules.loc["ppv_MND", COHORT_SETTING] + 0.02


def test_user_cohort_has_no_bayes_ceiling(cohort: pd.DataFrame) -> None:
    models = {"with-treatment": fake_models("with-treatment")}
    res = run_benchmark([Cohort("user.csv", cohort.head(200), synthetic=False)], models, n_boot=20, settings=())
    assert BAYES not in set(res.metrics["method"])
    assert set(res.metrics["setting"]) == {COHORT_SETTING}
    assert set(res.comparisons["comparison"]) == {"gain over best rules"}
    assert set(res.metrics["mode"]) == {"with-treatment"}


def test_a_cohort_without_one_diagnosis_is_not_reweighted_but_still_scored(cohort: pd.DataFrame) -> None:
    no_madsam = cohort[cohort[LABEL] != "MADSAM"].head(150)
    models = {"with-treatment": fake_models("with-treatment")}
    res = run_benchmark([Cohort("user.csv", no_madsam, synthetic=False)], models, n_boot=20, settings=("new-patients",))
    assert set(res.metrics["setting"]) == {COHORT_SETTING}
    assert any("no patient with MADSAM" in note for note in res.evaluations[0].notes)
    champion = res.metrics[(res.metrics["kind"] == "champion")].set_index("metric")["estimate"]
    assert np.isfinite(champion[["balanced_accuracy", "macro_auroc", "log_loss"]]).all()


def test_unlabelled_patients_are_refused(cohort: pd.DataFrame) -> None:
    frame = cohort.head(50).copy()
    frame.loc[frame.index[3], LABEL] = np.nan
    with pytest.raises(ValueError, match="1 patients without a diagnosis"):
        run_benchmark([Cohort("x", frame, synthetic=True)], {"with-treatment": None}, n_boot=10)


def test_a_cohort_of_another_world_has_that_worlds_ceiling_and_names_a_world_shift() -> None:
    """The ceiling is the exact posterior of the world the test patients were drawn from (it was always the
    literature's); a champion that learnt from another world is scored all the same, with a note saying so."""
    world = draw_world(np.random.default_rng(1))
    frame = generate_cohort(300, seed=12, world=world)
    y = np.array([DIAGNOSES.index(d) for d in frame[LABEL]])
    mode = "with-treatment"
    fake = fake_models(mode)
    models = ModeModels(mode, fake.families, fake.champion_name, fake.champion,
                        champion_origin=TrainingOrigin.of_world(None))
    res = run_benchmark([Cohort("test", frame, synthetic=True, world=world)], {mode: models}, n_boot=10, settings=())
    bayes = res.metrics[(res.metrics["kind"] == "bayes") & (res.metrics["metric"] == "log_loss")]
    assert bayes["estimate"].item() == pytest.approx(log_loss(posterior(frame, world=world), y), rel=1e-9)
    assert bayes["estimate"].item() != pytest.approx(log_loss(posterior(frame), y), rel=1e-3)
    shift = [note for note in res.evaluations[0].notes if note.startswith("World shift")]
    assert len(shift) == 1 and f"learnt from {LITERATURE_WORLD}" in shift[0] and world_name(world) in shift[0]


def test_the_world_shift_note_is_for_a_champion_of_another_world_only() -> None:
    world = draw_world(np.random.default_rng(1))
    assert world_shift_note(TrainingOrigin.of_world(world), world) is None
    assert world_shift_note(TrainingOrigin.of_world(None), None) is None
    assert world_shift_note(None, world) is None  # a champion whose origin is not known: nothing claimed
    assert "learnt from the world" in (world_shift_note(TrainingOrigin.of_world(world), None) or "")
    note = world_shift_note(TrainingOrigin.of_user_cohort("cohort.csv"), None) or ""
    assert f"a user cohort alone (cohort.csv), no synthetic world, but these test patients and the Bayes ceiling " \
        f"come from {LITERATURE_WORLD}" in note
