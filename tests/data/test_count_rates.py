"""The binomial nerve-count rates in the world fit (``data/_count_rates.py``): the conditional likelihood is the
exact likelihood's term for a written count given that it was written, and a shifted world's rates are recovered."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from mmn_ddx.data import World, fit_world, generate_cohort, load_world
from mmn_ddx.data import _count_rates as count_rates
from mmn_ddx.data._field_likelihood import context, field_term
from mmn_ddx.data.cohort_model import cohort_model
from mmn_ddx.data.latents import STAGE_KEYS, reduced_grid, resolve

SHIFTED_COUNTS = {  # per-nerve rates moved by hand (1 to 4 prior sds): path -> (literature, shifted)
    "diseases.MADSAM.fields.nerves_any_demyelinating.p": (0.38, 0.28),  # a count among the nerves studied
    # a count among the demyelinating nerves, fitted as its share of them at the literature's parent: the
    # shifted world's 0.18 among 0.28 is a share of 0.643, 0.244 at the literature's 0.38
    "diseases.MADSAM.fields.nerves_dml_prolonged.p": (0.08, 0.18 / 0.28 * 0.38),
    "diseases.CIDP.fields.sensory_nerves_abnormal.p.default": (0.85, 0.65),
}


def _shifted_counts() -> World:
    parameters = copy.deepcopy(load_world().parameters)
    fields = parameters["diseases"]
    fields["MADSAM"]["fields"]["nerves_any_demyelinating"]["p"] = 0.28
    fields["MADSAM"]["fields"]["nerves_dml_prolonged"]["p"] = 0.18
    fields["CIDP"]["fields"]["sensory_nerves_abnormal"]["p"]["default"] = 0.65
    return World(parameters, "nerve-count rates shifted for the recovery test")


@pytest.mark.parametrize(("name", "parent_p"), [("nerves_any_demyelinating", None), ("nerves_dml_prolonged", 0.36)])
def test_conditional_likelihood_is_the_written_counts_likelihood_given_written(name: str, parent_p: float | None
                                                                               ) -> None:
    """For a count written with its nerves at risk, ``P(k | written, n, r)`` is the exact likelihood's term for
    the written count divided by the probability that it was written at all, ``1 - P(left out)``: the self-masked
    zeros (a null is not a zero; a state where zeros are written less often) are undone, the record rate
    cancels. MMN's definite-block phenotype: a count among the demyelinating nerves (p_parent 0.36) is drawn at
    p / p_parent."""
    with load_world().active():
        model, reduced = cohort_model(), reduced_grid()
        vector = next(v for v in count_rates.count_vectors(copy.deepcopy(load_world().parameters), reduced, model)
                      if v.field == name and v.path.startswith(f"diseases.MMN.fields.{name}.p"))
        kappa = model.unremarkable_record_factor(name)
        r = int(np.flatnonzero(vector.states & (reduced.phenotype == "definite_cb") & (kappa < 1))[0])
        kappa = kappa[r]
        n_from = model.dists[name].n_from  # type: ignore[attr-defined]
        n, k = np.array([6.0, 6.0, 6.0, 3.0]), np.array([0.0, 1.0, 4.0, 0.0])
        x = {"age_at_onset_years": np.full(len(k), 40.0), "symptom_duration_months": np.full(len(k), np.nan)}
        ctx = context(x) | {n_from: n}
        written = field_term(model, name, k, ctx)[:, r]
        left_out = field_term(model, name, np.full(len(k), np.nan), ctx)[:, r]
        expected = written - np.log1p(-np.exp(left_out))
        assert model.dists[name].p[r] == pytest.approx(float(vector.values()[1]) / (parent_p or 1.0))  # type: ignore[attr-defined]
        p = float(vector.values()[1])
        for i in range(len(k)):
            data = count_rates.CountData(k[i : i + 1], n[i : i + 1], np.array([kappa]),
                                         np.array([parent_p or 1.0]), np.ones(1), parent_p or 1.0)
            assert count_rates.conditional_log_lik(data, p) == pytest.approx(expected[i], rel=1e-9, abs=1e-12)


def test_a_fit_that_moves_nothing_leaves_the_counts_where_they_are() -> None:
    """At an overwhelming prior the fitted world's nerve-count rates are the literature's in every latent state
    (a count among another is written per phenotype and stage, its share times its parent's rate)."""
    cohort = generate_cohort(60, seed=4)
    fit = fit_world(cohort, strength=1e9, max_iter=3)
    literature = load_world().parameters["diseases"]
    for disease, spec in fit.world.parameters["diseases"].items():
        for name, field in spec["fields"].items():
            if field.get("kind") != "binomial":
                continue
            for phenotype in spec["phenotypes"]:
                for stage in STAGE_KEYS:
                    fitted = resolve(field["p"], phenotype, stage)
                    assert fitted == pytest.approx(resolve(literature[disease]["fields"][name]["p"], phenotype, stage),
                                                   rel=1e-6, abs=1e-9), (disease, name, phenotype, stage)


def test_recovers_the_shifted_nerve_count_rates(tmp_path: Path) -> None:
    """Per-nerve rates moved by hand (:data:`SHIFTED_COUNTS`: MADSAM's demyelinating
    nerves among those studied, its prolonged distal latencies among the demyelinating nerves, CIDP's abnormal
    sensory nerves) are recovered from a cohort of the shifted world whose counts are often left out: each fitted
    rate has moved most of the way from the literature's value and lies within its 90 % interval's width of the
    truth. The fitted world writes MADSAM's counts among the demyelinating nerves per phenotype and stage, their
    shares times the fitted parent, and is a valid world (every count below its parent). The rates left at the
    literature's value keep it mostly inside their intervals (the fit does not wander where the truth did not
    move)."""
    truth = _shifted_counts()
    cohort = generate_cohort(800, seed=21, world=truth)
    fit = fit_world(cohort)
    for path, (literature, shifted_to) in SHIFTED_COUNTS.items():
        w = fit.report.weight(path, "True")
        assert w.group == count_rates.GROUP and w.prior == pytest.approx(literature)
        assert abs(w.fitted - shifted_to) < 0.5 * abs(w.prior - shifted_to), w
        assert abs(w.fitted - shifted_to) <= w.high - w.low, w
    fields = fit.world.parameters["diseases"]["MADSAM"]["fields"]
    share = fit.report.weight("diseases.MADSAM.fields.nerves_dml_prolonged.p", "True").fitted / 0.38
    parent = fields["nerves_any_demyelinating"]["p"]
    assert fields["nerves_dml_prolonged"]["p"]["sensorimotor"]["late"] == pytest.approx(share * parent)  # per state
    assert load_world(fit.world.to_yaml(tmp_path / "world.yaml")).digest == fit.world.digest
    others = [w for w in fit.report.weights if w.group == count_rates.GROUP and w.path not in SHIFTED_COUNTS
              and not w.path.startswith("diseases.MADSAM.fields.nerves_")]  # MADSAM's children: parent moved
    assert len(others) > 100
    assert np.mean([w.low <= w.prior <= w.high for w in others]) >= 0.8
