"""A record the MLflow pyfunc refuses, in the words MLflow's scoring server answers with: status 400 and the
refusal (row, field, reason; never a value) as the response's ``message``, what MLflow's clients show.

MLflow's server (``mlflow.pyfunc.scoring_server.invocations``, 3.x) answers a plain exception from ``predict``
with a generic message ("Encountered an unexpected error while evaluating the model...") and the reason only
inside ``stack_trace``. An :class:`~mlflow.exceptions.MlflowException` keeps its status and message, but the
server first rewrites the message to ``Failed to predict data '<the input>'. Error: ...``: every value of the
request, the patients' records, in the response. So :class:`ServedInputError` is an ``MlflowException`` whose
message is set once, by its constructor: the rewrite is ignored and the input never enters the exception.
An unknown ``setting`` parameter is answered the same way (:class:`ServedSettingError`).

It is an :class:`~.model_input.InputError` too, so in process (``mlflow.pyfunc.load_model(...).predict``) and
on Spark a refusal is still caught, and read, as one. Imported by the pyfunc only to refuse a record, so
loading the package does not import MLflow.
"""

from __future__ import annotations

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from mmn_ddx.training.artifact.clinical_setting import SettingError
from mmn_ddx.training.artifact.model_input import InputError


class _ServedRefusal(MlflowException):
    """Bad input as MLflow reports it: error code ``INVALID_PARAMETER_VALUE``, HTTP 400, this message and no
    more."""

    def __init__(self, message: str) -> None:
        MlflowException.__init__(self, message, error_code=INVALID_PARAMETER_VALUE)

    @property
    def message(self) -> str:
        return self._message

    @message.setter
    def message(self, value: str) -> None:
        """Set once: the scoring server's later ``e.message = f"Failed to predict data '{data}'..."`` is
        ignored, as it would put the request's values in the response."""
        if not hasattr(self, "_message"):
            self._message = value


class ServedInputError(InputError, _ServedRefusal):
    """The record contract's refusal (an :class:`InputError`'s message: row, field, reason)."""

    def __init__(self, message: str) -> None:
        _ServedRefusal.__init__(self, message)


class ServedSettingError(SettingError, _ServedRefusal):
    """An unknown ``setting`` parameter (a :class:`SettingError`'s message: the allowed settings)."""

    def __init__(self, message: str) -> None:
        _ServedRefusal.__init__(self, message)
