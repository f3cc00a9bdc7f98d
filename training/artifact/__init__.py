"""The exported model: what training ships and serving loads (its one public API).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmn_ddx._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Atypical": "mmn_ddx.training.artifact.bundle",
    "BundleError": "mmn_ddx.training.artifact.bundle",
    "FeatureAttribution": "mmn_ddx.training.artifact.bundle",
    "IntegrityError": "mmn_ddx.training.artifact.bundle",
    "load_bundle": "mmn_ddx.training.artifact.bundle",
    "ModelBundle": "mmn_ddx.training.artifact.bundle",
    "adjust": "mmn_ddx.training.artifact.clinical_setting",
    "check_setting": "mmn_ddx.training.artifact.clinical_setting",
    "DEFAULT_SETTING": "mmn_ddx.training.artifact.clinical_setting",
    "log_shift": "mmn_ddx.training.artifact.clinical_setting",
    "pre_test_probabilities": "mmn_ddx.training.artifact.clinical_setting",
    "Setting": "mmn_ddx.training.artifact.clinical_setting",
    "SettingError": "mmn_ddx.training.artifact.clinical_setting",
    "SETTINGS": "mmn_ddx.training.artifact.clinical_setting",
    "code_version": "mmn_ddx.training.artifact.metadata",
    "SYNTHETIC_SOURCE": "mmn_ddx.training.artifact.metadata",
    "TrainingWorld": "mmn_ddx.training.artifact.metadata",
    "OutcomeTables": "mmn_ddx.training.artifact.outcomes",
    "InputError": "mmn_ddx.training.artifact.pyfunc",
    "few_recorded": "mmn_ddx.training.artifact.information",
    "lacks_information": "mmn_ddx.training.artifact.information",
    "little_information_mask": "mmn_ddx.training.artifact.information",
    "LITTLE_INFORMATION_FRACTION": "mmn_ddx.training.artifact.information",
    "MOTOR_NCS_FIELDS": "mmn_ddx.training.artifact.information",
    "optional_fields": "mmn_ddx.training.artifact.information",
    "OUTPUT_TYPES": "mmn_ddx.training.artifact.pyfunc",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers and IDEs
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
    from mmn_ddx.training.artifact.information import (
        LITTLE_INFORMATION_FRACTION,
        MOTOR_NCS_FIELDS,
        few_recorded,
        lacks_information,
        little_information_mask,
        optional_fields,
    )
    from mmn_ddx.training.artifact.metadata import SYNTHETIC_SOURCE, TrainingWorld, code_version
    from mmn_ddx.training.artifact.outcomes import OutcomeTables
    from mmn_ddx.training.artifact.pyfunc import OUTPUT_TYPES, InputError
