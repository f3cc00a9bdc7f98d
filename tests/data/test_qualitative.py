"""Findings written in words (contract v2): the generator's words agree with its numbers, each document
writes words at its stated rate, and the exact posterior sums each word over the latent values behind it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data import Tri, read_frame
from mmn_ddx.data import qualitative as q
from mmn_ddx.data.cohort_model import cohort_model
from mmn_ddx.data.contract import DIAGNOSES, LABEL, MRC_FIELDS, fields, to_canonical
from mmn_ddx.data.exact_posterior import log_state_likelihoods, posterior
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.data.latents import atypical_rate
from mmn_ddx.features.criteria import thresholds as T
from mmn_ddx.features.criteria._derived import CSF_FIELDS, csf_protein_elevated


def criteria_elevated(frame: pd.DataFrame) -> Tri:
    """The criteria's reading of the CSF protein (its age-partitioned limit at the age at work-up)."""
    return csf_protein_elevated(read_frame(frame, CSF_FIELDS))


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return generate_cohort(60_000, seed=31, return_latents=True)


def _both(frame: pd.DataFrame, word: str, numbers: list[str]) -> pd.DataFrame:
    rows = frame[frame[word].notna() & frame[numbers].notna().all(axis=1)]
    assert len(rows) > 100, f"too few records with {word} and {numbers}"
    return rows


def test_block_word_agrees_with_the_block_counts(cohort: pd.DataFrame) -> None:
    counts = list(q.BLOCK_WORD_COUNTS)
    rows = _both(cohort, q.BLOCK_WORD, counts)
    blocked = np.maximum(rows[counts[0]] + rows[counts[1]], rows[counts[2]]).to_numpy()
    word = rows[q.BLOCK_WORD].astype(str).to_numpy()
    assert set(word[blocked == 0]) == {"none"}
    assert set(word[blocked == 1]) <= {"single", "present"}
    assert set(word[blocked >= 2]) <= {"multiple", "present"}
    assert {"single", "multiple", "present"} <= set(word)


def test_conduction_words_agree_with_their_counts(cohort: pd.DataFrame) -> None:
    sensory = _both(cohort, "sensory_ncs", ["sensory_nerves_abnormal"])
    assert ((sensory["sensory_ncs"] == "abnormal") == (sensory["sensory_nerves_abnormal"] >= 1)).all()
    pattern = _both(cohort, "motor_ncs_pattern", ["nerves_any_demyelinating"])
    demyelinating = pattern["motor_ncs_pattern"].isin(["demyelinating", "mixed"])
    assert (demyelinating == (pattern["nerves_any_demyelinating"] >= 1)).all()


def test_laboratory_words_agree_with_their_values(cohort: pd.DataFrame) -> None:
    gm1 = _both(cohort, "anti_gm1_igm", ["anti_gm1_igm_ratio"])
    assert ((gm1["anti_gm1_igm"] == "positive") == (gm1["anti_gm1_igm_ratio"] >= 1.0)).all()


@pytest.mark.parametrize("seed", [2, 31])
def test_the_csf_word_is_the_criteria_reading_of_its_value(seed: int) -> None:
    """'CSF protein raised' is written against the limit the criteria read the protein against, the one of the
    age at work-up (onset + duration, not the age at onset: 21 of 1 592 records of seed 2 disagreed). Where a
    record leaves the age band open (duration unwritten, onset at most 50), the word is the one of a band."""
    frame = generate_cohort(20_000, seed=seed)
    rows = _both(frame, "csf_protein_raised", ["csf_protein_g_per_l"])
    read = criteria_elevated(rows)
    word = rows["csf_protein_raised"].astype(bool).to_numpy()
    assert np.array_equal(word[read.true | read.false], read.true[read.true | read.false])
    open_ = ~(read.true | read.false)
    assert open_.any() and rows["symptom_duration_months"].isna().to_numpy()[open_].all()
    protein = rows["csf_protein_g_per_l"].to_numpy()[open_]
    assert ((protein > T.CSF_PROTEIN_ULN_UP_TO_AGE_LIMIT_G_PER_L)
            & (protein <= T.CSF_PROTEIN_ULN_ABOVE_AGE_LIMIT_G_PER_L)).all()
    complete = _both(generate_cohort(20_000, seed=seed, complete=True), "csf_protein_raised", ["csf_protein_g_per_l"])
    assert np.array_equal(complete["csf_protein_raised"].astype(bool).to_numpy(), criteria_elevated(complete).true)


