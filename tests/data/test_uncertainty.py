"""The world's own uncertainty: every parameter has one, and a drawn world is a valid world."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mmn_ddx.data.cohort_model import cohort_model
from mmn_ddx.data.latents import STAGE_KEYS, literature_priors, resolve
from mmn_ddx.data.uncertainty import ROLES, nested_counts, redraw, source_kind, uncertainties
from mmn_ddx.data.world import PROVENANCE, World


def _numeric_leaves(node: Any, fixed: set[str], path: str = "") -> int:
    if isinstance(node, (bool, str)) or node is None:
        return 0
    if isinstance(node, (int, float)):
        return 1
    if isinstance(node, list):
        return sum(_numeric_leaves(v, fixed, path) for v in node)
    return sum(_numeric_leaves(v, fixed, f"{path}.{k}") for k, v in node.items()
               if str(k) not in fixed and str(k) != "concentration")


def test_every_parameter_has_a_stated_uncertainty() -> None:
    priors = literature_priors()
    found = uncertainties(priors)
    assert {u.role for u in found} == set(ROLES)
    assert all(u.strength > 0 for u in found)
    # every numeric leaf outside the fixed (structural) keys is covered, each exactly once (shared tables once)
    vectors = sum(len(u.value) for u in found if u.role == "dirichlet")
    scalars = sum(1 for u in found if u.role != "dirichlet")
    assert vectors + scalars <= _numeric_leaves(priors, set(priors["uncertainty"]["fixed"]))
    assert len({u.path for u in found}) == len(found)


def test_a_parameter_without_a_role_is_an_error() -> None:
    priors = dict(literature_priors())
    priors["atypical"] = priors["atypical"] | {"new_knob": 0.3}
    with pytest.raises(ValueError, match=r"atypical\.new_knob: parameter without a stated uncertainty"):
        uncertainties(priors)


def test_source_kind_reads_the_cited_reference() -> None:
    assert source_kind("[Yeh 2020]; [Aotsuka 2024]") == "cited"
    assert source_kind("estimate (literature-priors GEN 45%): supportive criterion [EFNS/PNS-MMN 2010]") == "estimate"
    assert source_kind("literature-priors.md section 6, testing table (estimate)") == "estimate"


def test_cited_parameters_move_less_than_estimates() -> None:
    found = uncertainties(literature_priors())
    rules = literature_priors()["uncertainty"]
    cited = {u.strength for u in found if u.role == "beta" and u.source_kind == "cited"}
    assert cited == {rules["concentration"]["cited"]}
    assert rules["concentration"]["cited"] > rules["concentration"]["estimate"]


@pytest.mark.parametrize("seed", range(6))
def test_drawn_worlds_stay_valid(seed: int) -> None:
    priors = literature_priors()
    drawn = redraw(priors, np.random.default_rng(seed))
    floor = priors["uncertainty"]["floor"]
    moved = 0
    nested = _nested_count_rates(priors)  # written per phenotype and stage in a drawn world: checked below
    compared = _except(uncertainties(priors), nested)
    for before, after in zip(compared, _except(uncertainties(drawn), nested), strict=True):
        assert before.path == after.path
        if after.role == "dirichlet":
            values = np.array(list(after.value.values()) if isinstance(after.value, dict) else after.value)
            nominal = np.array(list(before.value.values()) if isinstance(before.value, dict) else before.value)
            assert values.sum() == pytest.approx(1.0)
            assert np.all((values >= floor * 0.99) | (nominal == 0)) and np.all(values[nominal == 0] == 0)
        elif after.role == "beta":
            assert 0.0 <= after.value <= 1.0
            if before.value in (0.0, 1.0):
                assert after.value == before.value
        else:
            assert after.value * before.value > 0 or before.value == 0
        moved += after.value != before.value
    assert moved > 0.9 * len(compared) - 60  # nearly everything moves (0/1 probabilities stay)
    assert drawn["class_prior_presets"] == priors["class_prior_presets"]  # the population is the user's choice
    with World(drawn, "test").active():
        model = cohort_model()  # builds and checks the nested nerve counts, the blocks and the sections
        # the world in use: a model cached for an equal draw (same digest) is this world, its provenance aside
        assert {k: v for k, v in model.priors.items() if k != PROVENANCE} == drawn


def _nested_count_rates(priors: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(diagnosis, field, parent) of every nerve count drawn among another count."""
    return [(diagnosis, name, parent) for diagnosis, disease in priors["diseases"].items()
            for name, parent in nested_counts(disease["fields"])]


