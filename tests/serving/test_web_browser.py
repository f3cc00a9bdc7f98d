"""The clinician page in a real headless Chromium (Debian's, driven by Playwright for Python).

One MMN vignette typed in as a clinician would, the result read back from the page, then an impossible
MRC grade and the server's field-level error next to the field. The page must load nothing but its
own origin and fit a tablet's width.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LAPTOP = {"width": 1366, "height": 900}
TABLET = {"width": 820, "height": 1180}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium "
                                                     "(run 'make browser' as root, or apt-get install chromium)"),
]

# An MMN vignette as typed at the bedside: asymmetric distal arm weakness, definite conduction blocks
# in several nerves with normal sensory conduction across them, high-titre anti-GM1 IgM.
MMN_FORM = {
    "age_at_onset_years": "38", "symptom_duration_months": "30",
    "mrc_arm_distal_left": "3", "mrc_arm_distal_right": "4.5", "mrc_arm_proximal_left": "5",
    "mrc_arm_proximal_right": "5", "mrc_leg_distal_left": "5", "mrc_leg_distal_right": "5",
    "weak_nerve_territories": "3", "motor_nerves_studied": "10", "nerves_definite_cb": "3",
    "nerves_probable_cb": "1", "sensory_nerves_studied": "4", "sensory_nerves_abnormal": "0",
    "emg_regions_denervated": "1", "anti_gm1_igm_ratio": "8",
}
MMN_SELECTS = {
    "sex": "male", "course": "stepwise", "onset_region": "upper_limb", "muscle_atrophy": "mild",
    "reflexes_affected_limbs": "reduced", "reflexes_unaffected_limbs": "normal", "upper_motor_neuron_signs": "false",
    "bulbar_weakness": "false", "sensory_symptoms": "false", "sensory_loss": "none",
    "sensory_normal_across_cb": "true", "ivig_response": "improved",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh page on the live server that records console errors and every URL it requests."""
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console_errors = []  # type: ignore[attr-defined]
    page.requested = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    page.on("request", lambda r: page.requested.append(r.url))
    page.goto(live_server.url + "/")
    page.wait_for_selector("#exam[data-ready=true]")
    yield page
    context.close()


def _signed(x: float) -> str:
    """A number as the page writes it (dom.js ``signed``)."""
    return f"{'+' if x >= 0 else '−'}{abs(x):.2f}"


def _fill_mmn(page: Any) -> None:
    for name, value in MMN_FORM.items():
        page.fill(f"#f-{name}", value)
    for name, value in MMN_SELECTS.items():
        page.select_option(f"#f-{name}", value)


def _predict_age_and_sex(page: Any, setting: str | None = None) -> Any:
    """Age 50, male, nothing else (in ``setting`` if given): the page's response once the result is shown."""
    page.fill("#f-age_at_onset_years", "50")
    page.select_option("#f-sex", "male")
    if setting:
        page.select_option("#setting", setting)
    with page.expect_response(lambda r: "/v1/predict" in r.url) as answer:
        page.click("#predict")
    page.wait_for_selector("#result-body:not([hidden])")
    return answer.value


