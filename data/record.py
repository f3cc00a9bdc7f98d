"""Typed single-record model (pydantic) built from the contract's field table.

Used by the Python API and the HTTP API. Strict: unknown fields, wrong JSON types ("4" for a number,
"yes" for a boolean, 2.5 for a count), out-of-range numbers and unknown categories are rejected with
the field name; an integer is accepted where a float is expected, and a whole float where a count is
expected (the count rule, :data:`NOT_WHOLE`); the identifier, the categories and the diagnosis are read
without surrounding whitespace, as every cohort reader reads text (:func:`data.cells.strip_text`: ``" male"``
is male; ``"  "`` is an empty string, so refused for a category, as in a JSON cohort); nothing else is
converted. The data dictionary's cross-field rules (:func:`data.contract.all_rules`) are checked here too, so
the Python API and the HTTP API (which types its bodies with this model) reject the same records as the importer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from mmn_ddx.data.cells import strip_text
from mmn_ddx.data.contract import (
    DIAGNOSES,
    LABEL,
    FieldSpec,
    Rule,
    all_rules,
    category_reason,
    fields,
    label_spec,
    rule_value,
)

NOT_WHOLE = "not a whole number"
"""The count rule, the same at every entry point (importer, Python API, HTTP API, CLI): a count is a
whole number whatever its storage type. Spreadsheets and pandas store every number as a float, so 10.0
is the count 10; 10.5 is rejected with this reason, never truncated. The column form is
:func:`data.schema.is_whole`."""


def as_count(value: Any) -> Any:
    """A whole float as its int (10.0 -> 10); a fractional or non-finite float is rejected."""
    if isinstance(value, float):
        if not value.is_integer():
            raise PydanticCustomError("whole_number", NOT_WHOLE)
        return int(value)
    return value


_PYTHON_TYPES: dict[str, Any] = {"string": str, "float": float, "bool": bool}


def _stripped(annotation: Any) -> Any:
    """A text field's type, read without surrounding whitespace (the importer's rule); the JSON schema is the type's."""
    return Annotated[annotation, BeforeValidator(strip_text)]


def _count(spec: FieldSpec) -> Any:
    """A count field's type: an int within its range, a whole float accepted (JSON Schema: integer,
    which admits 10.0 too). The range sits in the type so that it stays on the integer branch."""
    bounds: dict[str, Any] = {} if spec.range is None else {"ge": int(spec.range[0]), "le": int(spec.range[1])}
    return Annotated[int, Field(**bounds), BeforeValidator(as_count)]


def _annotation(spec: FieldSpec) -> Any:
    base: Any
    if spec.type == "category":
        base = Literal[spec.values]
    else:
        base = _count(spec) if spec.type == "int" else _PYTHON_TYPES[spec.type]
    annotation = base if spec.required else base | None
    return _stripped(annotation) if spec.type in ("string", "category") else annotation


def _field(spec: FieldSpec) -> Any:
    bounds: dict[str, Any] = {}
    if spec.range is not None and spec.type != "int":
        bounds = {"ge": spec.range[0], "le": spec.range[1]}
    default = ... if spec.required else None
    if spec.type == "float":
        bounds["allow_inf_nan"] = False
    return Field(default, description=spec.description or None, **bounds)


