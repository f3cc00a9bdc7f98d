"""EAN/PNS 2021 CIDP: electrodiagnostic and supportive criteria (criteria.md §2.2-2.4).

Van den Bergh PYK et al. Eur J Neurol 2021;28:3556-3583. Registered on
:data:`features.criteria.cidp_ean2021.CIDP_EAN2021`, whose module combines them with the clinical
criteria into CIDP / possible CIDP.

Counts of nerves come from the nerve conduction fields; a count below the threshold refutes an element
only when nerves were studied (criteria.md §0.1). Strongly supportive = two nerves, weakly = one.
"""

from __future__ import annotations

from collections.abc import Callable

from mmn_ddx.features.criteria import thresholds as T
from mmn_ddx.features.criteria._derived import (
    IMMUNOTHERAPY_FIELDS,
    STATED_CSF_FIELDS,
    csf_protein_raised,
    immunotherapy_improved,
)
from mmn_ddx.features.criteria._logic import Columns, Tri, any_of, true_or_unknown
from mmn_ddx.features.criteria._registry import Element, ElementFn
from mmn_ddx.features.criteria._stated import (
    BLOCK_FIELDS,
    PATTERN_DEMYELINATING,
    PATTERN_FIELDS,
    PATTERN_NOT_DEMYELINATING,
    SENSORY_FIELDS,
    block_stated,
    category_in,
    chart_review_only,
    count_at_least,
    demyelinating_pattern,
    numbers_first,
    refutes,
    stated,
    ungraded_block,
)
from mmn_ddx.features.criteria.cidp_ean2021 import CIDP_EAN2021

_element = CIDP_EAN2021.element
_MOTOR = "motor_nerves_studied"
_SENSORY = "sensory_nerves_studied"
_PARAMETER_FIELDS = (
    "nerves_dml_prolonged",
    "nerves_cv_slowed",
    "nerves_fwave_prolonged",
    "nerves_cidp_cb",
    "nerves_temporal_dispersion",
)


# --- motor conduction criteria (a)-(f); (g) is not recorded ---------------------------------------------------
def _raw_count(c: Columns, field: str, k: int) -> Tri:
    return count_at_least(c, field, k, _MOTOR)


def _count(c: Columns, field: str, k: int) -> Tri:
    """A count, else "no demyelinating motor nerve" when motor conduction is stated normal or axonal."""
    return numbers_first(_raw_count(c, field, k), _not_demyelinating(c))


def _not_demyelinating(c: Columns) -> Tri:
    """``motor_ncs_pattern`` normal or axonal: no motor nerve met a demyelinating criterion (both readings).
    Read once per read of the columns (every motor count falls back on it)."""
    return c.cached("not-demyelinating",
                    lambda: refutes(category_in(c, "motor_ncs_pattern", PATTERN_NOT_DEMYELINATING)))


def _other_parameter(c: Columns, exclude: str) -> Tri:
    return any_of(*(_count(c, f, 1) for f in _PARAMETER_FIELDS if f != exclude))


def _motor(reference: str, description: str, *used: str) -> Callable[[ElementFn], Element]:
    return _element(reference, description, fields=(*used, _MOTOR, *PATTERN_FIELDS), role="electrodiagnostic")


def _stated_pattern(c: Columns, yes: tuple[str, ...], no: tuple[str, ...]) -> Tri:
    """``motor_ncs_pattern`` in ``yes``: met in chart review, undecided in strict; in ``no``: not met."""
    return chart_review_only(c, stated(c, "motor_ncs_pattern", yes, no))


def _block(c: Columns, k: int) -> Tri:
    """(e) conduction block in ``k`` nerves: the count, else a block stated without count or grade
    (:func:`features.criteria._stated.ungraded_block`: in chart review a stated block meets the guideline's
    definition in each nerve stated), else an axonal or normal summary."""
    return numbers_first(_raw_count(c, "nerves_cidp_cb", k), numbers_first(ungraded_block(c, k), _not_demyelinating(c)))


@_motor("motor (a)", "Distal motor latency prolonged in >= 2 nerves", "nerves_dml_prolonged")
def a_dml_two_nerves(c: Columns) -> Tri:
    """(a) distal motor latency >= 50% above ULN in two nerves (carpal tunnel excluded)."""
    return _count(c, "nerves_dml_prolonged", T.CIDP_STRONG_NERVES)


@_motor("motor (a)", "Distal motor latency prolonged in 1 nerve", "nerves_dml_prolonged")
def a_dml_one_nerve(c: Columns) -> Tri:
    """(a), weakly supportive: one nerve."""
    return _count(c, "nerves_dml_prolonged", T.CIDP_WEAK_NERVES)


@_motor("motor (b)", "Motor conduction velocity slowed in >= 2 nerves", "nerves_cv_slowed")
def b_cv_two_nerves(c: Columns) -> Tri:
    """(b) motor conduction velocity >= 30% below LLN in two nerves."""
    return _count(c, "nerves_cv_slowed", T.CIDP_STRONG_NERVES)