def test_mmn_vignette_shows_mmn_on_top_with_its_explanation(page: Any, live_server: Any, predictor: Any,
                                                            tmp_path: Path) -> None:
    _fill_mmn(page)
    with page.expect_response(lambda r: "/v1/predict" in r.url) as answer:
        page.click("#predict")
    page.wait_for_selector("#result-body:not([hidden])")
    page.screenshot(path=str(tmp_path / "laptop-result.png"), full_page=True)
    served = answer.value.json()  # what the page was given: it must show exactly this

    assert served["predicted_diagnosis"] == "MMN"
    assert page.text_content("#top-diagnosis") == "MMN"
    bars = page.locator("#probabilities li")
    assert bars.count() == 4 and bars.first.get_attribute("data-diagnosis") == "MMN"
    # the same probabilities as the Python API for the record the page sent, drawn as they are
    sent = answer.value.request.post_data_json
    assert served["probabilities"] == pytest.approx(predictor.predict(sent).probabilities, abs=1e-9)
    for i in range(4):
        diagnosis = bars.nth(i).get_attribute("data-diagnosis")
        width = bars.nth(i).locator(".bar-fill").evaluate("node => parseFloat(node.style.width)")
        assert width == pytest.approx(round(100 * served["probabilities"][diagnosis], 1), abs=1e-9)
    assert "MMN" in page.text_content("#prediction-set")
    # the waterfall: base value, one bar per finding (at most 10 + the rest pooled), the score
    n_findings = len(served["explanation"]["by_finding"])
    rows = page.locator("#waterfall svg .wf-row")
    assert rows.count() == 2 + min(n_findings, 10) + (n_findings > 10)
    assert page.locator("#waterfall svg .wf-row[data-kind=total]").count() == 1
    # the findings in words, as the CLI prints them: label, the served sentence, the effect its words say
    items = page.locator("#sentences li")
    shown = served["explanation"]["by_finding"][:8]
    assert items.count() == len(shown)
    for i, finding in enumerate(shown):
        effect = finding["effects"]["MMN"]
        assert items.nth(i).text_content() == (f"{finding['label']} — {finding['sentence']} "
                                               f"(effect on the log-odds of MMN: {_signed(effect)})")
        assert items.nth(i).get_attribute("class") == ("up" if effect >= 0 else "down")
    caption = page.text_content("#waterfall-caption")
    assert "Bars to the right raise the MMN score" in caption and "towards the class" not in caption
    axis = " ".join(page.locator("#waterfall svg .wf-axis").all_text_contents())
    assert "raises" in axis and "lowers" in axis and "towards" not in axis and "away" not in axis
    # the criteria beside the model, the next test, the warnings and the notice
    assert page.text_content("#criteria-label") == served["criteria"]["rule_based_label"]
    readings = page.text_content("#criteria-readings")
    for reading, label in served["criteria"]["rule_based_labels"].items():
        assert f"{reading}: {label}" in readings
    assert page.locator("#criteria details.verdict").count() == len(served["criteria"]["verdicts"])
    if served["next_test"]:
        assert page.text_content("#next-test-label") == served["next_test"]["label"]
    assert page.locator("#warnings li").count() == max(1, len(served["warnings"]))
    assert "not for clinical use" in page.text_content("#result-body").lower()

    # nothing but this origin was contacted, and the page raised no error
    assert all(url.startswith((live_server.url, "data:")) for url in page.requested), page.requested
    assert page.console_errors == []


def test_impossible_mrc_grade_shows_the_servers_error_next_to_the_field(page: Any, tmp_path: Path) -> None:
    _fill_mmn(page)
    page.fill("#f-mrc_arm_distal_left", "7")
    with page.expect_response(lambda r: "/v1/predict" in r.url) as answer:
        page.click("#predict")
    assert answer.value.status == 422
    error = page.locator("#e-mrc_arm_distal_left")
    error.wait_for(state="visible")
    page.screenshot(path=str(tmp_path / "laptop-error.png"))
    assert "less than or equal to 5" in error.text_content()
    assert page.get_attribute("#f-mrc_arm_distal_left", "aria-invalid") == "true"
    assert page.locator("#error-summary").is_visible()
    assert page.locator("#result-body").is_hidden()
    # the other fields are untouched and the value is kept for correction
    assert page.input_value("#f-mrc_arm_distal_left") == "7"
    assert page.locator(".field-error:visible").count() == 1

    page.fill("#f-mrc_arm_distal_left", "3")
    page.click("#predict")
    page.wait_for_selector("#result-body:not([hidden])")
    assert error.is_hidden()


def test_page_fits_a_tablet_and_sends_unknown_as_null(page: Any, tmp_path: Path) -> None:
    page.set_viewport_size(TABLET)
    page.fill("#f-age_at_onset_years", "61")
    page.select_option("#f-sex", "female")
    with page.expect_request(lambda r: "/v1/predict" in r.url) as sent:
        page.click("#predict")
    page.wait_for_selector("#result-body:not([hidden])")
    page.screenshot(path=str(tmp_path / "tablet-result.png"), full_page=True)
    assert sent.value.post_data_json == {"age_at_onset_years": 61, "sex": "female"}  # empty = unknown, never 0
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    # every input has an accessible name
    unnamed = page.evaluate("""[...document.querySelectorAll('#exam input, #exam select')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id)""")
    assert unnamed == []