def test_strength_words_agree_with_the_grades(cohort: pd.DataFrame) -> None:
    rows = _both(cohort, "weakness_symmetry", list(MRC_FIELDS))
    grades = rows[list(MRC_FIELDS)].to_numpy(dtype=float)
    weak = grades < 5
    assert ((rows["weakness_symmetry"] == "no_weakness") == ~weak.any(axis=1)).all()
    left, right = grades[:, 0::2], grades[:, 1::2]
    weaker, diff = np.minimum(left, right), np.abs(left - right)
    asymmetric = np.where(weaker > T.MRC_ASYMMETRY_GRADE_LIMIT, diff >= T.MRC_ASYMMETRY_DIFF_ABOVE_LIMIT,
                          diff >= T.MRC_ASYMMETRY_DIFF_AT_OR_BELOW_LIMIT).any(axis=1)
    assert ((rows["weakness_symmetry"] == "asymmetric") == asymmetric).all()
    arms = weak[:, [0, 2]].any(axis=1).astype(int) + weak[:, [1, 3]].any(axis=1).astype(int)
    written = rows["weak_arms"].notna().to_numpy()
    expected = np.array(["none", "one", "both"])[arms]
    assert (rows["weak_arms"].astype(str).to_numpy()[written] == expected[written]).all()
    distal_only = weak[:, [2, 3, 6, 7]].any(axis=1) & ~weak[:, [0, 1, 4, 5]].any(axis=1)
    stated = rows["weakness_predominance"].notna().to_numpy()
    assert ((rows["weakness_predominance"] == "distal").to_numpy()[stated] == distal_only[stated]).all()


def test_reflexes_by_limb_copy_the_affected_or_unaffected_limbs(cohort: pd.DataFrame) -> None:
    """Both writings of the reflexes agree: in typical CIDP (each of its distal,
    intermediate and proximal patterns) every limb is affected; in arm-onset MMN the
    arms take the affected-limb reflexes and the legs the unaffected-limb ones."""
    typical = cohort[(cohort[LABEL] == "CIDP") & cohort["latent_phenotype"].str.startswith("typical_")]
    assert set(typical["latent_phenotype"]) == {"typical_distal", "typical_intermediate", "typical_proximal"}
    cidp = _both(typical, "reflexes_legs", ["reflexes_affected_limbs"])
    assert (cidp["reflexes_legs"].astype(str) == cidp["reflexes_affected_limbs"].astype(str)).all()
    mmn = cohort[(cohort[LABEL] == "MMN") & (cohort["onset_region"] == "upper_limb")]
    arms = _both(mmn, "reflexes_arms", ["reflexes_affected_limbs"])
    legs = _both(mmn, "reflexes_legs", ["reflexes_unaffected_limbs"])
    assert (arms["reflexes_arms"].astype(str) == arms["reflexes_affected_limbs"].astype(str)).mean() > 0.97
    assert (legs["reflexes_legs"].astype(str) == legs["reflexes_unaffected_limbs"].astype(str)).mean() > 0.97


def test_ungraded_atrophy_is_wasting_at_least_mild(cohort: pd.DataFrame) -> None:
    complete = generate_cohort(20_000, seed=31, complete=True)  # graded, but for atypical findings
    assert (complete["muscle_atrophy"] == "present").mean() < atypical_rate()
    wasting = cohort[cohort["muscle_atrophy"].isin(["mild", "marked", "present"])]
    share = (wasting["muscle_atrophy"] == "present").groupby(wasting["latent_document"]).mean()
    rates = dict(zip(cohort_model().priors["reporting"]["documents"], q.spec()["ungraded_atrophy"], strict=True))
    for document, rate in rates.items():
        assert share[document] == pytest.approx(rate, abs=0.03)


def test_the_words_model_uses_the_criteria_thresholds() -> None:
    """One fact, two layers: the data layer may not import the criteria, so a test holds them equal."""
    spec = q.spec()
    assert spec["csf_protein_upper_limit"] == {"age_limit_years": T.CSF_AGE_LIMIT_YEARS,
                                               "up_to_age_limit": T.CSF_PROTEIN_ULN_UP_TO_AGE_LIMIT_G_PER_L,
                                               "above_age_limit": T.CSF_PROTEIN_ULN_ABOVE_AGE_LIMIT_G_PER_L}
    assert spec["asymmetry"] == {"grade_limit": T.MRC_ASYMMETRY_GRADE_LIMIT,
                                 "difference_above_limit": T.MRC_ASYMMETRY_DIFF_ABOVE_LIMIT,
                                 "difference_at_or_below_limit": T.MRC_ASYMMETRY_DIFF_AT_OR_BELOW_LIMIT}