def _rule_validator(field: str, rules: tuple[Rule, ...]) -> Any:
    """One validator of ``field`` checking every rule on it, in the dictionary's order (the first broken one is
    the field's error, as pydantic stops a field's validators at the first error). Each ``other`` field comes
    before ``field`` in the dictionary (pydantic validates fields in order, so it is then in ``info.data``):
    the error is located at ``field`` with the rule's message, as in the cohort schema."""
    own = fields()[field]
    others = tuple((rule, rule.other, fields()[rule.other]) for rule in rules)

    def check(cls: type, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return value
        data = info.data  # pydantic builds this dict of the fields so far on every access: once per field
        for rule, name, other in others:
            bound = data.get(name)  # absent when that field failed its own validation
            if bound is not None and rule.broken_by(rule_value(own, value), rule_value(other, bound)):
                raise PydanticCustomError("field_rule", rule.message)
        return value

    return field_validator(field)(check)


def _rules_by_field() -> dict[str, tuple[Rule, ...]]:
    by_field: dict[str, list[Rule]] = {}
    for rule in all_rules():
        by_field.setdefault(rule.field, []).append(rule)
    return {field: tuple(rules) for field, rules in by_field.items()}


class _StrictRecord(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    def to_dict(self) -> dict[str, Any]:
        """All contract fields, nulls included, in dictionary order: ``model_dump()``, read straight from the
        instance (every field is a plain JSON value with no serializer, so the two are equal; a test holds it)."""
        return dict(self.__dict__)


PatientRecord: type[_StrictRecord] = create_model(  # type: ignore[call-overload]
    "PatientRecord",
    __base__=_StrictRecord,
    __doc__="One patient at the diagnostic work-up (data dictionary).",
    __validators__={f"rules_{field}": _rule_validator(field, rules) for field, rules in _rules_by_field().items()},
    **{name: (_annotation(spec), _field(spec)) for name, spec in fields().items()},
)

LabelledPatientRecord: type[_StrictRecord] = create_model(  # type: ignore[call-overload]
    "LabelledPatientRecord",
    __base__=PatientRecord,
    **{LABEL: (_stripped(Literal[DIAGNOSES]), Field(..., description="Reference diagnosis."))},
)


def label_problem(label: Any) -> str | None:
    """Why a record's ``diagnosis`` is refused, or None when it is absent (null) or one of the diagnoses: the one
    rule of :func:`without_label` and of :data:`PatientRecordOptionalLabel` (a column of labels is checked by the
    cohort schema, in the same words: :func:`data.contract.category_reason`)."""
    return None if label is None or label in DIAGNOSES else category_reason(label_spec())


def without_label(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The record without its ``diagnosis``, which a prediction or a criteria verdict does not read; a label that
    is not a diagnosis is refused, not dropped unseen (a record's "XYZ" label is a mistake worth naming)."""
    record = dict(raw)
    problem = label_problem(strip_text(record.pop(LABEL, None)))
    if problem is not None:
        raise RecordError({LABEL: problem})
    return record


def _checked_label(label: Any) -> Any:
    label = strip_text(label)
    problem = label_problem(label)
    if problem is not None:
        raise PydanticCustomError("label", problem)
    return label


PatientRecordOptionalLabel: type[_StrictRecord] = create_model(  # type: ignore[call-overload]
    "PatientRecordOptionalLabel",
    __base__=PatientRecord,
    __doc__="One patient at the diagnostic work-up (data dictionary), with the reference diagnosis when known "
            "(checked, never read by a prediction): the record as the HTTP API takes it.",
    **{LABEL: (Annotated[Literal[DIAGNOSES] | None, BeforeValidator(_checked_label)],
               Field(None, description="Reference diagnosis, when known (e.g. a row of a labelled cohort): one of "
                     "the four when given; not read by the prediction."))},
)
"""A :data:`PatientRecord` that may carry a ``diagnosis``, as :func:`without_label` takes a record: a diagnosis is
accepted and ignored, anything else refused with :func:`label_problem`'s reason. ``to_dict()`` includes it; the
predictor drops it (``serving.records.validate_one``)."""


def validate_record(raw: dict[str, Any]) -> _StrictRecord:
    """Validate one record; raises :class:`RecordError` listing every bad field."""
    try:
        return PatientRecord.model_validate(raw)
    except ValidationError as exc:
        raise RecordError.from_validation_error(exc) from None


class RecordError(ValueError):
    """A record violates the contract; ``problems`` maps field name to reason."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems.items()))

    @classmethod
    def from_validation_error(cls, exc: ValidationError) -> RecordError:
        problems: dict[str, str] = {}
        for err in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(part) for part in err["loc"]) or "<record>"
            reason = "unknown field (not in the data dictionary)" if err["type"] == "extra_forbidden" else err["msg"]
            problems.setdefault(field, reason)
        return cls(problems)