def test_the_setting_selector_sends_the_setting_and_the_page_states_it(page: Any, predictor: Any) -> None:
    from mmn_ddx.training.artifact import DEFAULT_SETTING, SETTINGS

    options = page.locator("#setting option")
    assert [options.nth(i).get_attribute("value") for i in range(options.count())] == list(SETTINGS)
    assert page.input_value("#setting") == DEFAULT_SETTING  # the intended-use population, preselected
    _fill_mmn(page)
    page.select_option("#setting", "new-patients")
    with page.expect_response(lambda r: "/v1/predict" in r.url) as answer:
        page.click("#predict")
    page.wait_for_selector("#result-body:not([hidden])")
    assert answer.value.url.endswith("/v1/predict?setting=new-patients")
    served = answer.value.json()
    sent = answer.value.request.post_data_json
    expected = predictor.predict(sent, setting="new-patients").probabilities
    assert served["probabilities"] == pytest.approx(expected, abs=1e-9)
    assert page.text_content("#setting-name") == "new-patients"
    assert "MND 86 %" in page.text_content("#setting-note")
    assert "from the setting's pre-test probabilities" in page.text_content("#waterfall-caption")
    assert page.console_errors == []


def test_a_failed_request_never_leaves_the_previous_patients_result_on_screen(page: Any) -> None:
    """Patient A's result must not stay beside patient B's form: not after a refused request (a body over the
    limit: 413), nor when the server cannot be reached. The result names the patient it is for."""
    from mmn_ddx.serving.http.app import RECORD_BODY_LIMIT

    _fill_mmn(page)
    page.fill("#f-patient_id", "A-001")
    page.click("#predict")
    page.wait_for_selector("#result-body:not([hidden])")
    assert page.text_content("#result-patient") == "A-001"
    assert page.text_content("#headline").endswith(" for A-001")

    page.fill("#f-patient_id", "B" * RECORD_BODY_LIMIT)  # patient B, in a request over the size limit
    with page.expect_response(lambda r: "/v1/predict" in r.url) as answer:
        page.click("#predict")
    assert answer.value.status == 413
    page.locator("#error-summary").wait_for(state="visible")
    assert page.locator("#result-body").is_hidden() and page.locator("#result-empty").is_visible()

    page.fill("#f-patient_id", "A-001")  # A's result again, then the server is gone
    page.click("#predict")
    page.wait_for_selector("#result-body:not([hidden])")
    page.route("**/v1/predict*", lambda route: route.abort())
    page.fill("#f-patient_id", "B-002")
    page.click("#predict")
    page.locator("#error-summary").wait_for(state="visible")
    assert "could not be reached" in page.text_content("#error-summary")
    assert page.locator("#result-body").is_hidden() and page.locator("#result-empty").is_visible()

    page.unroute("**/v1/predict*")  # B predicted: B's result, named as B's
    page.click("#predict")
    page.wait_for_selector("#result-body:not([hidden])")
    assert page.text_content("#result-patient") == "B-002"
    assert page.locator("#error-summary").is_hidden()


def test_an_answer_the_page_cannot_draw_is_not_called_an_unreachable_server(page: Any) -> None:
    """The server answered 200 with a body the page fails to draw (here: not a result): the page's own fault is
    said as such, not "the server could not be reached", and no half-drawn result stays on screen."""
    _fill_mmn(page)
    page.click("#predict")
    page.wait_for_selector("#result-body:not([hidden])")
    page.route("**/v1/predict*", _serving('{"notice": "not a result"}'))
    page.click("#predict")
    page.locator("#error-summary").wait_for(state="visible")
    summary = page.text_content("#error-summary")
    assert "could not display its answer" in summary and "could not be reached" not in summary
    assert page.locator("#result-body").is_hidden() and page.locator("#result-empty").is_visible()
    assert page.console_errors, "the fault is logged to the browser console for a bug report"
    page.unroute("**/v1/predict*")


def test_the_prediction_set_is_shown_as_the_result_states_it_without_a_reason_it_does_not_give(
        page: Any, predictor: Any) -> None:
    """Age and sex only, in the new-patients setting (MND 86 % pre-test): MND is in the set only as the setting's
    most probable diagnosis (membership is decided on the training population's probabilities, where MND is out),
    so "these findings do not separate them" would be false. The page states the set as the JSON and the CLI do;
    why it holds what it holds is the setting note's."""
    response = _predict_age_and_sex(page, "new-patients")
    served = response.json()["prediction_set"]
    assert served["diagnoses"][0] == "MND" and len(served["diagnoses"]) > 1 and served["population"] == "training"
    assert set(predictor.bundle.metadata.training_prior.values()) == {0.25}  # the training population: balanced
    sent = response.request.post_data_json
    assert "MND" not in predictor.predict(sent, setting="balanced").prediction_set.diagnoses

    assert page.text_content("#prediction-set") == (
        f"Prediction set at {round(100 * served['coverage'])} % coverage: {''.join(served['diagnoses'])} "
        f"({served['method']}; from the training population's probabilities)")
    assert "(added if those probabilities leave it out)" in page.text_content("#setting-note")