def _reduced_states(frame: pd.DataFrame) -> np.ndarray:
    """Each generated patient's reduced latent state (diagnosis, phenotype, stage, document), from its latents."""
    model = cohort_model()
    stages, documents = model.priors["stages"]["levels"], model.priors["reporting"]["documents"]
    g = model.reduced
    index = {(DIAGNOSES[d], p, stages[s], documents[c]): r
             for r, (d, p, s, c) in enumerate(zip(g.diagnosis, g.phenotype, g.stage, g.document, strict=True))}
    keys = zip(frame[LABEL].astype(str), frame["latent_phenotype"], frame["latent_stage"], frame["latent_document"],
               strict=True)
    return np.array([index[k] for k in keys])


@pytest.mark.parametrize("duration", ["written", "unwritten"])
def test_the_csf_word_likelihood_reads_the_age_at_workup(cohort: pd.DataFrame, duration: str) -> None:
    """Given each patient's latent state, the exact likelihood's P('CSF protein raised' | state, age at onset,
    duration) predicts the generated words: where the age band at work-up differs from the one at onset, and,
    the duration unwritten (so the band is summed over the latent duration), for an onset of 41 to 50. Either
    side at the age at onset (the likelihood's or the generator's) puts it 5 to 10 standard errors off."""
    kept = ["csf_protein_raised", "age_at_onset_years", "symptom_duration_months"]
    rows = cohort[cohort["csf_protein_raised"].notna()].reset_index(drop=True)
    onset, months = rows["age_at_onset_years"].to_numpy(), rows["symptom_duration_months"].to_numpy()
    if duration == "written":
        selected = (onset <= T.CSF_AGE_LIMIT_YEARS) & (onset + months / 12 > T.CSF_AGE_LIMIT_YEARS)
    else:  # a duration is written whatever its value: blanking it leaves the words' distribution given the state
        selected = (onset <= T.CSF_AGE_LIMIT_YEARS) & (onset > T.CSF_AGE_LIMIT_YEARS - 10)
        rows = rows.assign(symptom_duration_months=np.nan)
    rows = rows[selected].reset_index(drop=True)
    assert len(rows) > 1000
    state = cohort_model().full.reduced_index.searchsorted(_reduced_states(rows))  # a full state of each
    assert (cohort_model().full.reduced_index[state] == _reduced_states(rows)).all()
    others = [name for name in fields() if name not in kept]
    log_lik = [log_state_likelihoods(rows.assign(csf_protein_raised=word), exclude=others)[np.arange(len(rows)), state]
               for word in (True, False)]
    p = 1.0 / (1.0 + np.exp(log_lik[1] - log_lik[0]))
    raised = rows["csf_protein_raised"].astype(bool).to_numpy()
    z = (raised.sum() - p.sum()) / np.sqrt((p * (1 - p)).sum())
    assert abs(z) < 4.5, f"{raised.sum()} raised, {p.sum():.1f} expected, z {z:.1f} of {len(rows)}"


@pytest.mark.parametrize(("word", "section", "block"), [
    (q.BLOCK_WORD, "nerve_conduction", "ncs"), ("anti_gm1_igm", "laboratory", "anti_gm1"),
    ("weakness_symmetry", "strength", "strength"), ("sensory_ncs", "nerve_conduction", "ncs"),
])
def test_each_document_writes_words_at_its_stated_rate(cohort: pd.DataFrame, word: str, section: str,
                                                        block: str) -> None:
    """P(word written | diagnosis, document) = P(section reported) x P(test done) x P(words or both) x
    P(written down), from priors.yaml; the generated share is within 4.5 standard errors."""
    model = cohort_model()
    reported = next(s for s in model.sections if s.name == section)
    done = next(b for b in model.blocks if b.name == block)
    style = q.spec()["sections"][section]["style"]
    documents = model.priors["reporting"]["documents"]
    for d, diagnosis in enumerate(DIAGNOSES):
        for c, document in enumerate(documents):
            r = int(np.flatnonzero((model.reduced.diagnosis == d) & (model.reduced.document == c))[0])
            expected = (np.exp(reported.log_report[r] + done.log_done[r]) * (style["words"][c] + style["both"][c])
                        * model.record_probability(word)[r])
            who = cohort[(cohort[LABEL] == diagnosis) & (cohort["latent_document"] == document)]
            share = who[word].notna().mean()
            se = np.sqrt(expected * (1 - expected) / len(who))
            assert abs(share - expected) < 4.5 * se + 1e-3, f"{diagnosis}/{document}: {share:.3f} vs {expected:.3f}"