def _rate(tree: dict[str, Any], diagnosis: str, field: str, phenotype: str, stage: str) -> float:
    return float(resolve(tree["diseases"][diagnosis]["fields"][field]["p"], phenotype, stage))


def _except(found: list[Any], nested: list[tuple[str, str, str]]) -> list[Any]:
    prefixes = tuple(f"diseases.{d}.fields.{name}.p" for d, name, _ in nested)
    return [u for u in found if not u.path.startswith(prefixes)]


def test_nested_counts_stay_below_their_parent_and_centred_on_the_literature() -> None:
    """A nested count's drawn rate is its own draw scaled by its parent's relative draw, per phenotype and
    stage: never above the parent, and on average the literature's rate. (Capping it at the parent's
    smallest draw over all phenotypes took MND's blocks from the phenotype that carries them: 0.30 -> 0.005.)"""
    priors = literature_priors()
    draws = [redraw(priors, np.random.default_rng(s)) for s in range(400)]
    checked = 0
    for diagnosis, name, parent in _nested_count_rates(priors):
        for phenotype in priors["diseases"][diagnosis]["phenotypes"]:
            for stage in STAGE_KEYS:
                child = np.array([_rate(d, diagnosis, name, phenotype, stage) for d in draws])
                assert np.all(child <= np.array([_rate(d, diagnosis, parent, phenotype, stage) for d in draws]) + 1e-12)
                nominal = _rate(priors, diagnosis, name, phenotype, stage)
                if nominal >= 0.05:  # rarer rates are too skewed for 400 draws to pin their mean
                    assert child.mean() == pytest.approx(nominal, rel=0.15), (diagnosis, name, phenotype, stage)
                    checked += 1
    assert checked > 20


def test_a_world_draw_keeps_the_literature_on_average() -> None:
    priors = literature_priors()
    draws = [redraw(priors, np.random.default_rng(s)) for s in range(200)]
    p = np.array([d["diseases"]["MMN"]["fields"]["fasciculations"]["p"] for d in draws])
    nominal = priors["diseases"]["MMN"]["fields"]["fasciculations"]["p"]
    kappa = priors["uncertainty"]["concentration"]["estimate"]
    sd = np.sqrt(nominal * (1 - nominal) / (kappa + 1))
    assert p.mean() == pytest.approx(nominal, abs=4 * sd / np.sqrt(len(p)))
    assert p.std() == pytest.approx(sd, rel=0.2)


def test_the_writing_style_is_drawn_per_document_and_stays_a_distribution() -> None:
    """numbers / words / both of each section are a Dirichlet at each document index (not a fixed estimate)."""
    priors = literature_priors()
    sections = priors["reporting"]["qualitative"]["sections"]
    drawn = [redraw(priors, np.random.default_rng(s))["reporting"]["qualitative"]["sections"] for s in range(20)]
    for name, section in sections.items():
        nominal = np.array(list(section["style"].values()))  # (styles, documents)
        values = np.array([list(d[name]["style"].values()) for d in drawn])  # (draws, styles, documents)
        np.testing.assert_allclose(values.sum(axis=1), 1.0)
        assert np.all(values.std(axis=0) > 0.01)  # every style of every document moves
        assert np.abs(values.mean(axis=0) - nominal).max() < 0.15
