"""The MLflow pyfunc applies the record contract to the input as sent, as every other entry point does: through
MLflow's own scoring server (the app ``mlflow models serve`` runs, here in process) in each of its JSON formats,
and in-process ``mlflow.pyfunc.load_model(...).predict``. MLflow enforced an input schema before the pyfunc ran
(unknown fields dropped, "8" scored as 8, a null category turned into 'None', int columns refused), so the
exported model declares none; models logged before keep theirs and still load and serve."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mmn_ddx.data.contract import FEATURE_FIELDS, ID_FIELD, LABEL, fields
from mmn_ddx.training.artifact.clinical_setting import SettingError
from mmn_ddx.training.artifact.model_input import InputError
from mmn_ddx.training.artifact.pyfunc import PROBABILITY_COLUMNS

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "patient_mmn.json"
FORMATS = ("dataframe_records", "dataframe_split", "inputs", "instances")
BASE = {"age_at_onset_years": 41, "sex": "male", "motor_nerves_studied": 8, "anti_gm1_igm_ratio": 9.0}


@pytest.fixture(scope="module")
def model(quick_bundle_dir: Path) -> Any:
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(str(quick_bundle_dir))


@pytest.fixture(scope="module")
def scoring(model: Any) -> TestClient:
    """MLflow's scoring server around the model: what ``mlflow models serve`` runs under uvicorn."""
    from mlflow.pyfunc import scoring_server

    return TestClient(scoring_server.init(model), raise_server_exceptions=False)


