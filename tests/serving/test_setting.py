"""The clinical setting at every serving entry point: Python API, batch table, CLI, HTTP API.

The same record under two settings must give probabilities related by the ratio of the settings'
pre-test probabilities (Bayes' rule), the default must be stated in the result, and an unknown setting
refused with a clear error listing the allowed ones. The web page: ``test_web_browser``; ``mlflow models
serve`` and ``mmn-ddx serve --workers``: ``test_entry_points``; the pyfunc: ``tests/training``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from scipy.special import softmax
from typer.testing import CliRunner

from mmn_ddx.cli import app as cli_app
from mmn_ddx.data.contract import DIAGNOSES, LABEL
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.serving.batch import PROBABILITY_COLUMNS, score_table
from mmn_ddx.serving.http.batcher import MicroBatcher
from mmn_ddx.serving.predictor import Predictor
from mmn_ddx.serving.records import canonical_frame, validate_frame
from mmn_ddx.serving.result import PredictionResult
from mmn_ddx.training.artifact import DEFAULT_SETTING, SETTINGS, SettingError, pre_test_probabilities

ALLOWED = "balanced, new-patients, follow-up, referral"
RECORD = {"patient_id": "S-1", "age_at_onset_years": 41.0, "sex": "male", "onset_region": "upper_limb",
          "motor_nerves_studied": 8, "nerves_definite_cb": 3, "anti_gm1_igm_ratio": 6.5}


def _vector(probabilities: dict[str, float]) -> np.ndarray:
    return np.array([probabilities[d] for d in DIAGNOSES])


def _prior(name: str) -> np.ndarray:
    return _vector(pre_test_probabilities(name))


def _moved(p: np.ndarray, a: str, b: str) -> np.ndarray:
    """Bayes' rule by hand: p_b proportional to p_a * pi_b / pi_a."""
    w = p * _prior(b) / _prior(a)
    return w / w.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return generate_cohort(60, seed=5).drop(columns=[LABEL])


@pytest.mark.parametrize(("a", "b"), [("balanced", "referral"), ("new-patients", "follow-up"),
                                      ("referral", "new-patients")])
def test_two_settings_give_probabilities_related_by_the_prior_ratio(predictor: Predictor, cohort: pd.DataFrame,
                                                                    a: str, b: str) -> None:
    first = predictor.predict_many(cohort, with_next_test=False, setting=a)
    second = predictor.predict_many(cohort, with_next_test=False, setting=b)
    p_a = np.array([_vector(r.probabilities) for r in first])
    p_b = np.array([_vector(r.probabilities) for r in second])
    np.testing.assert_allclose(p_b, _moved(p_a, a, b), rtol=0, atol=1e-9)
    assert np.abs(p_b - p_a).max() > 0.05  # the settings differ enough to matter
    for r_a, r_b in zip(first, second, strict=True):
        assert (r_a.setting.name, r_b.setting.name) == (a, b)
        assert r_b.predicted_diagnosis == max(r_b.probabilities, key=r_b.probabilities.__getitem__)
        # membership on the training population's scale (stated), plus each setting's top diagnosis, listed
        # in the setting's order: set_a = M | {top_a}, set_b = M | {top_b}
        set_a, set_b = r_a.prediction_set.diagnoses, r_b.prediction_set.diagnoses
        assert set(set_a) | {r_b.predicted_diagnosis} == set(set_b) | {r_a.predicted_diagnosis}
        assert set_b[0] == r_b.predicted_diagnosis
        assert [r_b.probabilities[d] for d in set_b] == sorted((r_b.probabilities[d] for d in set_b), reverse=True)
        assert r_b.prediction_set.population == "training"


def test_the_default_is_the_intended_use_population_and_is_stated(predictor: Predictor) -> None:
    result = predictor.predict(RECORD)
    assert DEFAULT_SETTING == "referral"  # the population the README names (Class priors)
    assert result.setting.name == DEFAULT_SETTING and result.setting.is_default
    assert result.setting.pre_test_probabilities == pre_test_probabilities(DEFAULT_SETTING)
    assert result.setting.training_prior == predictor.bundle.metadata.training_prior
    assert f"'{DEFAULT_SETTING}'" in result.setting.note and "default" in result.setting.note
    assert "MND 70 %" in result.setting.note  # the pre-test probabilities in words
    asked = predictor.predict(RECORD, setting=DEFAULT_SETTING)
    assert asked.probabilities == result.probabilities
    assert not predictor.predict(RECORD, setting="balanced").setting.is_default


