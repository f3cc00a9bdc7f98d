"""Shared checks of the data-layer tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from mmn_ddx.data.contract import DIAGNOSES, LABEL, fields, to_canonical
from mmn_ddx.data.exact_posterior import posterior

MonteCarloCheck = Callable[[pd.DataFrame, list[str], int], None]


def _posterior_matches_monte_carlo(cohort: pd.DataFrame, kept: list[str], smallest: int) -> None:
    """Among patients sharing the same recorded (or null) values of ``kept``, the class shares equal the exact
    posterior that marginalises every other field (groups of at least ``smallest`` patients, >= 10 of them)."""
    others = [name for name in fields() if name not in kept]
    keys = cohort[kept].astype("object").where(cohort[kept].notna(), "<null>").astype(str).agg("|".join, axis=1)
    groups = cohort.groupby(keys.to_numpy())
    big = [key for key, size in groups.size().items() if size >= smallest]
    assert len(big) >= 10
    representatives = to_canonical(pd.concat([groups.get_group(key).head(1) for key in big]))
    exact = posterior(representatives, exclude=others)
    for key, p in zip(big, exact, strict=True):
        labels = groups.get_group(key)[LABEL]
        freq = labels.value_counts(normalize=True).reindex(list(DIAGNOSES), fill_value=0.0).to_numpy()
        se = np.sqrt(np.maximum(p * (1 - p), 1e-4) / len(labels))
        assert np.all(np.abs(freq - p) < 4.5 * se + 1e-3), f"{key}: MC {freq.round(3)} vs exact {p.round(3)}"


@pytest.fixture
def posterior_matches_monte_carlo() -> MonteCarloCheck:
    """The Monte Carlo check of the exact posterior, shared by the posterior and the qualitative-reporting tests."""
    return _posterior_matches_monte_carlo