@_motor("motor (b)", "Motor conduction velocity slowed in 1 nerve", "nerves_cv_slowed")
def b_cv_one_nerve(c: Columns) -> Tri:
    """(b), weakly supportive: one nerve."""
    return _count(c, "nerves_cv_slowed", T.CIDP_WEAK_NERVES)


@_motor("motor (c)", "F-wave latency prolonged in >= 2 nerves", "nerves_fwave_prolonged")
def c_fwave_latency_two_nerves(c: Columns) -> Tri:
    """(c) F-wave latency >= 20% above ULN (>= 50% if distal CMAP < 80% LLN) in two nerves."""
    return _count(c, "nerves_fwave_prolonged", T.CIDP_STRONG_NERVES)


@_motor("motor (c)", "F-wave latency prolonged in 1 nerve", "nerves_fwave_prolonged")
def c_fwave_latency_one_nerve(c: Columns) -> Tri:
    """(c), weakly supportive: one nerve."""
    return _count(c, "nerves_fwave_prolonged", T.CIDP_WEAK_NERVES)


@_motor(
    "motor (d)",
    "F-waves absent in >= 2 nerves plus another parameter in another nerve",
    "nerves_fwave_absent",
    "nerves_any_demyelinating",
    *_PARAMETER_FIELDS,
)
def d_fwave_absent_two_nerves_plus_other(c: Columns) -> Tri:
    """(d) absent F-waves in two nerves plus >= 1 other demyelinating parameter in >= 1 other nerve. Exact
    on counts: a third distinct abnormal nerve without F-wave absence must carry another parameter."""
    return (
        _count(c, "nerves_fwave_absent", T.CIDP_STRONG_NERVES)
        & _other_parameter(c, exclude="")
        & _count(c, "nerves_any_demyelinating", T.CIDP_STRONG_NERVES + 1)
    )


@_motor("motor (e)", "Conduction block in >= 2 nerves", "nerves_cidp_cb", *BLOCK_FIELDS)
def e_cb_two_nerves(c: Columns) -> Tri:
    """(e) motor conduction block (>= 30% amplitude reduction, tibial excluded) in two nerves."""
    return _block(c, T.CIDP_STRONG_NERVES)


@_motor(
    "motor (e)",
    "Conduction block in 1 nerve plus another parameter (not F absence) in another nerve",
    "nerves_any_demyelinating",
    *_PARAMETER_FIELDS,
    *BLOCK_FIELDS,
)
def e_cb_one_nerve_plus_other(c: Columns) -> Tri:
    """(e) CB in one nerve plus >= 1 other demyelinating parameter, except F-wave absence, in >= 1 other
    nerve (approximation: the other parameter might sit in the blocked nerve)."""
    return (
        _block(c, T.CIDP_WEAK_NERVES)
        & _other_parameter(c, exclude="nerves_cidp_cb")
        & _count(c, "nerves_any_demyelinating", T.CIDP_STRONG_NERVES)
    )


@_motor("motor (e)", "Conduction block in 1 nerve", "nerves_cidp_cb", *BLOCK_FIELDS)
def e_cb_one_nerve(c: Columns) -> Tri:
    """(e), weakly supportive: one nerve."""
    return _block(c, T.CIDP_WEAK_NERVES)


@_motor("motor (f)", "Abnormal temporal dispersion in >= 2 nerves", "nerves_temporal_dispersion")
def f_temporal_dispersion_two_nerves(c: Columns) -> Tri:
    """(f) abnormal temporal dispersion in at least two nerves."""
    return _count(c, "nerves_temporal_dispersion", T.CIDP_STRONG_NERVES)


@_motor("motor (f)", "Abnormal temporal dispersion in 1 nerve", "nerves_temporal_dispersion")
def f_temporal_dispersion_one_nerve(c: Columns) -> Tri:
    """(f), weakly supportive: one nerve."""
    return _count(c, "nerves_temporal_dispersion", T.CIDP_WEAK_NERVES)


@_element("motor (stated)", "Motor conduction stated demyelinating (chart review: strongly supportive)",
          fields=PATTERN_FIELDS, role="electrodiagnostic")
def motor_stated_demyelinating(c: Columns) -> Tri:
    """A "demyelinating" motor conduction summary without per-nerve counts. Chart review reads it as the
    strongly supportive motor criteria met, as validation studies scored reports ("demyelinating
    polyneuropathy" = demyelinating features in several nerves); strict leaves it undecided (the counts
    decide (a)-(f)). The categories read it only where the counts leave (a)-(f) undecided; "mixed" leaves
    it open, "normal" or "axonal" refute it."""
    return _stated_pattern(c, ("demyelinating",), PATTERN_NOT_DEMYELINATING)


