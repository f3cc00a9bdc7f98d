"""data: the patient-record contract, cohort import/validation, the synthetic cohort and its summary.

Public API (``from data import read_cohort``). Names are resolved lazily (PEP 562) so that
``import data.contract`` - done by every layer, including the HTTP server - does not pay for pandera,
pyarrow and openpyxl, which only the importer needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmn_ddx._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "errors": "mmn_ddx.data._pandera",
    "parse_column": "mmn_ddx.data.cells",
    "PARSED_DTYPES": "mmn_ddx.data.cells",
    "Columns": "mmn_ddx.data.columns",
    "ColumnsError": "mmn_ddx.data.columns",
    "compare": "mmn_ddx.data.columns",
    "compare_value": "mmn_ddx.data.columns",
    "encode": "mmn_ddx.data.columns",
    "NULL_CODE": "mmn_ddx.data.columns",
    "read_frame": "mmn_ddx.data.columns",
    "read_records": "mmn_ddx.data.columns",
    "Reading": "mmn_ddx.data.columns",
    "READINGS": "mmn_ddx.data.columns",
    "DIAGNOSES": "mmn_ddx.data.contract",
    "empty_frame": "mmn_ddx.data.contract",
    "FEATURE_FIELDS": "mmn_ddx.data.contract",
    "fields": "mmn_ddx.data.contract",
    "FieldSpec": "mmn_ddx.data.contract",
    "ID_FIELD": "mmn_ddx.data.contract",
    "LABEL": "mmn_ddx.data.contract",
    "MRC_FIELDS": "mmn_ddx.data.contract",
    "MRC_REGIONS": "mmn_ddx.data.contract",
    "all_rules": "mmn_ddx.data.contract",
    "Contradiction": "mmn_ddx.data.contract",
    "contradictions": "mmn_ddx.data.contract",
    "FieldRule": "mmn_ddx.data.contract",
    "frame_rule_problems": "mmn_ddx.data.contract",
    "Rule": "mmn_ddx.data.contract",
    "rule_problems": "mmn_ddx.data.contract",
    "rule_values": "mmn_ddx.data.contract",
    "rules": "mmn_ddx.data.contract",
    "SCHEMA_VERSION": "mmn_ddx.data.contract",
    "to_canonical": "mmn_ddx.data.contract",
    "describe_cohort": "mmn_ddx.data.describe",
    "DiagnosticTest": "mmn_ddx.data.diagnostic_tests",
    "find_test": "mmn_ddx.data.diagnostic_tests",
    "TESTS": "mmn_ddx.data.diagnostic_tests",
    "criteria_figures": "mmn_ddx.data.fidelity",
    "format_value": "mmn_ddx.data.fidelity",
    "load_targets": "mmn_ddx.data.fidelity",
    "marginal_figures": "mmn_ddx.data.fidelity",
    "to_markdown": "mmn_ddx.data.fidelity",
    "WRITE_FORMATS": "mmn_ddx.data.formats",
    "CLASS_PRIOR_PRESETS": "mmn_ddx.data.latents",
    "generate_cohort": "mmn_ddx.data.generator",
    "GENERATOR_VERSION": "mmn_ddx.data.generator",
    "CohortError": "mmn_ddx.data.importer",
    "ImportResult": "mmn_ddx.data.importer",
    "iter_cohort": "mmn_ddx.data.importer",
    "read_cohort": "mmn_ddx.data.importer",
    "read_record_json": "mmn_ddx.data.importer",
    "RowError": "mmn_ddx.data.importer",
    "write_table": "mmn_ddx.data.importer",
    "RecordRejected": "mmn_ddx.data.json_records",
    "single_record": "mmn_ddx.data.json_records",
    "all_of": "mmn_ddx.data.kleene",
    "Bounds": "mmn_ddx.data.kleene",
    "SMALL": "mmn_ddx.data.kleene",
    "from_rows": "mmn_ddx.data.kleene",
    "row_truths": "mmn_ddx.data.kleene",
    "any_of": "mmn_ddx.data.kleene",
    "at_least": "mmn_ddx.data.kleene",
    "decided_by": "mmn_ddx.data.kleene",
    "exactly": "mmn_ddx.data.kleene",
    "first_true": "mmn_ddx.data.kleene",
    "masks": "mmn_ddx.data.kleene",
    "truth_codes": "mmn_ddx.data.kleene",
    "is_true": "mmn_ddx.data.kleene",
    "Tri": "mmn_ddx.data.kleene",
    "tri": "mmn_ddx.data.kleene",
    "true_or_unknown": "mmn_ddx.data.kleene",
    "posterior": "mmn_ddx.data.exact_posterior",
    "log_likelihoods": "mmn_ddx.data.exact_posterior",
    "growing_mixture_posteriors": "mmn_ddx.data.exact_posterior",
    "PatientRecord": "mmn_ddx.data.record",
    "RecordError": "mmn_ddx.data.record",
    "validate_record": "mmn_ddx.data.record",
    "BUILTIN_REASONS": "mmn_ddx.data.schema",
    "cohort_schema": "mmn_ddx.data.schema",
    "SchemaErrors": "mmn_ddx.data.schema",
    "validate_cohort": "mmn_ddx.data.schema",
    "TableWriter": "mmn_ddx.data.writers",
    "Uncertainty": "mmn_ddx.data.uncertainty",
    "uncertainties": "mmn_ddx.data.uncertainty",
    "DEFAULT_WORLDS": "mmn_ddx.data.world",
    "World": "mmn_ddx.data.world",
    "WorldMixture": "mmn_ddx.data.world",
    "draw_world": "mmn_ddx.data.world",
    "draw_worlds": "mmn_ddx.data.world",
    "load_world": "mmn_ddx.data.world",
    "fit_world": "mmn_ddx.data.world_fit",
    "FitReport": "mmn_ddx.data.world_fit",
    "FittedWeight": "mmn_ddx.data.world_fit",
    "WorldFit": "mmn_ddx.data.world_fit",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers and IDEs
    from mmn_ddx.data._pandera import errors
    from mmn_ddx.data.cells import PARSED_DTYPES, parse_column
    from mmn_ddx.data.columns import (
        NULL_CODE,
        READINGS,
        Columns,
        ColumnsError,
        Reading,
        compare,
        compare_value,
        encode,
        read_frame,
        read_records,
    )
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
        rule_problems,
        rule_values,
        rules,
        to_canonical,
    )
    from mmn_ddx.data.describe import describe_cohort
    from mmn_ddx.data.diagnostic_tests import TESTS, DiagnosticTest, find_test
    from mmn_ddx.data.exact_posterior import growing_mixture_posteriors, log_likelihoods, posterior
    from mmn_ddx.data.fidelity import criteria_figures, format_value, load_targets, marginal_figures, to_markdown
    from mmn_ddx.data.formats import WRITE_FORMATS
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
    from mmn_ddx.data.record import PatientRecord, RecordError, validate_record
    from mmn_ddx.data.schema import BUILTIN_REASONS, SchemaErrors, cohort_schema, validate_cohort
    from mmn_ddx.data.uncertainty import Uncertainty, uncertainties
    from mmn_ddx.data.world import DEFAULT_WORLDS, World, WorldMixture, draw_world, draw_worlds, load_world
    from mmn_ddx.data.world_fit import FitReport, FittedWeight, WorldFit, fit_world
    from mmn_ddx.data.writers import TableWriter
