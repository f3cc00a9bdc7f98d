"""``ClinicalFeatures``: the whole clinical feature set in one transformer, with the mode switch.

The parts (one module per clinical domain) are combined here rather than with a ``FeatureUnion``
because the input frame is read and checked once for all of them: serving transforms one patient
per request and the transform must stay around a millisecond. The parts stay usable on their own.

Skops (MLflow's safe model format) loads only types it is told to trust: :data:`TRUSTED_TYPES` lists
every class of this package that can appear in a fitted pipeline; training passes it to
``mlflow.sklearn.log_model(..., skops_trusted_types=...)`` together with its own estimators' types.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from sklearn.utils._param_validation import StrOptions

from mmn_ddx.data import FEATURE_FIELDS
from mmn_ddx.features._base import ContractTransformer, Features
from mmn_ddx.features._columns import Columns
from mmn_ddx.features.completeness import RecordCompleteness
from mmn_ddx.features.conduction import ConductionFeatures
from mmn_ddx.features.course import CourseFeatures
from mmn_ddx.features.laboratory import LaboratoryFeatures
from mmn_ddx.features.modes import MODES, check_mode
from mmn_ddx.features.motor_neuron import MotorNeuronFeatures
from mmn_ddx.features.sensory import SensoryFeatures
from mmn_ddx.features.treatment import TreatmentResponseFeatures
from mmn_ddx.features.weakness import WeaknessFeatures

PRESENTATION_PARTS: tuple[type[ContractTransformer], ...] = (
    CourseFeatures,
    WeaknessFeatures,
    MotorNeuronFeatures,
    SensoryFeatures,
    ConductionFeatures,
    LaboratoryFeatures,
)
"""Parts whose features are known at the first work-up, in output order."""


class ClinicalFeatures(ContractTransformer):
    """All clinical features of a contract DataFrame, as float64 columns (NaN = unknown).

    Parameters
    ----------
    mode : {"at-presentation", "with-treatment"}
        ``"at-presentation"`` (default) leaves out every feature known only after a therapeutic trial
        (:data:`features.modes.TREATMENT_FIELDS`); ``"with-treatment"`` adds the treatment responses.

    Examples
    --------
    >>> from data.contract import to_canonical
    >>> import pandas as pd
    >>> frame = to_canonical(pd.DataFrame({"age_at_onset_years": [41.0], "sex": ["male"]}))
    >>> ClinicalFeatures().set_output(transform="pandas").fit_transform(frame).shape[0]
    1
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"mode": [StrOptions(set(MODES))]}

    def __init__(self, mode: str = MODES[0]) -> None:
        self.mode = mode

    def _parts(self) -> tuple[ContractTransformer, ...]:
        return _parts(check_mode(self.mode))

    def _fields(self) -> tuple[str, ...]:
        return _fields(check_mode(self.mode))

    def _compute(self, columns: Columns) -> Features:
        out: Features = {}
        for part in self._parts():
            features = part._compute(columns)
            clash = out.keys() & features.keys()
            if clash:
                raise RuntimeError(f"feature columns defined twice: {sorted(clash)}")
            out.update(features)
        return out


@cache
def _parts(mode: str) -> tuple[ContractTransformer, ...]:
    """The part transformers of one mode (stateless, so one shared instance each is enough)."""
    treatment = (TreatmentResponseFeatures(),) if mode == "with-treatment" else ()
    return (*(part() for part in PRESENTATION_PARTS), *treatment, RecordCompleteness(mode=mode))


@cache
def _fields(mode: str) -> tuple[str, ...]:
    """Contract fields read in one mode, in dictionary order."""
    used = {name for part in _parts(mode) for name in part._fields()}
    return tuple(name for name in FEATURE_FIELDS if name in used)


def feature_names(mode: str = MODES[0]) -> list[str]:
    """Output columns of :class:`ClinicalFeatures` in ``mode``, without fitting."""
    return list(_feature_names(check_mode(mode)))


@cache
def _feature_names(mode: str) -> tuple[str, ...]:
    transformer = ClinicalFeatures(mode=mode)
    return tuple(transformer._compute(Columns.empty(transformer._fields())))


TRANSFORMERS: tuple[type[ContractTransformer], ...] = (
    ClinicalFeatures,
    *PRESENTATION_PARTS,
    TreatmentResponseFeatures,
    RecordCompleteness,
)
"""Every public transformer class of the package."""

TRUSTED_TYPES: list[str] = [f"{cls.__module__}.{cls.__qualname__}" for cls in TRANSFORMERS]
"""Fully qualified names of the transformer classes, for ``skops.io.load(..., trusted=...)``."""