def test_the_criteria_name_the_fields_they_lack_by_their_labels_on_the_form(page: Any) -> None:
    """An element not assessable for unknown fields, and the note on what may decide the criteria, name those
    fields as the form labels them ('MRC leg proximal left'), not by their JSON names; the JSON keeps the names."""
    from mmn_ddx.serving.http.schema import form_schema

    labels = {f.name: f.label for f in form_schema().fields}
    served = _predict_age_and_sex(page).json()["criteria"]
    lacking = [e for v in served["verdicts"] for e in v["elements"] if e["missing"]]
    assert lacking and served["rule_based_label"] == "unclassified"
    shown = page.locator("#criteria .elements li .hint")
    assert shown.count() == len(lacking)
    for i, element in enumerate(lacking):
        names = ", ".join(dict.fromkeys(labels[name] for name in element["missing"]))
        assert shown.nth(i).text_content() == f" (unknown: {names})"
    text = page.text_content("#criteria")
    assert "recording Anti-GM1 IgM, bulbar weakness" in text
    assert not [name for name in labels if "_" in name and name in text]  # no field by its JSON name


# The direction of a finding for the class shown: the served sentence's (predicted class) or the page's own words.
DIRECTION = re.compile(r": (towards \w+|away from \w+(?:, towards \w+)?|little effect|raises the odds of \w+|"
                       r"lowers the odds of \w+) \(effect on the log-odds of (\w+): ([+−]\d+\.\d\d)\)$")


def _contradicted(result: Any) -> bool:
    """A finding among the shown ones whose SHAP sum on the predicted class's score and effect on its odds differ in
    sign: where a number beside the words can contradict them."""
    d = result.predicted_diagnosis
    return any((f.contributions[d] > 0) != (f.effects[d] > 0) for f in result.explanation.by_finding[:8])


def _serving(body: str) -> Any:
    """A route handler answering the page's request with ``body`` (a served result)."""
    return lambda route: route.fulfill(status=200, content_type="application/json", body=body)


def test_every_number_beside_a_finding_has_the_sign_its_words_say(page: Any, predictor: Any) -> None:
    """Served results where a finding raises the predicted class's score yet lowers its odds (generated patients), for
    the predicted class and another: each number shown beside words is the effect the words say, of that sign."""
    from mmn_ddx.data.contract import LABEL
    from mmn_ddx.data.generator import generate_cohort
    from mmn_ddx.serving.records import frame_records

    records = frame_records(generate_cohort(200, seed=5).drop(columns=[LABEL]))
    tricky = [r for r in predictor.predict_many(records, with_next_test=False) if _contradicted(r)][:3]
    assert tricky, "no generated patient has a finding whose score and odds move apart"
    page.fill("#f-age_at_onset_years", "50")
    page.select_option("#f-sex", "male")
    for result in tricky:
        page.route("**/v1/predict*", _serving(result.model_dump_json()))
        page.evaluate("document.getElementById('headline').textContent = ''")
        page.click("#predict")
        page.locator("#headline", has_text="Most likely").wait_for()  # rendered (no eval: the page's CSP forbids it)
        predicted = result.predicted_diagnosis
        other = next(d for d in result.explanation.classes if d != predicted)
        for cls in (predicted, other):
            page.select_option("#explain-class", cls)
            items = page.locator("#sentences li")
            assert items.count() == 8
            for i in range(items.count()):
                text = items.nth(i).text_content()
                found = DIRECTION.search(text)
                assert found and found[2] == cls, text
                words, value = found[1], float(found[3].replace("−", "-"))
                if words.startswith((f"towards {cls}", "raises")):
                    assert value > 0 or (words.startswith("raises") and found[3] == "+0.00"), text
                elif words.startswith((f"away from {cls}", "lowers")):
                    assert value < 0 or (words.startswith("lowers") and found[3] == "−0.00"), text
                else:  # little effect, or towards another class: this class's odds barely move
                    assert abs(value) <= 0.05, text
        page.unroute("**/v1/predict*")
    assert page.console_errors == []