def test_words_replace_numbers_in_sparse_documents(cohort: pd.DataFrame) -> None:
    """A conduction study in words only: the block word written with no count at all, mostly outside work-ups."""
    counts = [name for name in fields() if name.startswith("nerves_")]
    words_only = cohort[q.BLOCK_WORD].notna() & cohort[counts].isna().all(axis=1)
    share = words_only.groupby(cohort["latent_document"]).mean()
    assert share["case_report"] > share["tertiary_workup"] + 0.1


# (fields kept, smallest group): "CSF protein raised" depends on the age, so its groups share one age.
KEPT_SETS = [
    ([q.BLOCK_WORD, "nerves_definite_cb", "sensory_normal_across_cb", "motor_ncs_pattern"], 1500),
    (["sensory_ncs", "sensory_nerves_abnormal", "nerves_cidp_cb", q.BLOCK_WORD], 1500),
    (["weakness_symmetry", "weak_arms", "mrc_arm_distal_left", "weakness_predominance"], 1500),
    (["anti_gm1_igm", "anti_gm1_igm_ratio", "muscle_atrophy", "weak_legs"], 1500),
    (["csf_protein_raised", "age_at_onset_years"], 300),
    (["reflexes_arms", "reflexes_legs", "reflexes_affected_limbs", "upper_motor_neuron_signs"], 1500),
    (["reflexes_legs", "onset_region", "reflexes_unaffected_limbs"], 1500),
]


@pytest.fixture(scope="module")
def big_cohort() -> pd.DataFrame:
    return generate_cohort(200_000, seed=32)


@pytest.mark.parametrize(("kept", "smallest"), KEPT_SETS, ids=lambda k: "+".join(k[:2]) if isinstance(k, list) else "")
def test_posterior_with_words_agrees_with_monte_carlo_frequencies(
        big_cohort: pd.DataFrame, kept: list[str], smallest: int,
        posterior_matches_monte_carlo: Callable[[pd.DataFrame, list[str], int], None]) -> None:
    """Among patients sharing the same written (or null) words and numbers, the class shares equal the
    exact posterior, which sums each word over the latent counts and grades consistent with it."""
    posterior_matches_monte_carlo(big_cohort, kept, smallest)

def test_a_record_with_words_and_numbers_gets_a_finite_posterior() -> None:
    record = {"age_at_onset_years": 40.0, "sex": "male", "motor_conduction_block": "multiple",
              "nerves_definite_cb": 2, "motor_ncs_pattern": "demyelinating", "sensory_ncs": "normal",
              "anti_gm1_igm": "positive", "weakness_symmetry": "asymmetric", "weakness_predominance": "distal",
              "mrc_arm_distal_left": 3.0, "weak_arms": "one", "weak_legs": "none", "muscle_atrophy": "present"}
    probs = posterior(to_canonical(pd.DataFrame([record])))[0]
    assert np.isfinite(probs).all() and DIAGNOSES[int(probs.argmax())] == "MMN" and probs.max() > 0.9


def test_words_shift_the_posterior_like_the_numbers_they_summarise() -> None:
    base = {"age_at_onset_years": 45.0, "sex": "male", "onset_region": "upper_limb"}
    frame = to_canonical(pd.DataFrame([{**base, "motor_conduction_block": "multiple"},
                                       {**base, "motor_conduction_block": "none"}]))
    with_block, without = posterior(frame)
    mnd, madsam = DIAGNOSES.index("MND"), DIAGNOSES.index("MADSAM")
    assert with_block[mnd] < 0.05 and without[mnd] > 0.25  # blocks in several nerves are rare in MND
    assert with_block[madsam] > without[madsam] + 0.2
