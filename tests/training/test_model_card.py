"""The model card states what TRIPOD+AI asks for, from the actual training facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmn_ddx.training.artifact.bundle import load_bundle
from mmn_ddx.training.artifact.metadata import data_digest


@pytest.fixture(scope="module")
def card(quick_bundle_dir: Path) -> str:
    return load_bundle(quick_bundle_dir).model_card


def test_card_has_every_section(card: str) -> None:
    for section in ("## Model details", "## Intended use", "## Training data", "## Development", "## Performance",
                    "## Comparison with the criteria and the Bayes ceiling", "## Limitations"):
        assert section in card


def test_card_states_data_provenance_and_not_for_clinical_use(quick_bundle_dir: Path, card: str) -> None:
    meta = load_bundle(quick_bundle_dir).metadata
    assert f"generator version {meta.generator_version}" in card
    assert meta.training_data_digest in card
    assert card.count("**Not for clinical use.**") >= 2
    limitations = card.split("## Limitations")[1].split("\n## ")[0]
    assert "sets have not been shown to keep their coverage on real patients" in limitations
    assert "\n- Prediction sets are calibrated on synthetic patients" in limitations  # a bullet of its own
    assert "| Held-out |" in card and "patients in total" in card  # no refit: one cohort, the exported fit


def test_card_reports_performance_with_confidence_intervals(quick_bundle_dir: Path, card: str) -> None:
    meta = load_bundle(quick_bundle_dir).metadata
    row = next(line for line in card.splitlines() if line.startswith("| xgboost (champion) | Log-loss"))
    assert f"{meta.metrics['outer_log_loss']:.3f} ({meta.metrics['outer_log_loss_ci_low']:.3f} to " in row
    comparison = card.split("## Comparison")[1].split("\n## ")[0]
    assert "`mmn-ddx benchmark`" in comparison  # no benchmark facts given: the card points to the report


def test_card_states_the_clinical_setting_its_default_and_the_training_prior(card: str) -> None:
    from mmn_ddx.training.artifact.clinical_setting import DEFAULT_SETTING, SETTINGS

    section = card.split("## Clinical setting")[1].split("\n## ")[0]
    assert f"Default: **{DEFAULT_SETTING}** (MMN 15%, MND 70%, CIDP 5%, MADSAM 10%)" in section
    assert all(f"`{name}`" in section for name in SETTINGS)
    assert "Training prior: MMN 25%, MND 25%, CIDP 25%, MADSAM 25%." in section
    assert "only the base term of the explanation" in section and "training population's probabilities" in section


def test_digest_depends_on_content_not_on_identity() -> None:
    import pandas as pd

    a = pd.DataFrame({"x": [1.0, None], "y": ["a", "b"]})
    assert data_digest(a) == data_digest(a.copy())
    assert data_digest(a) != data_digest(a.assign(x=[1.0, 2.0]))


def test_the_card_says_what_the_model_was_trained_on_a_user_cohort_or_both() -> None:
    """A model trained on the user's cohort is not described as trained on synthetic patients, anywhere."""
    from mmn_ddx.data.generator import generate_cohort
    from mmn_ddx.training.fitting.candidates import TrainSettings, fit_candidates
    from mmn_ddx.training.fitting.packaging import build_bundle

    settings = TrainSettings(families=("logistic",), quick=True, outer_k=2, inner_k=2, n_boot=20, n_jobs=1,
                             shift_worlds=0)
    candidates = fit_candidates(generate_cohort(400, seed=3), settings)
    user = build_bundle(candidates, source="my_cohort.csv", generator_version=None)
    assert "synthetic patients" not in user.model_card and "Synthetic training data" not in user.model_card
    assert user.model_card.count("This model was trained on a user cohort (my_cohort.csv).") == 2
    assert "Trained on a user cohort (my_cohort.csv); not validated" in user.metadata.intended_use
    assert "- Training cohort (my_cohort.csv): the model learns its recording habits" in user.model_card
    both = build_bundle(candidates, source="synthetic + my_cohort.csv", generator_version="test")
    assert "trained on synthetic patients drawn from a generator built on published frequencies, together with a " \
           "user cohort (my_cohort.csv)." in both.model_card
    assert "Synthetic training data" in both.model_card and "- Training cohort (my_cohort.csv)" in both.model_card