def _body(fmt: str, records: list[dict[str, Any]], params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The records in one of the scoring server's JSON formats (every record has the same keys)."""
    if fmt == "dataframe_split":
        columns = list(records[0])
        payload: Any = {"columns": columns, "data": [[r[c] for c in columns] for r in records]}
    else:
        payload = records
    return {fmt: payload, **({"params": params} if params else {})}


def _refusal(response: Any) -> str:
    """The pyfunc's refusal as the scoring server reports it: 400 and the contract's words as the ``message``
    (what MLflow's clients show), not in a stack trace."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE" and "stack_trace" not in body, body
    return str(body["message"])


def _probabilities(response: Any) -> np.ndarray:
    assert response.status_code == 200, response.text
    return pd.DataFrame(response.json()["predictions"])[list(PROBABILITY_COLUMNS)].to_numpy()


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unknown_field_is_refused_in_every_format(scoring: TestClient, fmt: str) -> None:
    """Was: 200, scored without the misspelt blocks (MLflow dropped the column with a log warning)."""
    response = scoring.post("/invocations", json=_body(fmt, [{**BASE, "Nerves_Definite_CB": 4}]))
    assert _refusal(response) == "field 'Nerves_Definite_CB': unknown field (not in the data dictionary)"


def test_an_unknown_column_is_refused_in_process(model: Any) -> None:
    with pytest.raises(InputError, match=r"^field 'foo': unknown field"):
        model.predict(pd.DataFrame([{**BASE, "foo": 1}]))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("text", ["8", "NaN"])
def test_a_number_sent_as_text_is_refused_in_every_format(scoring: TestClient, fmt: str, text: str) -> None:
    """Was: "8" scored as 8 and "NaN" as not examined (MLflow cast the column to the signature's double)."""
    response = scoring.post("/invocations", json=_body(fmt, [{**BASE, "motor_nerves_studied": text}]))
    assert _refusal(response) == "row 1: field 'motor_nerves_studied': expected a JSON number, got a string"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_refusal_is_the_response_message_and_quotes_no_value(scoring: TestClient, model: Any, fmt: str) -> None:
    """Was: the generic "Encountered an unexpected error while evaluating the model", the reason only in the
    ``stack_trace``. The reason is the message, the in-process refusal's words; MLflow's server rewrites an
    MlflowException's message to "Failed to predict data '<the input>'", which must not reach the response."""
    common = {**BASE, "anti_gm1_igm_ratio": 9.25, "course": "stepwise"}
    records = [{**common, ID_FIELD: "P-1", "nerves_definite_cb": 3},
               {**common, ID_FIELD: "P-2", "age_at_onset_years": 67, "motor_nerves_studied": 2,
                "nerves_definite_cb": 5}]
    with pytest.raises(InputError) as refused:
        model.predict(records)
    response = scoring.post("/invocations", json=_body(fmt, records))
    assert _refusal(response) == str(refused.value)
    assert str(refused.value).startswith("row 2 (patient_id P-2): field 'nerves_definite_cb': ")
    for value in ("9.25", "stepwise", "67", "41", "Failed to predict data"):
        assert value not in response.text


def test_an_unknown_setting_is_a_refusal_listing_the_settings(scoring: TestClient, model: Any) -> None:
    """Was MLflow's generic message, the allowed settings only in ``stack_trace``; in process a SettingError."""
    with pytest.raises(SettingError) as refused:
        model.predict([BASE], params={"setting": "nowhere"})
    response = scoring.post("/invocations", json=_body("dataframe_records", [BASE], params={"setting": "nowhere"}))
    assert _refusal(response) == str(refused.value) and "referral" in str(refused.value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_json_nan_reads_as_null_in_every_format(scoring: TestClient, fmt: str) -> None:
    """Python's ``json`` (the scoring server's) reads ``NaN`` as a float, and the dataframe formats hold a null as
    NaN, so the pyfunc cannot tell them apart: NaN is null in every format, as in the Python API."""
    nan = scoring.post("/invocations", content=json.dumps(_body(fmt, [{**BASE, "anti_gm1_igm_ratio": float("nan")}])),
                       headers={"Content-Type": "application/json"})
    null = scoring.post("/invocations", json=_body(fmt, [{**BASE, "anti_gm1_igm_ratio": None}]))
    np.testing.assert_array_equal(_probabilities(nan), _probabilities(null))


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_null_category_is_accepted_in_every_format(scoring: TestClient, model: Any, fmt: str) -> None:
    """Was: 400 "field 'course': not one of ..." in the inputs/instances formats, which turned null into 'None'
    for a ``string`` column; ``params`` still reach the model."""
    records = [{**BASE, "course": None}, {**BASE, "course": None, "sex": "female"}]
    response = scoring.post("/invocations", json=_body(fmt, records, params={"setting": "balanced"}))
    expected = model.predict(pd.DataFrame(records).drop(columns=["course"]), params={"setting": "balanced"})
    np.testing.assert_array_equal(_probabilities(response), expected[list(PROBABILITY_COLUMNS)].to_numpy())
    assert [row["setting"] for row in response.json()["predictions"]] == ["balanced", "balanced"]


def test_the_readme_record_with_integer_columns_is_scored_in_process(model: Any, quick_bundle_dir: Path) -> None:
    """Was: "Can not safely convert int64 to float64" (counts and ages declared double)."""
    from mmn_ddx.training.artifact.bundle import load_bundle
    from mmn_ddx.training.artifact.model_input import canonical_input

    record = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    frame = pd.DataFrame([record])
    assert str(frame["motor_nerves_studied"].dtype) == "int64"
    out = model.predict(frame, params={"setting": "balanced"})
    expected = load_bundle(quick_bundle_dir).predict_explain(canonical_input(frame))[0]
    np.testing.assert_array_equal(out[list(PROBABILITY_COLUMNS)].to_numpy(), expected)
    pd.testing.assert_frame_equal(model.predict([record]), model.predict(frame))  # records and one record too
    pd.testing.assert_frame_equal(model.predict(record), model.predict(frame))


def _old_input_schema() -> Any:
    """The input schema models were logged with before (``double`` numbers, ``any`` yes/no, ``string`` rest)."""
    from mlflow.types.schema import AnyType, ColSpec, Schema

    kinds: dict[str, Any] = {"float": "double", "int": "double", "bool": AnyType(), "category": "string",
                             "string": "string"}
    specs = fields()
    return Schema([ColSpec("string", ID_FIELD, required=False),
                   *(ColSpec(kinds[specs[n].type], n, required=specs[n].required) for n in FEATURE_FIELDS),
                   ColSpec("string", LABEL, required=False)])


def test_a_model_logged_with_the_old_input_schema_still_loads_and_serves(quick_bundle_dir: Path, model: Any,
                                                                        tmp_path: Path) -> None:
    import mlflow.pyfunc
    from mlflow.models import Model, ModelSignature
    from mlflow.pyfunc import scoring_server

    old_dir = Path(shutil.copytree(quick_bundle_dir, tmp_path / "old"))
    old = Model.load(str(old_dir / "MLmodel"))
    assert old.signature is not None and old.signature.inputs is None  # what this change exports
    old.signature = ModelSignature(inputs=_old_input_schema(), outputs=old.signature.outputs,
                                   params=old.signature.params)
    old.save(str(old_dir / "MLmodel"))
    loaded = mlflow.pyfunc.load_model(str(old_dir))
    assert loaded.metadata.get_input_schema() is not None
    records = [{**BASE, "course": "stepwise"}, {**BASE, "sex": "female"}]
    with TestClient(scoring_server.init(loaded), raise_server_exceptions=False) as client:
        response = client.post("/invocations", json={"dataframe_records": records})
    expected = model.predict(pd.DataFrame(records))
    np.testing.assert_array_equal(_probabilities(response), expected[list(PROBABILITY_COLUMNS)].to_numpy())


def test_a_table_that_is_not_records_is_refused_naming_row_or_field(model: Any) -> None:
    with pytest.raises(InputError, match=r"^row 2: not a record \(expected a JSON object of fields, got int\)$"):
        model.predict([BASE, 3])
    with pytest.raises(InputError, match="every field needs one value per patient"):
        model.predict({"age_at_onset_years": [41, 42], "sex": ["male"]})
