"""Clinical feature engineering: scikit-learn transformers from a contract DataFrame to float64 features.

``ClinicalFeatures`` is the one to use; the per-domain parts are public for inspection and tests.
:mod:`features.findings` maps every output column to a clinical finding a neurologist recognises.
"""

from mmn_ddx.features._columns import Columns, FeatureInputError
from mmn_ddx.features.clinical_features import TRANSFORMERS, TRUSTED_TYPES, ClinicalFeatures, feature_names
from mmn_ddx.features.completeness import RecordCompleteness
from mmn_ddx.features.conduction import BLOCK_FIELDS, ConductionFeatures
from mmn_ddx.features.course import CourseFeatures
from mmn_ddx.features.findings import (
    FINDING_GROUPS,
    PARAMETER_LABELS,
    Known,
    csf_protein_limit,
    derived_features,
    feature_map,
    finding_name,
    group_columns,
    record_value,
)
from mmn_ddx.features.laboratory import (
    ANTI_GM1_HIGH_TITRE,
    ANTI_GM1_POSITIVE,
    CSF_PLEOCYTOSIS_PER_UL,
    LaboratoryFeatures,
)
from mmn_ddx.features.modes import MODES, NO_TRIAL, TREATMENT_FIELDS, check_mode, fields_for_mode, fields_unseen_in
from mmn_ddx.features.motor_neuron import MotorNeuronFeatures
from mmn_ddx.features.sensory import SensoryFeatures
from mmn_ddx.features.treatment import TreatmentResponseFeatures
from mmn_ddx.features.weakness import MRC_FIELDS, REGIONS, WeaknessFeatures, pair_asymmetric
from mmn_ddx.features.weakness import WORDS as STRENGTH_WORDS

__all__ = [
    "ANTI_GM1_HIGH_TITRE",
    "ANTI_GM1_POSITIVE",
    "BLOCK_FIELDS",
    "CSF_PLEOCYTOSIS_PER_UL",
    "FINDING_GROUPS",
    "MODES",
    "MRC_FIELDS",
    "NO_TRIAL",
    "PARAMETER_LABELS",
    "REGIONS",
    "STRENGTH_WORDS",
    "TRANSFORMERS",
    "TREATMENT_FIELDS",
    "TRUSTED_TYPES",
    "ClinicalFeatures",
    "Columns",
    "ConductionFeatures",
    "CourseFeatures",
    "FeatureInputError",
    "Known",
    "LaboratoryFeatures",
    "MotorNeuronFeatures",
    "RecordCompleteness",
    "SensoryFeatures",
    "TreatmentResponseFeatures",
    "WeaknessFeatures",
    "check_mode",
    "csf_protein_limit",
    "derived_features",
    "feature_map",
    "feature_names",
    "fields_for_mode",
    "fields_unseen_in",
    "finding_name",
    "group_columns",
    "pair_asymmetric",
    "record_value",
]