def test_a_user_cohort_model_stores_its_records_fingerprints_and_the_card_says_what_they_allow() -> None:
    """Fingerprints let benchmark refuse the model's own training patients (training/artifact/fingerprints.py); a
    synthetic-only model never saw the user's rows and stores none."""
    from mmn_ddx.data.generator import generate_cohort
    from mmn_ddx.training.fitting.candidates import TrainSettings, fit_candidates
    from mmn_ddx.training.fitting.packaging import build_bundle

    settings = TrainSettings(families=("logistic",), quick=True, outer_k=2, inner_k=2, n_boot=20, n_jobs=1,
                             shift_worlds=0)
    cohort = generate_cohort(400, seed=3)
    candidates = fit_candidates(cohort, settings)
    for source, generator in (("my_cohort.csv", None), ("synthetic + my_cohort.csv", "test")):
        user = build_bundle(candidates, source=source, generator_version=generator)
        assert user.fingerprints is not None and user.fingerprints.matches(cohort).all()
        assert ("- Record fingerprints: the bundle stores a 64-bit keyed hash of each of the 400 distinct training "
                "records' findings (patient_id and diagnosis left out), so `mmn-ddx benchmark` refuses to score this "
                "model on its own training patients. No value can be read from them, but whoever holds a patient's "
                "record (or can guess a sparse one) can test whether it was a training record") in user.model_card
    synthetic = build_bundle(candidates, source="synthetic", generator_version="test")
    assert synthetic.fingerprints is None and "Record fingerprints" not in synthetic.model_card


def test_a_user_cohort_model_says_its_next_test_tables_are_the_literature_worlds() -> None:
    """A cohort's tests are not all done nor recorded regardless of their results: it cannot give P(result |
    diagnosis), so the tables stay the literature world's, and the card and the metadata say so."""
    from mmn_ddx.data import load_world
    from mmn_ddx.data.generator import generate_cohort
    from mmn_ddx.training.fitting.candidates import TrainSettings, fit_candidates
    from mmn_ddx.training.fitting.packaging import build_bundle

    settings = TrainSettings(families=("logistic",), quick=True, outer_k=2, inner_k=2, n_boot=20, n_jobs=1,
                             shift_worlds=0)
    user = build_bundle(fit_candidates(generate_cohort(400, seed=3), settings), source="my_cohort.csv",
                        generator_version=None)
    assert user.metadata.next_test_world == "the literature world (data/priors.yaml)"
    assert user.outcomes.provenance["world_digest"] == load_world().digest
    assert ("- Next test: the test not yet done with the largest expected information gain, by Bayes' rule with the "
            "probability of each of its results given each diagnosis taken from the literature world "
            "(data/priors.yaml), not from the user cohort (my_cohort.csv), whose tests are neither all done nor "
            "recorded regardless of their results") in user.model_card


def test_the_card_says_which_diagnosis_a_small_cohort_puts_in_every_set() -> None:
    """A referral-clinic cohort of 400 holds ~4 held-out CIDP patients, fewer than 90 % coverage needs (9)."""
    from mmn_ddx.data.generator import CLASS_PRIOR_PRESETS, generate_cohort
    from mmn_ddx.training.fitting.candidates import TrainSettings, fit_candidates
    from mmn_ddx.training.fitting.packaging import build_bundle

    settings = TrainSettings(families=("logistic",), quick=True, outer_k=2, inner_k=2, n_boot=20, n_jobs=1,
                             shift_worlds=0)
    cohort = generate_cohort(400, seed=3, class_priors=CLASS_PRIOR_PRESETS["referral"])
    bundle = build_bundle(fit_candidates(cohort, settings), source="my_cohort.csv", generator_version=None)
    assert bundle.qhat[2] == 1.0 and "**Uninformative for CIDP" in bundle.model_card
    assert "fewer than 9 calibration patients" in bundle.model_card
