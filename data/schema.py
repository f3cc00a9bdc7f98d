"""pandera schema of a cohort DataFrame, built from the contract's field table.

There is no second field list here: every column, range and category comes from
:func:`data.contract.fields` (and :func:`data.contract.label_spec` for ``diagnosis``), which read the
shipped data dictionary. The schema checks what the data dictionary promises:

* every contract column is present (a canonical frame has all of them; missing optional fields are
  added as null by :func:`data.contract.to_canonical`) and no other column is (strict: a typo must
  not be carried along silently);
* nulls are allowed except for the required fields (age at onset, sex), because null means
  "not examined / not tested" and is information, not an error (data dictionary, header);
* numbers lie in their documented range, counts are whole numbers, categories are known values;
* a non-null ``patient_id`` is unique (a duplicated patient leaks between cross-validation folds);
* the dictionary's cross-field rules hold (:func:`data.contract.all_rules`: e.g. no more nerves with a
  conduction block than motor nerves studied; no ``single`` conduction block with blocks counted in three
  nerves), reported on the rule's field (the limited count, the stated finding) and row;
* the ``diagnosis`` label is optional; with ``require_label=True`` it must be present and non-null.

Two stages share one definition. ``canonical=True`` (default) validates a frame in canonical dtypes
(Int64 counts, boolean flags, categoricals): what the importer returns and training consumes.
``canonical=False`` validates the importer's intermediate frame (:data:`data.cells.PARSED_DTYPES`):
counts still float64 and categories still text, so that 4.5 and "Male" are *reported* rather than
truncated or turned into NaN by a cast.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from mmn_ddx.data._pandera import ValidationDepth, config_context, pa
from mmn_ddx.data.cells import PARSED_DTYPES
from mmn_ddx.data.contract import (
    ID_FIELD,
    LABEL,
    FieldSpec,
    Rule,
    all_rules,
    category_reason,
    fields,
    label_spec,
    rule_values,
)
from mmn_ddx.data.record import NOT_WHOLE

REQUIRED_MISSING = "missing, but this field is required"
LABEL_REQUIRED = "required: the reference diagnosis of every patient"
"""Why a labelled cohort needs ``diagnosis``, in words that fit every use (training, benchmarking, world fit,
``cohort validate --require-label``)."""
LABEL_MISSING = f"missing diagnosis ({LABEL_REQUIRED})"
DUPLICATE_ID = "duplicate patient_id"

SchemaErrors = pa.errors.SchemaErrors
"""What :func:`validate_cohort` raises (re-exported so callers need not import pandera themselves)."""

BUILTIN_REASONS: dict[str, str] = {"not_nullable": REQUIRED_MISSING}
"""Readable reasons for pandera's built-in (non-``Check``) failures, keyed by pandera's check name."""


def is_whole(values: pd.Series) -> pd.Series:
    """The count rule of :data:`data.record.NOT_WHOLE` on a column: ``10.0`` passes, ``10.5`` fails."""
    return values % 1 == 0


def range_reason(spec: FieldSpec) -> str:
    assert spec.range is not None
    low, high = spec.range
    return f"outside the allowed range {low:g} to {high:g}"


def _checks(spec: FieldSpec) -> list[pa.Check]:
    """One check per rule of the data dictionary; the ``error`` text is the reason users read."""
    checks: list[pa.Check] = []
    if spec.type == "int":
        checks.append(pa.Check(is_whole, error=NOT_WHOLE))
    if spec.range is not None:
        checks.append(pa.Check.in_range(*spec.range, error=range_reason(spec)))
    if spec.type == "category":
        checks.append(pa.Check.isin(list(spec.values or ()), error=category_reason(spec)))
    if spec.name == ID_FIELD:  # pandera's unique=True counts two nulls as duplicates; null ids are fine
        checks.append(pa.Check(lambda s: ~s.duplicated(keep=False), error=DUPLICATE_ID))
    return checks


def _rule_check(rule: Rule) -> pa.Check:
    """A frame-level check of one cross-field rule; a frame without either column holds them as nulls.

    pandera reports a failing row of a frame-level check once per column; :func:`validate_cohort` keeps
    only ``rule.field``'s, so a broken rule reads like any field check: this field, this row, this reason.
    """

    def holds(frame: pd.DataFrame) -> pd.Series:
        if rule.field not in frame.columns or rule.other not in frame.columns:
            return pd.Series(True, index=frame.index)
        part, other = (rule_values(fields()[name], frame[name]) for name in (rule.field, rule.other))
        return pd.Series(~rule.broken(part, other), index=frame.index)

    return pa.Check(holds, error=rule.message, name=f"{rule.name}: {rule.field} against {rule.other}")


def _rule_cases_on_their_field(exc: SchemaErrors) -> None:
    """Drop the other columns pandera lists for a row that breaks a frame-level rule check."""
    cases = exc.failure_cases
    frame_level = cases["schema_context"].eq("DataFrameSchema") & cases["index"].notna()
    if not frame_level.any():
        return
    fields_of_checks = [rule.field for rule in all_rules()]
    # only frame-level cases are numbered by rule: a column's own failure (a null in a required field) has no
    # check number, or None, in the same table
    own_field = cases["check_number"].where(frame_level).map(
        lambda k: fields_of_checks[int(k)] if pd.notna(k) else None)
    exc.failure_cases = cases[~frame_level | cases["column"].eq(own_field)].reset_index(drop=True)


def _column(spec: FieldSpec, *, canonical: bool, nullable: bool, required: bool = True) -> pa.Column:
    dtype = spec.pandas_dtype() if canonical else PARSED_DTYPES[spec.type]
    return pa.Column(
        dtype,
        checks=_checks(spec),
        nullable=nullable,
        required=required,
        description=spec.description or None,
    )


@cache
def cohort_schema(*, require_label: bool = False, canonical: bool = True) -> pa.DataFrameSchema:
    """The cohort schema (module docstring); validate with ``lazy=True`` to collect every failure."""
    columns = {
        name: _column(spec, canonical=canonical, nullable=not spec.required) for name, spec in fields().items()
    }
    columns[LABEL] = _column(label_spec(), canonical=canonical, nullable=not require_label, required=require_label)
    return pa.DataFrameSchema(
        columns,
        checks=[_rule_check(rule) for rule in all_rules()],
        strict=True,
        name="cohort" if canonical else "cohort (parsed, before the canonical cast)",
        description="Patient records of the mmn-ddx data dictionary, one row per patient.",
    )


@cache
def _subschema(columns: tuple[str, ...], *, require_label: bool, canonical: bool) -> pa.DataFrameSchema:
    return cohort_schema(require_label=require_label, canonical=canonical).select_columns(list(columns))


def validate_cohort(
    frame: pd.DataFrame,
    *,
    require_label: bool = False,
    canonical: bool = True,
    only: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Validate a cohort frame, raising pandera's ``SchemaErrors`` listing every failure.

    ``only`` restricts validation to these columns (the importer skips fields absent from the file:
    they are all null, and pandera costs ~10 ms per column even on one row). Full validation is
    forced: PANDERA_VALIDATION_ENABLED / PANDERA_VALIDATION_DEPTH must never turn patient-data
    checks off silently.
    """
    if only is None:
        schema, checked = cohort_schema(require_label=require_label, canonical=canonical), frame
    else:
        schema, checked = _subschema(only, require_label=require_label, canonical=canonical), frame[list(only)]
    with config_context(validation_enabled=True, validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        try:
            schema.validate(checked, lazy=True)
        except SchemaErrors as exc:
            _rule_cases_on_their_field(exc)
            raise
    return frame
