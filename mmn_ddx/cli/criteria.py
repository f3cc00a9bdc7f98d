"""``mmn-ddx criteria``: the published rule-based criteria for one record or a cohort file.

* one record (.json object): every criteria set with its elements, as pretty JSON on stdout - the same
  :class:`~features.criteria.CriteriaVerdict` objects serving returns;
* a cohort (.csv, .parquet, .xlsx, .jsonl, or a .json list): a summary table of verdict counts and the
  rule-based coverage (plus label agreement when the file has a ``diagnosis`` column).

``--reading strict|chart-review`` (default strict) chooses how the record is read (docs/criteria.md): strict
never counts an unknown; chart-review reads an unmentioned exclusion or supportive finding as absent and a
count without its denominator as the complete count. The summary shows both readings' coverage side by side.

``-o OUT`` writes one row per patient (row, patient_id, each set's verdict and the combined label under the
chosen reading, then ``rule_based_label_strict`` and ``rule_based_label_chart_review``) in the format of OUT's
extension. Invalid rows are listed (row, field, reason: never the value, which is patient data) and fail the
command unless ``--skip-invalid``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mmn_ddx.cli._common import err, fail, read_valid, refuse_overwriting
from mmn_ddx.data import (
    LABEL,
    WRITE_FORMATS,
    CohortError,
    RecordError,
    RecordRejected,
    read_record_json,
    single_record,
    to_canonical,
    without_label,
    write_table,
)
from mmn_ddx.features.criteria import (
    READINGS,
    VERDICT_COLUMNS,
    CriteriaVerdict,
    Reading,
    criteria_coverage,
    evaluate_criteria,
    evaluate_readings,
    explain_criteria,
    rule_based_coverage,
)


def _worded(verdict: CriteriaVerdict) -> dict[str, Any]:
    """A verdict as JSON, its cascade facts also worded among the notes (as a reader expects them)."""
    from mmn_ddx.serving import cascade_fact  # only for one record

    return verdict.model_dump(mode="json") | {"notes": [*verdict.notes, *map(cascade_fact, verdict.facts)]}


criteria_app = typer.Typer(add_completion=False, no_args_is_help=True)

_TITLES = {
    "mmn_efns2010": "EFNS/PNS 2010 MMN",
    "cidp_ean2021": "EAN/PNS 2021 CIDP",
    "cidp_variant": "EAN/PNS 2021 CIDP variant",
    "als_gold_coast": "Gold Coast 2020 ALS",
    "als_el_escorial_proxy": "revised El Escorial (proxy)",
    "rule_based_label": "rule-based cascade",
}


def _note(message: str) -> None:
    """A message on stderr, unwrapped (file paths and field names must stay searchable)."""
    err.print(Text(message), soft_wrap=True)


def _load_json(path: Path) -> dict[str, Any] | None:
    """The record of a one-patient .json file, None for a .json list (a cohort)."""
    try:
        return single_record(path)
    except RecordRejected as exc:
        raise fail(f"{path.name}: {exc}") from None


def _one_record(raw: dict[str, Any]) -> pd.DataFrame:
    try:
        record = read_record_json(without_label(raw))  # a verdict does not read the reference diagnosis
    except RecordError as exc:
        problems = "\n".join(f"  {field}: {reason}" for field, reason in exc.problems.items())
        raise fail(f"invalid record:\n{problems}") from None
    return to_canonical(pd.DataFrame([record], index=pd.RangeIndex(1, 2)))


def _cohort(path: Path, skip_invalid: bool) -> pd.DataFrame:
    return read_valid(path, skip_invalid=skip_invalid, purpose="evaluating", show_values=False, console=err).frame


def label_column(reading: Reading) -> str:
    """The output column holding the rule-based label under ``reading``."""
    return f"rule_based_label_{reading.replace('-', '_')}"


def _verdicts(frame: pd.DataFrame, reading: Reading) -> pd.DataFrame:
    """The chosen reading's verdict columns, then the rule-based label under every reading, side by side."""
    labels = {r: ev.labels for r, ev in evaluate_readings(frame).items()}
    verdicts = evaluate_criteria(frame, reading)
    for other in READINGS:
        verdicts[label_column(other)] = pd.Categorical(labels[other], categories=VERDICT_COLUMNS["rule_based_label"])
    return verdicts


