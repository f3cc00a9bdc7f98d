"""The exported model: what training ships and serving loads (its one public API).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmn_ddx._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)

if TYPE_CHECKING:  # the public names, listed once: type checkers read them, lazy_exports too
    from mmn_ddx.training.artifact.bundle import (
        Atypical,
        BundleError,
        FeatureAttribution,
        IntegrityError,
        ModelBundle,
        load_bundle,
    )
    from mmn_ddx.training.artifact.clinical_setting import (
        DEFAULT_SETTING,
        SETTINGS,
        Setting,
        SettingError,
        adjust,
        check_setting,
        log_shift,
        pre_test_probabilities,
    )
    from mmn_ddx.training.artifact.effects import finding_effects, largest_effects
    from mmn_ddx.training.artifact.fingerprints import RecordFingerprints
    from mmn_ddx.training.artifact.information import (
        LITTLE_INFORMATION_FRACTION,
        MOTOR_NCS_FIELDS,
        few_recorded,
        lacks_information,
        little_information_mask,
        motor_ncs_done,
        optional_fields,
    )
    from mmn_ddx.training.artifact.metadata import (
        SYNTHETIC_SOURCE,
        SyntheticTraining,
        TrainingWorld,
        code_version,
        data_digest,
    )
    from mmn_ddx.training.artifact.model_input import InputError
    from mmn_ddx.training.artifact.outcomes import OutcomeTables
    from mmn_ddx.training.artifact.pyfunc import OUTPUT_TYPES
    from mmn_ddx.training.artifact.served_input_error import ServedInputError
    from mmn_ddx.training.artifact.store import use_project_store
    from mmn_ddx.training.artifact.treatment_response import unread_response_mask, unread_responses
    from mmn_ddx.training.artifact.warning_codes import (
        DISAGREE_CODE,
        LITTLE_INFORMATION_CODE,
        OOD_CODE,
        SYNTHETIC_CODE,
        TREATMENT_IGNORED_CODE,
        WARNING_CODES,
        WarningCode,
        codes_per_patient,
    )