def test_the_setting_moves_only_the_base_of_the_explanation(predictor: Predictor) -> None:
    balanced, referral = predictor.predict(RECORD, setting="balanced"), predictor.predict(RECORD, setting="referral")
    e_bal, e_ref = balanced.explanation, referral.explanation
    assert e_bal.scale == "log-odds"
    assert e_bal.by_feature.contributions == e_ref.by_feature.contributions
    by_finding = [{f.finding: f.contributions for f in e.by_finding} for e in (e_bal, e_ref)]
    assert by_finding[0] == by_finding[1]
    shift = np.log(_prior("referral")) - np.log(_prior("balanced"))
    assert e_bal.base_shift == dict.fromkeys(DIAGNOSES, 0.0)
    np.testing.assert_allclose(_vector(e_ref.base_shift or {}), shift, atol=1e-12)
    np.testing.assert_allclose(_vector(e_ref.base_values) - _vector(e_bal.base_values), shift, atol=1e-9)
    # still exactly additive, and the softmax of the outputs is the setting's probabilities
    np.testing.assert_allclose(softmax(_vector(e_ref.outputs)), _vector(referral.probabilities), atol=1e-9)


@pytest.mark.parametrize("name", ["icu", "Referral", "primary care"])
def test_an_unknown_setting_is_refused_by_the_python_api(predictor: Predictor, cohort: pd.DataFrame,
                                                         name: str) -> None:
    for call in (lambda: predictor.predict(RECORD, setting=name),
                 lambda: predictor.predict_many([RECORD], setting=name),
                 lambda: score_table(predictor, canonical_frame([RECORD]), setting=name)):
        with pytest.raises(SettingError, match=f"allowed: {ALLOWED}"):
            call()


def test_the_batch_table_states_the_setting_and_matches_the_full_results(predictor: Predictor,
                                                                         cohort: pd.DataFrame) -> None:
    frame = validate_frame(cohort)
    for name in ("follow-up", None):
        table = score_table(predictor, frame, setting=name)
        full = predictor.predict_many(frame, with_next_test=False, setting=name)
        assert (table["setting"] == (name or DEFAULT_SETTING)).all()
        np.testing.assert_array_equal(table[list(PROBABILITY_COLUMNS)].to_numpy(),
                                      [_vector(r.probabilities) for r in full])


# --- CLI -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def patient_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("setting") / "patient.json"
    path.write_text(json.dumps(RECORD), encoding="utf-8")
    return path