@_element("motor (stated)", "Motor conduction stated demyelinating or mixed (chart review: weakly supportive)",
          fields=PATTERN_FIELDS, role="electrodiagnostic")
def motor_stated_demyelinating_features(c: Columns) -> Tri:
    """A "demyelinating" or "mixed" (axonal and demyelinating) summary: demyelinating features in one nerve
    at least, weakly supportive in chart review; undecided in the strict reading."""
    return _stated_pattern(c, PATTERN_DEMYELINATING, PATTERN_NOT_DEMYELINATING)


@_motor("sensory variant", "No motor nerve with a demyelinating abnormality", "nerves_any_demyelinating",
        *BLOCK_FIELDS)
def motor_conduction_normal(c: Columns) -> Tri:
    """Sensory CIDP: normal motor conduction (no nerve with any demyelinating motor parameter): the count,
    else the summary (normal or axonal; demyelinating, mixed or a stated block refute it)."""
    stated_abnormal = true_or_unknown(demyelinating_pattern(c)) | true_or_unknown(block_stated(c))
    words = refutes(stated_abnormal).otherwise(~_not_demyelinating(c))  # normal or axonal, unless stated abnormal
    return numbers_first(~_raw_count(c, "nerves_any_demyelinating", 1), words)


# --- sensory conduction ---------------------------------------------------------------------------------------
@_element(
    "sensory", "Sensory conduction abnormal in >= 2 nerves",
    fields=("sensory_nerves_abnormal", _SENSORY, *SENSORY_FIELDS), role="electrodiagnostic",
)
def sensory_abnormal_two_nerves(c: Columns) -> Tri:
    """Sensory conduction abnormalities in two nerves (CIDP and possible CIDP, criteria.md §2.6). Without
    the count: "sensory conduction normal" refutes it (both readings); "abnormal" meets it in chart review
    (a report's summary of the sensory studies, as validation studies scored it), undecided in strict."""
    words = chart_review_only(c, stated(c, "sensory_ncs", ("abnormal",), ("normal",)))
    return numbers_first(count_at_least(c, "sensory_nerves_abnormal", T.CIDP_SENSORY_ABNORMAL_NERVES, _SENSORY),
                         words)


@_element(
    "sensory (motor variant)", "Normal sensory conduction in >= 4 nerves",
    fields=("sensory_nerves_abnormal", _SENSORY, *SENSORY_FIELDS), role="electrodiagnostic",
)
def sensory_normal_four_nerves(c: Columns) -> Tri:
    """Motor CIDP: normal sensory conduction in four nerves; "sensory conduction abnormal" refutes it, while
    "normal" without the number of nerves leaves the four open (both readings)."""
    studied = c.num(_SENSORY, ">=", T.CIDP_MOTOR_VARIANT_NORMAL_SENSORY_NERVES)
    counts = studied & ~count_at_least(c, "sensory_nerves_abnormal", 1, _SENSORY)
    return numbers_first(counts, refutes(c.isin("sensory_ncs", ("abnormal",))))


# --- supportive criteria -----------------------------------------------------------------------------------------
@_element(
    "supportive",
    "CSF protein raised (age-adjusted) with < 10 cells/uL",
    fields=(*STATED_CSF_FIELDS, "csf_cells_per_ul"),
    role="supportive",
)
def supportive_csf(c: Columns) -> Tri:
    """CSF protein above the age-appropriate limit (or stated raised) with leucocytes < 10/uL. Chart review
    reads an unrecorded cell count as < 10 when the protein is raised: a pleocytosis is an exclusion a
    report would state (its absence is what "albuminocytological dissociation" says)."""
    cells = c.num("csf_cells_per_ul", "<", T.CSF_CELLS_BELOW_PER_UL)
    cells = c.reading_dependent(cells, cells.unknown_as(True))  # chart review: unrecorded is < 10
    return csf_protein_raised(c) & cells


@_element("supportive", "Nerve ultrasound enlargement", fields=("ultrasound_nerve_enlarged",), role="supportive")
def supportive_ultrasound(c: Columns) -> Tri:
    """Nerve ultrasound: enlargement of proximal median nerve segments and/or the brachial plexus."""
    return c.flag("ultrasound_nerve_enlarged")


@_element("supportive", "Plexus/root MRI abnormal", fields=("mri_plexus_abnormal",), role="supportive")
def supportive_mri(c: Columns) -> Tri:
    """MRI: nerve-root or plexus hypertrophy and/or increased T2 signal."""
    return c.flag("mri_plexus_abnormal")


@_element("supportive", "Objective improvement after immunotherapy", fields=IMMUNOTHERAPY_FIELDS, role="supportive")
def supportive_immunotherapy_response(c: Columns) -> Tri:
    """Objective clinical improvement following immunotherapy (IVIg or corticosteroids)."""
    return immunotherapy_improved(c)
