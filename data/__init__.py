"""data: the patient-record contract, cohort import/validation, the synthetic cohort and its summary.

Public API (``from mmn_ddx.data import read_cohort``). Names are resolved lazily (PEP 562) so that
``import mmn_ddx.data.contract`` - done by every layer, including the HTTP server - does not pay for pandera,
pyarrow and openpyxl, which only the importer needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmn_ddx._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)

if TYPE_CHECKING:  # the public names, listed once: type checkers read them, lazy_exports too
    from mmn_ddx.data._pandera import errors
    from mmn_ddx.data.cells import PARSED_DTYPES, parse_column
    from mmn_ddx.data.column_readers import read_frame, read_records
    from mmn_ddx.data.columns import NULL_CODE, READINGS, Columns, ColumnsError, Reading, compare, compare_value
    from mmn_ddx.data.contract import (
        DIAGNOSES,
        FEATURE_FIELDS,
        ID_FIELD,
        LABEL,
        MRC_FIELDS,
        MRC_REGIONS,
        SCHEMA_VERSION,
        Contradiction,
        FieldRule,
        FieldSpec,
        Rule,
        all_rules,
        contradictions,
        empty_frame,
        fields,
        frame_rule_problems,
        label_spec,
        rule_problems,
        rule_values,
        rules,
        to_canonical,
    )
    from mmn_ddx.data.describe import describe_cohort
    from mmn_ddx.data.diagnostic_tests import TESTS, DiagnosticTest, find_test, recorded_tests, result_recorded
    from mmn_ddx.data.exact_posterior import growing_mixture_posteriors, log_likelihoods, posterior
    from mmn_ddx.data.fidelity import (
        FIDELITY_VERDICT_WORDS,
        FIDELITY_VERDICTS,
        criteria_figures,
        format_interval,
        format_value,
        load_targets,
        marginal_figures,
        to_markdown,
    )
    from mmn_ddx.data.formats import ROW, WRITE_FORMATS
    from mmn_ddx.data.generator import GENERATOR_VERSION, generate_cohort
    from mmn_ddx.data.importer import (
        CohortError,
        ImportResult,
        RowError,
        iter_cohort,
        read_cohort,
        read_record_json,
        write_table,
    )
    from mmn_ddx.data.json_records import RecordRejected, single_record
    from mmn_ddx.data.kleene import (
        SMALL,
        Bounds,
        Tri,
        all_of,
        any_of,
        at_least,
        decided_by,
        exactly,
        first_true,
        from_rows,
        is_true,
        masks,
        row_truths,
        tri,
        true_or_unknown,
        truth_codes,
    )
    from mmn_ddx.data.latents import CLASS_PRIOR_PRESETS
    from mmn_ddx.data.record import (
        PatientRecord,
        PatientRecordOptionalLabel,
        RecordError,
        validate_record,
        without_label,
    )
    from mmn_ddx.data.schema import BUILTIN_REASONS, SchemaErrors, cohort_schema, validate_cohort
    from mmn_ddx.data.skipped_rows import SkippedRows
    from mmn_ddx.data.uncertainty import Uncertainty, uncertainties
    from mmn_ddx.data.workup_age import WORKUP_AGE_FIELDS, age_at_workup, workup_age_at_most
    from mmn_ddx.data.world import (
        DEFAULT_WORLDS,
        LITERATURE_WORLD,
        World,
        WorldMixture,
        draw_world,
        draw_worlds,
        load_world,
        world_name,
    )
    from mmn_ddx.data.world_fit import FitReport, FittedWeight, WorldFit, fit_world
    from mmn_ddx.data.writers import TableWriter
