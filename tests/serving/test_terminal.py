"""The terminal view (``mmn-ddx predict <patient>``): every number shown beside words says what the words say."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from mmn_ddx.data.contract import ID_FIELD, LABEL, fields
from mmn_ddx.data.generator import generate_cohort
from mmn_ddx.serving.predictor import Predictor
from mmn_ddx.serving.records import frame_records
from mmn_ddx.serving.result import PredictionResult
from mmn_ddx.serving.terminal import TOP_FINDINGS, findings, probabilities

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROW = re.compile(r"^\s*([+-]\d+\.\d\d)\s+(\S.*?)\s*$")
DIRECTION = re.compile(r": (towards \w+|away from \w+(?:, towards \w+)?|little effect)$")


def _text(renderable: Any) -> str:
    console = Console(file=io.StringIO(), width=400, record=True)
    console.print(renderable)
    return console.export_text()


def _sparse(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``frame`` with each optional field blanked with probability 0.7: little-information records."""
    rng = np.random.default_rng(seed)
    optional = [name for name in frame.columns if not fields()[name].required and name != ID_FIELD]
    return frame.mask(pd.DataFrame(rng.random((len(frame), len(optional))) < 0.7, frame.index, optional)
                      .reindex(columns=frame.columns, fill_value=False))


@pytest.fixture(scope="module")
def results(predictor: Predictor) -> list[PredictionResult]:
    """The example patients and generated ones (full and sparse records), in two clinical settings."""
    examples = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(EXAMPLES.glob("*.json"))]
    generated = generate_cohort(120, seed=5).drop(columns=[LABEL])
    records = [*examples, *frame_records(generated), *frame_records(_sparse(generated.head(60), seed=6))]
    return [*predictor.predict_many(records, with_next_test=False),
            *predictor.predict_many(records, with_next_test=False, setting="balanced")]


def _shown(result: PredictionResult) -> list[tuple[str, str, str]]:
    """The findings table as printed: (number, label, direction in words) per finding."""
    text = _text(findings(result.explanation, result.predicted_diagnosis))
    lines = text[:text.index("smaller findings not shown")].splitlines()[:-1]  # the rows, not the caption
    rows: list[tuple[str, str, list[str]]] = []
    for line in lines:
        row = ROW.match(line)
        if row:
            rows.append((row[1], row[2], []))
        elif rows and line.strip():
            rows[-1][2].append(line.strip())  # the sentence, wrapped
    shown = []
    for number, label, sentence in rows:
        words = DIRECTION.search(" ".join(sentence))
        assert words, sentence
        shown.append((number, label, words[1]))
    return shown


def test_every_number_shown_beside_a_finding_has_the_sign_its_words_say(results: list[PredictionResult]) -> None:
    """On the log-odds scale a finding can raise the predicted class's score (its SHAP sum) and still lower its
    probability: the number printed is its effect on the class's odds, the quantity its words are worded from."""
    for result in results:
        predicted = result.predicted_diagnosis
        shown = _shown(result)
        assert [label for _, label, _ in shown] == [f.label for f in result.explanation.by_finding[:TOP_FINDINGS]]
        for number, label, words in shown:
            value = float(number)
            if words.startswith(f"towards {predicted}"):
                assert value > 0, (result.patient_id, number, label, words)
            elif words.startswith(f"away from {predicted}"):
                assert value < 0, (result.patient_id, number, label, words)
            else:  # "little effect", or "towards" another class: the predicted class's odds barely move
                assert abs(value) <= 0.05, (result.patient_id, number, label, words)


def test_the_findings_table_names_what_its_numbers_are(results: list[PredictionResult]) -> None:
    result = results[0]
    predicted = result.predicted_diagnosis
    text = " ".join(_text(findings(result.explanation, predicted)).split())
    assert f"(effect on the odds of {predicted}, log-odds)" in text
    assert f"the change of {predicted}'s log-odds against the other diagnoses when the finding is taken out" in text
    outputs = result.explanation.outputs[predicted]
    assert f"SHAP contributions to the score of {predicted} (softmax logit) do:" in text
    assert f"= {outputs:+.2f}" in text


def test_the_probability_table_never_rounds_to_certainty(results: list[PredictionResult]) -> None:
    """As the headline (``percent``): 0.99999914 is ">99 %", not "100.0 %", and 8.5e-7 is "<1 %", not "0.0 %"."""
    probs = {"MMN": 0.99999914, "MND": 8.5e-7, "CIDP": 1e-8, "MADSAM": 0.0}
    near_certain = results[0].model_copy(update={"probabilities": probs, "predicted_diagnosis": "MMN"})
    rows = {line.split()[0]: line for line in _text(probabilities(near_certain)).splitlines()
            if line.split() and line.split()[0] in probs}
    expected = {"MMN": ">99 %", "MND": "<1 %", "CIDP": "<1 %", "MADSAM": "0 %"}
    assert all(f" {expected[d]}" in rows[d] for d in probs), rows
    assert not any("100.0" in row or "0.0 %" in row for row in rows.values())