def test_cli_predict_honours_and_states_the_setting(quick_bundle_dir: Path, patient_file: Path) -> None:
    runner = CliRunner()
    base = ["predict", str(patient_file), "--model", str(quick_bundle_dir)]
    default = runner.invoke(cli_app, [*base, "--json"])
    follow_up = runner.invoke(cli_app, [*base, "--json", "--setting", "follow-up"])
    assert default.exit_code == follow_up.exit_code == 0, (default.output, follow_up.output)
    d, f = json.loads(default.stdout), json.loads(follow_up.stdout)
    assert (d["setting"]["name"], d["setting"]["is_default"]) == (DEFAULT_SETTING, True)
    assert (f["setting"]["name"], f["setting"]["is_default"]) == ("follow-up", False)
    np.testing.assert_allclose(_vector(f["probabilities"]), _moved(_vector(d["probabilities"]), DEFAULT_SETTING,
                                                                   "follow-up"), rtol=0, atol=1e-9)
    shown = runner.invoke(cli_app, [*base, "--setting", "new-patients"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "in the 'new-patients' setting" in shown.stdout and "MND 86 %" in shown.stdout


def test_cli_predict_refuses_an_unknown_setting_listing_the_allowed_ones(quick_bundle_dir: Path,
                                                                          patient_file: Path) -> None:
    result = CliRunner().invoke(cli_app, ["predict", str(patient_file), "--model", str(quick_bundle_dir),
                                          "--setting", "icu"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "'icu' is not one of 'balanced', 'new-patients', 'follow-up', 'referral'" in result.output


def test_cli_batch_table_states_the_setting(quick_bundle_dir: Path, tmp_path: Path) -> None:
    cohort = tmp_path / "cohort.jsonl"
    cohort.write_text(json.dumps(RECORD) + "\n", encoding="utf-8")
    out = tmp_path / "scored.csv"
    result = CliRunner().invoke(cli_app, ["predict", str(cohort), "--model", str(quick_bundle_dir), "-o", str(out),
                                          "--setting", "balanced"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["setting"].tolist() == ["balanced"]
    assert "setting 'balanced': pre-test MMN 25 %" in result.output
    shown = CliRunner().invoke(cli_app, ["predict", str(cohort), "--model", str(quick_bundle_dir)],
                               env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert f"setting '{DEFAULT_SETTING}'" in shown.stdout


# --- HTTP ----------------------------------------------------------------------------------------------------


def test_http_predict_takes_the_setting_as_a_query_parameter(client: TestClient) -> None:
    default = client.post("/v1/predict", json=RECORD)
    balanced = client.post("/v1/predict", params={"setting": "balanced"}, json=RECORD)
    batch = client.post("/v1/predict/batch", params={"setting": "balanced", "detail": "compact"},
                        json={"records": [RECORD]})
    assert default.status_code == balanced.status_code == batch.status_code == 200
    d, b = default.json(), balanced.json()
    assert d["setting"]["name"] == DEFAULT_SETTING and d["setting"]["is_default"] is True
    assert b["setting"]["name"] == batch.json()["results"][0]["setting"]["name"] == "balanced"
    np.testing.assert_allclose(_vector(d["probabilities"]), _moved(_vector(b["probabilities"]), "balanced",
                                                                   DEFAULT_SETTING), rtol=0, atol=1e-9)
    assert batch.json()["results"][0]["probabilities"] == b["probabilities"]


@pytest.mark.parametrize("path", ["/v1/predict", "/v1/predict/batch"])
def test_http_refuses_an_unknown_setting_listing_the_allowed_ones(client: TestClient, path: str) -> None:
    body = RECORD if path == "/v1/predict" else {"records": [RECORD]}
    response = client.post(path, params={"setting": "icu"}, json=body)
    assert response.status_code == 422
    answer = response.json()
    assert answer["error"] == "invalid_setting"
    assert f"Unknown clinical setting; allowed: {ALLOWED}" in answer["message"]
    assert "icu" not in response.text  # nothing the client sent is echoed (serving/http/errors.py)


def test_the_openapi_schema_and_model_info_name_the_settings(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/v1/predict", "/v1/predict/batch"):
        (param,) = [p for p in spec["paths"][path]["post"]["parameters"] if p["name"] == "setting"]
        schema = param["schema"]
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema
        assert schema["enum"] == list(SETTINGS)
        assert param["schema"].get("default", DEFAULT_SETTING) == DEFAULT_SETTING
    info = client.get("/v1/model").json()
    assert info["default_setting"] == DEFAULT_SETTING
    assert info["settings"] == {name: pre_test_probabilities(name) for name in SETTINGS}


def test_micro_batched_requests_of_different_settings_each_get_their_own(predictor: Predictor) -> None:
    """Concurrent requests share one batch; a request's setting never leaks into another's result."""
    batcher = MicroBatcher(predictor)
    settings = ["balanced", "referral", None, "new-patients", "balanced"]

    async def run() -> list[PredictionResult]:
        return list(await asyncio.gather(*(batcher.predict(RECORD, s) for s in settings)))

    results = asyncio.run(run())
    assert max(batcher.batch_sizes) > 1  # settings shared a batch (scored per setting within it)
    for setting, result in zip(settings, results, strict=True):
        expected = predictor.predict(RECORD, setting=setting)
        assert result.setting.name == (setting or DEFAULT_SETTING)
        assert result.probabilities == expected.probabilities