def _summary(verdicts: pd.DataFrame, diagnosis: pd.Series | None, source: str, reading: Reading) -> None:
    console = Console()
    coverage = criteria_coverage(verdicts)
    table = Table(title=f"Rule-based criteria: {len(verdicts)} patients ({source}; {reading} reading)")
    for name in ("criteria", "verdict", "n", "%"):
        table.add_column(name, justify="right" if name in ("n", "%") else "left")
    for column in VERDICT_COLUMNS:
        rows = coverage[coverage["criteria"] == column]
        for i, row in enumerate(rows.itertuples()):
            table.add_row(_TITLES[column] if i == 0 else "", row.verdict, str(row.n), f"{100 * row.fraction:.1f}")
        table.add_section()
    console.print(table)
    for other in READINGS:
        by_reading = verdicts.assign(rule_based_label=verdicts[label_column(other)])
        console.print(f"Rule-based coverage (one of the four labels), {other} reading: "
                      f"{100 * rule_based_coverage(by_reading):.1f}%")
    if diagnosis is not None and diagnosis.notna().any():
        crosstab = pd.crosstab(diagnosis.rename("diagnosis"), verdicts["rule_based_label"], dropna=False)
        agreement = Table(title=f"Reference diagnosis (rows) x rule-based label (columns), {reading} reading")
        agreement.add_column("diagnosis")
        for label in crosstab.columns:
            agreement.add_column(str(label), justify="right")
        for label, counts in crosstab.iterrows():
            agreement.add_row(str(label), *(str(int(v)) for v in counts))
        console.print(agreement)


def _write(verdicts: pd.DataFrame, out: Path) -> None:
    table = verdicts.reset_index(names="row")
    try:
        written = write_table(table, out)
    except CohortError as exc:
        raise fail(str(exc)) from None
    _note(f"wrote {len(table)} row(s) to {written}")


@criteria_app.command("criteria")
def criteria(
    file: Annotated[Path, typer.Argument(help="One record (.json object) or a cohort (.csv/.parquet/.xlsx/.jsonl).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help=f"Write one row per patient ({', '.join(WRITE_FORMATS)})."),
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Evaluate the valid rows of a cohort instead of failing.")
    ] = False,
    reading: Annotated[
        Reading,
        typer.Option("--reading",
                     help="strict: an unknown never counts; chart-review: an unmentioned exclusion or supportive "
                          "finding is absent, a count without its denominator is complete."),
    ] = "strict",
) -> None:
    """EFNS/PNS 2010 MMN, EAN/PNS 2021 CIDP and Gold Coast 2020 ALS criteria, and the rule-based cascade.

    Read strictly (the default), missing findings make an element "not assessable", never "not met";
    chart review reads an unmentioned exclusion or supportive finding as absent, and still lists it among
    the missing fields that could change the verdict (up or down; the same fields as strict). Not for
    clinical use.
    """
    if out is not None and out.suffix.lower() not in WRITE_FORMATS:
        raise fail(f"{out.name}: cannot write '{out.suffix}' (use {', '.join(WRITE_FORMATS)})")
    refuse_overwriting(out, "--out", file)
    try:
        raw = _load_json(file) if file.suffix.lower() == ".json" and file.is_file() else None
        if isinstance(raw, dict):
            frame = _one_record(raw)
            typer.echo(json.dumps([_worded(v) for v in explain_criteria(frame, reading)], indent=2))
            verdicts = _verdicts(frame, reading)
        else:
            frame = _cohort(file, skip_invalid)
            verdicts = _verdicts(frame, reading)
            _summary(verdicts, frame[LABEL] if LABEL in frame.columns else None, file.name, reading)
    except CohortError as exc:
        raise fail(str(exc)) from None
    if out is not None:
        _write(verdicts, out)
