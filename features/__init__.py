"""Clinical feature engineering: scikit-learn transformers from a contract DataFrame to float64 features.

``ClinicalFeatures`` is the one to use; the per-domain parts are public for inspection and tests.
:mod:`features.findings` maps every output column to a clinical finding a neurologist recognises.
"""

from mmn_ddx.features._columns import Columns, FeatureInputError
from mmn_ddx.features._records import encode
from mmn_ddx.features.clinical_features import TRANSFORMERS, TRUSTED_TYPES, ClinicalFeatures, feature_names
from mmn_ddx.features.completeness import RecordCompleteness
from mmn_ddx.features.conduction import ConductionFeatures
from mmn_ddx.features.course import CourseFeatures
from mmn_ddx.features.laboratory import LaboratoryFeatures
from mmn_ddx.features.modes import MODES, TREATMENT_FIELDS, check_mode
from mmn_ddx.features.motor_neuron import MotorNeuronFeatures
from mmn_ddx.features.sensory import SensoryFeatures
from mmn_ddx.features.treatment import TreatmentResponseFeatures
from mmn_ddx.features.weakness import WeaknessFeatures

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
    "check_mode",
    "encode",
    "feature_names",
]
