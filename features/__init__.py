"""Clinical feature engineering: scikit-learn transformers from a contract DataFrame to float64 features.

``ClinicalFeatures`` is the one to use; the per-domain parts are public for inspection and tests.
:mod:`features.findings` maps every output column to a clinical finding a neurologist recognises.
"""

from features._columns import Columns, FeatureInputError
from features._records import encode
from features.clinical_features import TRANSFORMERS, TRUSTED_TYPES, ClinicalFeatures, feature_names
from features.completeness import RecordCompleteness
from features.conduction import ConductionFeatures
from features.course import CourseFeatures
from features.laboratory import LaboratoryFeatures
from features.modes import MODES, TREATMENT_FIELDS
from features.motor_neuron import MotorNeuronFeatures
from features.sensory import SensoryFeatures
from features.treatment import TreatmentResponseFeatures
from features.weakness import WeaknessFeatures

__all__ = [
    "MODES",
    "TRANSFORMERS",
    "TREATMENT_FIELDS",
    "TRUSTED_TYPES",
    "ClinicalFeatures",
    "Columns",
    "ConductionFeatures",
    "CourseFeatures",
    "FeatureInputError",
    "LaboratoryFeatures",
    "MotorNeuronFeatures",
    "RecordCompleteness",
    "SensoryFeatures",
    "TreatmentResponseFeatures",
    "WeaknessFeatures",
    "encode",
    "feature_names",
]
