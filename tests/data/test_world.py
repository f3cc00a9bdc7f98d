"""Worlds: the literature world by default, drawn worlds threaded through the generator and the posterior."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mmn_ddx.data.contract import DIAGNOSES, ID_FIELD, LABEL, fields
from mmn_ddx.data.exact_posterior import growing_mixture_posteriors, posterior
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.data.latents import load_priors
from mmn_ddx.data.world import WorldMixture, draw_world, draw_worlds, load_world


def test_the_default_world_is_the_literature() -> None:
    world = load_world()
    assert world.is_literature and world.parameters is load_priors()
    pd.testing.assert_frame_equal(generate_cohort(300, seed=4, world=world), generate_cohort(300, seed=4))


def test_a_world_file_round_trips(tmp_path: Path) -> None:
    world = draw_world(np.random.default_rng(1))
    back = load_world(world.to_yaml(tmp_path / "world.yaml"))
    assert back.digest == world.digest and back.source == world.source and not back.is_literature
    pd.testing.assert_frame_equal(generate_cohort(200, seed=2, world=back), generate_cohort(200, seed=2, world=world))


def test_a_world_file_written_with_sorted_keys_is_the_same_world(tmp_path: Path) -> None:
    """yaml.safe_dump and MLflow's log_dict sort keys: a shared table (an MRC grade table) is then met first
    inside a disease, and must still get its role there."""
    world = draw_world(np.random.default_rng(4))
    path = tmp_path / "sorted.yaml"
    path.write_text(yaml.safe_dump(world.parameters, sort_keys=True), encoding="utf-8")
    assert load_world(path).digest == world.digest


def test_a_file_that_is_not_a_world_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("reporting: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing the top-level keys"):
        load_world(path)


def test_worlds_are_seeded_and_differ() -> None:
    a, b = draw_worlds(3, seed=5), draw_worlds(3, seed=5)
    assert [w.digest for w in a.worlds] == [w.digest for w in b.worlds]
    assert len({w.digest for w in a.worlds}) == 3
    assert draw_worlds(3, seed=6).digest != a.digest


def test_a_drawn_world_changes_the_cohort_but_not_the_default() -> None:
    world = draw_world(np.random.default_rng(3))
    shifted = generate_cohort(3000, seed=1, world=world, return_latents=True)
    plain = generate_cohort(3000, seed=1, return_latents=True)
    assert not shifted.equals(plain)
    assert generate_cohort(3000, seed=1, return_latents=True).equals(plain)  # the world does not leak
    weights = world.parameters["reporting"]["weights"]
    documents = world.parameters["reporting"]["documents"]
    share = shifted["latent_document"].value_counts(normalize=True)
    for doc, w in zip(documents, weights, strict=True):
        assert share.get(doc, 0.0) == pytest.approx(w, abs=4 * np.sqrt(w * (1 - w) / 3000) + 1e-3)


def test_a_mixture_cohort_draws_each_patient_from_one_world() -> None:
    mixture = draw_worlds(4, seed=2)
    cohort = generate_cohort(2000, seed=9, world=mixture, return_latents=True)
    assert len(cohort) == 2000 and set(cohort["latent_world"]) == {0, 1, 2, 3}
    assert cohort[ID_FIELD].is_unique
    assert list(cohort.columns[: len(generate_cohort(5, seed=0).columns)]) == list(generate_cohort(5, seed=0).columns)
    pd.testing.assert_frame_equal(cohort, generate_cohort(2000, seed=9, world=mixture, return_latents=True))


def test_a_one_world_mixture_is_that_world() -> None:
    world = draw_world(np.random.default_rng(8))
    cohort = generate_cohort(400, seed=3, world=world)
    np.testing.assert_allclose(posterior(cohort, world=WorldMixture((world,), seed=0)), posterior(cohort, world=world),
                               atol=1e-9)


def test_a_growing_mixture_gives_each_prefix_mixture_posterior() -> None:
    worlds = draw_worlds(3, seed=4).worlds
    cohort = generate_cohort(300, seed=5, world=worlds[2])
    got = dict(growing_mixture_posteriors(cohort, worlds, [3, 1], exclude=["ivig_response"]))
    assert sorted(got) == [1, 3]
    for k in (1, 3):
        np.testing.assert_allclose(got[k], posterior(cohort, exclude=["ivig_response"],
                                                     world=WorldMixture(worlds[:k], seed=0)), atol=1e-9)
    assert not np.allclose(got[1], got[3])  # the third world's own patients: adding it changes their posterior


@pytest.mark.parametrize("sizes", [[0], [4], []])
def test_a_growing_mixture_refuses_sizes_outside_its_worlds(sizes: list[int]) -> None:
    with pytest.raises(ValueError, match=r"mixture sizes must lie in 1\.\.3"):
        next(growing_mixture_posteriors(generate_cohort(5, seed=0), draw_worlds(3, seed=4).worlds, sizes))


def test_the_mixture_posterior_matches_monte_carlo() -> None:
    """p(d | x) of a K-world mixture against the frequencies of d among simulated patients with that x.

    Only a few history fields are kept (the rest excluded, i.e. marginalised), so each record pattern
    is shared by thousands of patients and its empirical class frequencies are precise.
    """
    kept = ["sex", "course", "bulbar_weakness", "cramps"]
    mixture = draw_worlds(3, seed=11)
    cohort = generate_cohort(60_000, seed=12, world=mixture)
    excluded = [f for f in fields() if f not in kept and fields()[f].type != "string"]
    exact = posterior(cohort, exclude=excluded, world=mixture)
    literature = posterior(cohort, exclude=excluded)
    y = cohort[LABEL].cat.codes.to_numpy()
    pattern = cohort[kept].astype("string").fillna("null").agg("|".join, axis=1)
    worst_z, literature_z = 0.0, 0.0
    for _, rows in pattern.groupby(pattern).indices.items():
        if len(rows) < 1500:
            continue
        assert np.ptp(exact[rows], axis=0).max() < 1e-9  # one pattern, one posterior
        freq = np.bincount(y[rows], minlength=len(DIAGNOSES)) / len(rows)
        se = np.sqrt(np.maximum(exact[rows[0]] * (1 - exact[rows[0]]), 1e-4) / len(rows))
        worst_z = max(worst_z, float(np.max(np.abs(freq - exact[rows[0]]) / se)))
        literature_z = max(literature_z, float(np.max(np.abs(freq - literature[rows[0]]) / se)))
    assert worst_z < 4.5
    assert literature_z > worst_z  # the test can tell the mixture from the literature world


def test_a_world_file_with_an_impossible_probability_names_it(tmp_path: Path) -> None:
    world = load_world()
    parameters = world.parameters | {"atypical": world.parameters["atypical"] | {"rate": 1.7}}
    path = type(world)(parameters, "hand-edited").to_yaml(tmp_path / "world.yaml")
    with pytest.raises(ValueError, match=r"atypical\.rate: a probability must lie in \[0, 1\], got 1\.7"):
        load_world(path)
