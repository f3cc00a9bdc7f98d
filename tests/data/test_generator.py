"""The synthetic cohort: contract-valid, reproducible, and faithful to the cited literature figures."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data.contract import DIAGNOSES, LABEL, fields
from mmn_ddx.data.generator import CLASS_PRIOR_PRESETS, generate_cohort
from mmn_ddx.data.latents import load_priors
from mmn_ddx.data.record import validate_record

LITERATURE = Path(__file__).resolve().parents[3] / "shared" / "clinical" / "literature-priors.md"


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return generate_cohort(40_000, seed=11, return_latents=True)


@pytest.fixture(scope="module")
def tertiary(cohort: pd.DataFrame) -> pd.DataFrame:
    """Full work-ups: nothing left out for being unremarkable, so recorded rates are unbiased."""
    return cohort[cohort["latent_completeness"] == "tertiary"]


def test_same_seed_same_cohort_and_different_seed_differs() -> None:
    a, b, c = generate_cohort(500, seed=3), generate_cohort(500, seed=3), generate_cohort(500, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.drop(columns="patient_id").equals(c.drop(columns="patient_id"))


def test_every_generated_record_satisfies_the_contract() -> None:
    frame = generate_cohort(300, seed=5)
    for row in frame.drop(columns=LABEL).to_dict(orient="records"):
        clean = {k: (None if pd.isna(v) else v) for k, v in row.items()}
        clean = {k: (int(v) if fields()[k].type == "int" and v is not None else v) for k, v in clean.items()}
        validate_record(clean)


def test_class_priors_are_respected() -> None:
    frame = generate_cohort(20_000, seed=1, class_priors=CLASS_PRIOR_PRESETS["referral"])
    shares = frame[LABEL].value_counts(normalize=True)
    for diagnosis, share in CLASS_PRIOR_PRESETS["referral"].items():
        assert shares[diagnosis] == pytest.approx(share, abs=0.015)


def test_unknown_class_in_priors_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown diagnosis"):
        generate_cohort(10, class_priors={"ALS": 1.0})


def test_nulls_carry_signal_anti_gm1_is_mostly_tested_when_mmn(cohort: pd.DataFrame) -> None:
    tested = cohort.groupby(LABEL, observed=True)["anti_gm1_igm_ratio"].apply(lambda s: s.notna().mean())
    assert tested["MMN"] > tested["CIDP"] + 0.2


def test_sparse_records_are_present(cohort: pd.DataFrame) -> None:
    recorded = cohort[list(fields())].notna().sum(axis=1)
    sparse = cohort["latent_completeness"].isin(["referral_letter", "case_report"])
    assert recorded[sparse].median() < 0.6 * recorded[~sparse].median()
    assert (recorded <= 15).mean() > 0.1


def test_correlations_come_from_the_latents(cohort: pd.DataFrame) -> None:
    mmn = cohort[cohort[LABEL] == "MMN"]
    marked = mmn.groupby("latent_stage")["muscle_atrophy"].apply(lambda s: (s == "marked").mean())
    assert marked["late"] > marked["early"] + 0.2
    mnd = cohort[cohort[LABEL] == "MND"]
    umn = mnd.groupby("latent_phenotype")["upper_motor_neuron_signs"].apply(lambda s: s.dropna().mean())
    assert umn["bulbar_onset_als"] > 0.9 and umn["lmn_predominant_pma"] < 0.03  # only atypical findings


# (field, diagnosis, statistic, cited value, tolerance, source): statistics on full work-ups.
LITERATURE_MARGINALS = [
    ("sex", "MMN", "male", 0.73, 0.04, "[Yeh 2020] 2.7:1"),
    ("sex", "MND", "male", 0.60, 0.04, "[Traynor 1999]; [Raymond 2019]"),
    ("age_at_onset_years", "MMN", "median", 41, 2.5, "[Yeh 2020]; [Aotsuka 2024] 42"),
    ("age_at_onset_years", "MND", "median", 62, 2.5, "[Traynor 1999]"),
    ("symptom_duration_months", "MND", "median", 11.5, 3.0, "[Paganoni 2014]"),
    ("symptom_duration_months", "MMN", "median", 28, 8, "[Aotsuka 2024] 25 months"),
    ("onset_region", "MMN", "upper_limb", 0.79, 0.05, "[Slee 2007] 70%; [Loscher 2018] 77%"),
    ("onset_region", "MND", "bulbar", 0.22, 0.04, "[Raymond 2019] 22.1%"),
    ("nerves_definite_cb", "MMN", "any", 0.47, 0.06, "[Doneddu 2024a] definite 47%"),
    ("nerves_definite_cb", "MADSAM", "any", 0.85, 0.08, "[Rajabally 2009] about 90%"),
    ("nerves_definite_cb", "MND", "any", 0.03, 0.03, "[Lange 1992] 6%"),
    ("anti_gm1_igm_ratio", "MMN", "positive", 0.50, 0.05, "[Nobile-Orazio 2014] 48%; [Aotsuka 2024] 54%"),
    ("anti_gm1_igm_ratio", "MND", "positive", 0.07, 0.03, "[JND 2015] specificity 85-93%"),
    ("upper_motor_neuron_signs", "MND", "rate", 0.86, 0.05, "[Kim 2009]; literature-priors GEN about 88%"),
    ("csf_protein_g_per_l", "CIDP", "median", 0.90, 0.12, "[Breiner 2019]"),
    ("csf_protein_g_per_l", "MND", "median", 0.42, 0.06, "[JNS-ALS 2020] 0.418"),
    ("ivig_response", "MMN", "improved_of_given", 0.80, 0.06, "[Cochrane-MMN 2005] 78%"),
    ("sensory_loss", "CIDP", "symmetric", 0.90, 0.06, "[BMJ-BP CIDP]"),
    ("sensory_loss", "MADSAM", "multifocal", 0.65, 0.08, "[EAN/PNS 2021]; [Rajabally 2009]"),
    ("reflexes_affected_limbs", "CIDP", "absent_or_reduced", 0.93, 0.04, "[BMJ-BP CIDP] >90%"),
]


@pytest.mark.parametrize(("field", "diagnosis", "statistic", "cited", "tolerance", "source"), LITERATURE_MARGINALS)
def test_generated_marginals_match_the_literature(tertiary: pd.DataFrame, field: str, diagnosis: str,
                                                   statistic: str, cited: float, tolerance: float, source: str) -> None:
    values = tertiary.loc[tertiary[LABEL] == diagnosis, field].dropna()
    observed = {
        "median": lambda v: float(v.median()),
        "any": lambda v: float((v > 0).mean()),
        "positive": lambda v: float((v >= 1).mean()),
        "rate": lambda v: float(v.astype(bool).mean()),
        "improved_of_given": lambda v: float((v[v != "not_given"] == "improved").mean()),
        "absent_or_reduced": lambda v: float(v.isin(["absent", "reduced"]).mean()),
    }.get(statistic, lambda v: float((v == statistic).mean()))(values)
    assert observed == pytest.approx(cited, abs=tolerance), f"{field} in {diagnosis}: {observed:.3f} vs {cited} {source}"


def test_every_parameter_cites_a_source_or_is_marked_estimate() -> None:
    priors = load_priors()
    for diagnosis in DIAGNOSES:
        disease = priors["diseases"][diagnosis]
        assert disease["phenotype_source"] and disease["stage"]["source"]
        for name, spec in disease["fields"].items():
            assert spec.get("source"), f"{diagnosis}.{name} has no source"
    for name, block in priors["blocks"].items():
        assert block.get("source"), f"block {name} has no source"


@pytest.mark.skipif(not LITERATURE.exists(), reason="shared/clinical/literature-priors.md not beside the repo")
def test_cited_keys_exist_in_the_literature_file() -> None:
    text = LITERATURE.read_text(encoding="utf-8")
    reference_keys = set(re.findall(r"^\* \[([^\]]+)\]", text, flags=re.MULTILINE))
    raw = Path(__file__).resolve().parents[2].joinpath("data", "priors.yaml").read_text(encoding="utf-8")
    cited = set(re.findall(r"\[([A-Z][^\]]*\d{4}[a-z]?(?: [^\]]*)?|[A-Z][A-Za-z/\- ]+(?:\(unverified\))?)\]", raw))
    cited = {key for key in cited if not key.startswith(("MMN", "MND", "CIDP", "MADSAM"))}
    missing = sorted(key for key in cited if key not in reference_keys)
    assert not missing, f"priors.yaml cites keys absent from literature-priors.md: {missing}"
