"""describe_cohort: per-diagnosis rates among recorded values, laid out like literature-priors.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data.contract import DIAGNOSES, FEATURE_FIELDS, LABEL, to_canonical
from mmn_ddx.data.describe import ALL, NOT_RECORDED, describe_cohort


@pytest.fixture
def cohort() -> pd.DataFrame:
    """Five MMN and three MND patients with hand-countable findings."""
    return to_canonical(
        pd.DataFrame(
            {
                "age_at_onset_years": [30.0, 40, 50, 60, 70, 55, 65, 75],
                "sex": ["male"] * 4 + ["female"] + ["male", "female", "female"],
                "bulbar_weakness": [False, False, True, None, None, True, True, None],
                "muscle_atrophy": ["none", "mild", "mild", "marked", None, "marked", None, None],
                "nerves_definite_cb": [2, 1, 0, 3, None, 0, 0, None],
                "anti_gm1_igm_ratio": [np.nan] * 5 + [0.5, np.nan, np.nan],
                LABEL: ["MMN"] * 5 + ["MND"] * 3,
            }
        )
    )


def test_columns_are_the_diagnoses_present_in_order_then_all(cohort: pd.DataFrame) -> None:
    assert list(describe_cohort(cohort).columns) == ["MMN", "MND", ALL]
    reordered = cohort.iloc[::-1]
    assert list(describe_cohort(reordered).columns) == ["MMN", "MND", ALL]


def test_counts_and_rates_are_among_recorded_values(cohort: pd.DataFrame) -> None:
    table = describe_cohort(cohort)
    assert table.loc[("n", "patients")].tolist() == ["5", "3", "8"]
    assert table.loc[("bulbar_weakness", "% recorded"), "MMN"] == "60.0%"  # 3 of 5 examined
    assert table.loc[("bulbar_weakness", "% true"), "MMN"] == "33.3%"  # 1 of the 3, not 1 of 5
    assert table.loc[("muscle_atrophy", "% mild"), "MMN"] == "50.0%"
    assert table.loc[("muscle_atrophy", "% marked"), ALL] == "40.0%"  # 2 of 5 recorded
    assert table.loc[("sex", "% female"), "MND"] == "66.7%"


def test_numbers_show_median_and_interquartile_range(cohort: pd.DataFrame) -> None:
    table = describe_cohort(cohort)
    assert table.loc[("age_at_onset_years", "median (IQR)"), "MMN"] == "50 (40–60)"
    assert table.loc[("nerves_definite_cb", "median (IQR)"), "MMN"] == "1.5 (0.75–2.25)"
    assert table.loc[("anti_gm1_igm_ratio", "median (IQR)"), "MND"] == "0.5 (0.5–0.5)"


def test_unrecorded_fields_say_so_instead_of_a_rate(cohort: pd.DataFrame) -> None:
    table = describe_cohort(cohort)
    assert table.loc[("anti_gm1_igm_ratio", "% recorded"), "MMN"] == "0.0%"
    assert table.loc[("anti_gm1_igm_ratio", "median (IQR)"), "MMN"] == NOT_RECORDED
    assert table.loc[("course", "% progressive"), ALL] == NOT_RECORDED


def test_every_feature_field_is_summarised_and_the_identifier_is_not(cohort: pd.DataFrame) -> None:
    summarised = set(describe_cohort(cohort).index.get_level_values("field"))
    assert summarised == {"n", *FEATURE_FIELDS}


def test_an_unlabelled_cohort_gets_one_column(cohort: pd.DataFrame) -> None:
    table = describe_cohort(cohort.drop(columns=LABEL))
    assert list(table.columns) == [ALL] and table.loc[("n", "patients"), ALL] == "8"


@pytest.mark.parametrize("diagnosis", DIAGNOSES)
def test_a_single_diagnosis_cohort(cohort: pd.DataFrame, diagnosis: str) -> None:
    one = cohort.assign(**{LABEL: pd.Categorical([diagnosis] * len(cohort), categories=list(DIAGNOSES))})
    assert list(describe_cohort(one).columns) == [diagnosis, ALL]


def test_v2_fields_are_summarised_per_value_among_recorded() -> None:
    """Contract v2: the qualitative fields (and muscle_atrophy's new value) get one rate per value."""
    frame = to_canonical(pd.DataFrame({
        "age_at_onset_years": [40.0, 50, 60, 70],
        "sex": ["male", "female", "male", "female"],
        "motor_conduction_block": ["multiple", "multiple", "none", None],
        "csf_protein_raised": [True, None, None, False],
        "muscle_atrophy": ["present", "mild", None, None],
        LABEL: ["MMN", "MMN", "MND", "CIDP"],
    }))
    table = describe_cohort(frame)
    assert table.loc[("motor_conduction_block", "% recorded"), ALL] == "75.0%"
    assert table.loc[("motor_conduction_block", "% multiple"), ALL] == "66.7%"
    assert table.loc[("motor_conduction_block", "% multiple"), "MMN"] == "100.0%"
    assert table.loc[("motor_conduction_block", "% single"), ALL] == "0.0%"
    assert table.loc[("csf_protein_raised", "% true"), ALL] == "50.0%"
    assert table.loc[("muscle_atrophy", "% present"), ALL] == "50.0%"
    assert table.loc[("weakness_symmetry", "% recorded"), ALL] == "0.0%"
