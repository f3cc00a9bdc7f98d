"""``mmn-ddx predict``: an explained prediction for one patient, or a scored table for a cohort file.

    mmn-ddx predict patient.json                  # Rich view: bars, set, findings, criteria, next test
    mmn-ddx predict patient.json --json           # the PredictionResult as JSON
    mmn-ddx predict cohort.csv -o scored.parquet  # one row per patient, its input's data row first as 'row'
                                                  # (.csv, .parquet, .jsonl)
    mmn-ddx predict cohort.parquet -o scored/ --engine spark [--spark-master local[2]]
                                                  # on Spark: a Parquet directory, 'row' first too
                                                  # (pip install mmn-ddx[spark])

Exit codes: 0 = success; 1 = invalid input (nothing written unless ``--skip-invalid``), no model, or an
unreadable file; 2 = wrong usage (Typer). Invalid rows are reported as row, field and reason - never the
value - and a batch with invalid rows writes nothing unless ``--skip-invalid`` is given.

With ``-o`` the file is read, scored and written chunk by chunk (flat memory), to a temporary file that
becomes OUT only when every row was read: an invalid row found late still leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.table import Table

from mmn_ddx.cli._common import WARNINGS_TITLE, err, fail, file_progress, out, refuse_overwriting, rejection_table
from mmn_ddx.data import ID_FIELD, ROW, WRITE_FORMATS, RecordError
from mmn_ddx.training.artifact import DEFAULT_SETTING, Setting

if TYPE_CHECKING:  # the model stack takes seconds to import: only the predict command loads it
    import pandas as pd

    from mmn_ddx.data import ImportResult
    from mmn_ddx.serving import Predictor
    from mmn_ddx.training.artifact import InputError

predict_app = typer.Typer(add_completion=False, no_args_is_help=True,
                          help="Explained predictions: one patient (.json) or a cohort file.")
class Engine(enum.StrEnum):
    """Where a batch is scored: in this process, or on Spark (:mod:`serving.spark`)."""

    local = "local"
    spark = "spark"


_DEFAULT_SETTING = Setting(DEFAULT_SETTING)
CHUNK = 2000
"""Patients per vectorised batch: progress granularity without losing the batch speed-up."""
SHOWN_PROBLEMS = 20
BATCH_THREADS = max(1, min(2, os.cpu_count() or 1))
"""A batch uses the machine (the target has 2 cores); one patient runs single-threaded (see limit_threads)."""


READ_CHUNK = 20_000
"""Rows read and validated at a time with ``-o`` (memory stays flat whatever the file size)."""


@predict_app.command("predict")
def predict(
    file: Annotated[Path, typer.Argument(
        help="patient.json (one record) or a cohort: .csv, .parquet, .jsonl, .xlsx, .json list.")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help=f"Batch output table ({', '.join(WRITE_FORMATS)}).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the PredictionResult JSON (batch: JSON Lines).")] = False,
    model: Annotated[str | None, typer.Option(
        "--model", help="MLflow model URI or model directory (default: the champion).")] = None,
    mode: Annotated[str | None, typer.Option(
        "--mode", help="Model mode: at-presentation (default) or with-treatment.")] = None,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Batch: skip invalid rows (reported) instead of failing.")] = False,
    next_test: Annotated[bool, typer.Option(
        "--next-test/--no-next-test", help="Batch: add the next most informative test (slower).")] = False,
    engine: Annotated[Engine, typer.Option(
        "--engine",
        help="Batch: score in this process, or on Spark (a .parquet cohort to a Parquet directory).")] = Engine.local,
    spark_master: Annotated[str | None, typer.Option(
        "--spark-master",
        help="Spark master URL for --engine spark (default local[2]; e.g. spark://host:7077).")] = None,
    setting: Annotated[Setting, typer.Option(
        "--setting", help="Clinical setting whose pre-test probabilities the probabilities are for (the generator's "
        "class-prior presets; the default is the intended-use population).")] = _DEFAULT_SETTING,
) -> None:
    """Predict MMN / MND / CIDP / MADSAM with explanations. Research software: not for clinical use."""
    from mmn_ddx.features import MODES
    from mmn_ddx.serving import ModelNotFoundError, Predictor

    if mode is not None and mode not in MODES:
        raise fail(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not file.is_file():
        raise fail(f"{file}: no such file")
    refuse_overwriting(output, "--output", file)
    if engine is Engine.spark:
        _predict_spark(file, output, model=model, mode=mode, master=spark_master, setting=setting.value, options={
            "--json": as_json, "--skip-invalid": skip_invalid, "--next-test": next_test})
        return
    single = _single_record(file)
    if output is not None and output.suffix.lower() not in WRITE_FORMATS:
        raise fail(f"{output.name}: cannot write '{output.suffix}' (use {', '.join(WRITE_FORMATS)})")
    @functools.cache
    def load() -> Predictor:
        try:
            return Predictor.load(model, mode, threads=1 if single is not None else BATCH_THREADS)
        except (ModelNotFoundError, ValueError, OSError) as exc:
            raise fail(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - a corrupt bundle fails in many libraries: one readable message
            raise fail(f"could not load the model ({type(exc).__name__}); re-export it, or pass another "
                       "--model") from None

    if single is not None:
        _predict_one(load(), single, as_json, setting.value)
    else:  # the model loads when the first valid rows are there: a bad file fails at once
        _predict_batch(load, file, output, as_json=as_json, skip_invalid=skip_invalid, next_test=next_test,
                       setting=setting.value)


def _predict_spark(file: Path, output: Path | None, *, model: str | None, mode: str | None, master: str | None,
                   setting: str, options: dict[str, bool]) -> None:
    """Score a Parquet cohort on Spark (:mod:`serving.spark`): MLflow's ``spark_udf`` over the model."""
    from mmn_ddx.serving import ModelNotFoundError, Predictor
    from mmn_ddx.training.artifact import InputError

    unsupported = [name for name, given in options.items() if given]
    if unsupported:
        raise fail(f"--engine spark does not support {', '.join(unsupported)}")
    if output is None or output.suffix:
        raise fail("--engine spark writes a Parquet directory: give -o DIR (without a suffix)")
    if output.exists():
        raise fail(f"{output}: already exists (Spark does not overwrite)")
    try:
        from mmn_ddx.serving import DEFAULT_MASTER, SparkUnavailableError, score_file
    except ImportError as exc:
        raise fail(f"the Spark engine needs the spark extra: pip install 'mmn-ddx[spark]' ({exc})") from None
    try:  # resolved as for the local engine (champion, else the export), and its mode checked
        uri = Predictor.load(model, mode).uri
    except (ModelNotFoundError, ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    master = master or DEFAULT_MASTER
    try:
        n = score_file(file, output, uri, master=master, setting=setting)
    except InputError as exc:
        _spark_rejections(file, exc)
    except (SparkUnavailableError, ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    err.print(f"Scored {n} patients on Spark ({master}) -> {output}/ ({_setting_line(setting)})")
    from mmn_ddx.serving import NOT_FOR_CLINICAL_USE

    err.print(NOT_FOR_CLINICAL_USE, style="bold red")


def _spark_rejections(file: Path, refused: InputError) -> NoReturn:
    """A row refused on Spark, named as without Spark: a worker counts rows within its batch, so the file is
    read as the default engine reads it and its invalid rows are listed by file row, field and reason. The
    worker's own message is the answer only when that reading accepts every row."""
    from mmn_ddx.data import CohortError, iter_cohort

    problems = _Problems()
    try:
        with file_progress(f"Listing the invalid rows of {file.name}") as advance:
            for chunk in iter_cohort(file, chunk_rows=READ_CHUNK):
                problems.add(chunk)
                advance(chunk)
    except CohortError as exc:
        raise fail(str(exc)) from None
    problems.finish(file, skip_invalid=False,
                    remedy="score the valid ones with --skip-invalid and without --engine spark")
    raise fail(str(refused))


def _single_record(file: Path) -> dict | None:
    """The raw record of a one-patient .json file, or None for a cohort file (a .json list included)."""
    from mmn_ddx.data import CohortError, RecordRejected, single_record

    if file.suffix.lower() != ".json":
        return None
    try:
        return single_record(file)
    except CohortError as exc:
        raise fail(str(exc)) from None
    except RecordRejected as exc:
        raise fail(f"{file.name}: {exc}") from None


def _setting_line(setting: str) -> str:
    """e.g. "setting 'referral': pre-test MMN 15 %, MND 70 %, CIDP 5 %, MADSAM 10 %"."""
    from mmn_ddx.serving.wording.setting import percentages
    from mmn_ddx.training.artifact import pre_test_probabilities

    return f"setting '{setting}': pre-test {percentages(pre_test_probabilities(setting))}"


def _predict_one(predictor: Predictor, raw: dict, as_json: bool, setting: str) -> None:
    from mmn_ddx.serving import render

    try:
        result = predictor.predict(raw, setting=setting)
    except RecordError as exc:
        _print_problems({1: exc.problems}, title="Invalid record")
        raise typer.Exit(code=1) from None
    if as_json:
        out.print_json(result.model_dump_json())
    else:
        out.print(render(result))


def _predict_batch(load: Callable[[], Predictor], file: Path, output: Path | None, *, as_json: bool, skip_invalid: bool,
                   next_test: bool, setting: str) -> None:
    from mmn_ddx.data import CohortError, TableWriter, iter_cohort

    # stdout cannot be taken back: without -o the whole file is checked before anything is printed
    problems = _Problems()
    scored: list[pd.DataFrame] = []
    n_scored = 0
    try:
        with contextlib.ExitStack() as stack:
            writer = None if output is None else stack.enter_context(TableWriter(output))
            advance = stack.enter_context(file_progress(f"Scoring {file.name}"))
            for chunk in iter_cohort(file, chunk_rows=READ_CHUNK if output is not None else None):
                valid = problems.add(chunk)
                advance(chunk)
                if (problems.rows and not skip_invalid) or valid.empty:
                    continue  # nothing will be written: read on only to list every invalid row
                n_scored += len(valid)
                table = _score_chunks(load(), valid, print_json=as_json and writer is None,
                                      make_table=writer is not None or not as_json, next_test=next_test,
                                      setting=setting)
                if table is not None and writer is not None:  # the row number matches a row to its input line
                    writer.write(table.reset_index(names=ROW))
                elif table is not None:
                    scored.append(table)
            problems.finish(file, skip_invalid=skip_invalid)
            if n_scored == 0:
                raise fail("no valid rows to score")
    except CohortError as exc:
        raise fail(str(exc)) from None
    if output is not None:
        err.print(f"Scored {n_scored} patients -> {output} ({_setting_line(setting)})")
    elif scored:
        import pandas as pd

        _print_table(pd.concat(scored), setting)


class _Problems:
    """Invalid rows over the chunks (the importer's rejections, the dictionary's cross-field rules included), and
    the accepted cells to check (an Excel formula whose stored result was used), as ``cohort validate`` shows them."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, str]] = {}
        self.warnings: list[pd.DataFrame] = []
        self.n_warnings = 0

    def add(self, chunk: ImportResult) -> pd.DataFrame:
        """The chunk's rows that can be scored."""
        found = _rejections(chunk.rejections)
        self.rows.update(found)
        if len(chunk.warnings):
            kept = sum(map(len, self.warnings))
            self.warnings.append(chunk.warnings.head(max(0, SHOWN_PROBLEMS - kept)))
            self.n_warnings += len(chunk.warnings)
        return chunk.valid.drop(index=[r for r in found if r in chunk.valid.index])

    def finish(self, file: Path, *, skip_invalid: bool, remedy: str = "pass --skip-invalid to score the valid ones"
               ) -> None:
        self._report_warnings()
        if not self.rows:
            return
        _print_problems(self.rows, title=f"{file.name}: {len(self.rows)} invalid row(s)")
        if not skip_invalid:
            raise fail(f"nothing written; fix the rows or {remedy}")
        err.print(f"[yellow]Skipping {len(self.rows)} invalid row(s).[/]")

    def _report_warnings(self) -> None:
        """Row, field and reason of the first warnings: never the value, which is patient data."""
        if not self.n_warnings:
            return
        import pandas as pd

        err.print(rejection_table(pd.concat(self.warnings), title=WARNINGS_TITLE, show_values=False,
                                  limit=SHOWN_PROBLEMS))
        if self.n_warnings > SHOWN_PROBLEMS:
            err.print(f"... {self.n_warnings - SHOWN_PROBLEMS} more warnings (run 'mmn-ddx cohort validate').",
                      markup=False)


def _score_chunks(predictor: Predictor, valid: pd.DataFrame, *, print_json: bool, make_table: bool,
                  next_test: bool, setting: str) -> pd.DataFrame | None:
    """Score in vectorised batches of :data:`CHUNK`; JSON Lines are printed as they come."""
    import pandas as pd

    from mmn_ddx.serving import BatchRecordError, score_table

    parts = []
    for start in range(0, len(valid), CHUNK):
        chunk = valid.iloc[start:start + CHUNK]
        try:
            if print_json:
                for result in predictor.predict_many(chunk, setting=setting):
                    out.print(result.model_dump_json(), soft_wrap=True, markup=False, highlight=False)
            if make_table:
                parts.append(score_table(predictor, chunk, with_next_test=next_test, setting=setting))
        except BatchRecordError as exc:
            _print_problems(exc.rows, title="Invalid rows")
            raise typer.Exit(code=1) from None
        except RecordError as exc:
            raise fail("; ".join(f"{field}: {reason}" for field, reason in exc.problems.items())) from None
    return pd.concat(parts) if parts else None


def _rejections(rejections: pd.DataFrame) -> dict[int, dict[str, str]]:
    problems: dict[int, dict[str, str]] = {}
    for row, field, reason in zip(rejections["row"], rejections["field"], rejections["reason"], strict=True):
        problems.setdefault(int(row), {}).setdefault(str(field), str(reason))
    return problems


def _print_problems(problems: dict[int, dict[str, str]], *, title: str) -> None:
    """Row, field and reason of every problem (first few): never the value, which is patient data."""
    table = Table("row", "field", "reason", title=title, title_justify="left")
    shown = 0
    for row in sorted(problems):
        for field, reason in problems[row].items():
            if shown < SHOWN_PROBLEMS:
                table.add_row(str(row), field, reason)
            shown += 1
    err.print(table, markup=False)
    if shown > SHOWN_PROBLEMS:
        err.print(f"... {shown - SHOWN_PROBLEMS} more problems (run 'mmn-ddx cohort validate --report FILE').")


def _print_table(table: pd.DataFrame, setting: str) -> None:
    """A terminal summary of a scored batch (the file written with -o holds every column)."""
    from mmn_ddx.serving import NOT_FOR_CLINICAL_USE, SYNTHETIC_CODE

    view = Table(ID_FIELD, "predicted", "p", "set", "criteria", "warnings", title_justify="left",
                 title=f"Predictions ({_setting_line(setting)})",
                 caption="The prediction set is computed from the training population's probabilities.")
    for row in table.itertuples(index=False):
        p = getattr(row, f"p_{row.predicted_diagnosis}")
        shown = [w for w in str(row.warnings).split(";") if w and w != SYNTHETIC_CODE]  # the notice says it once
        view.add_row(str(getattr(row, ID_FIELD) or "-"), row.predicted_diagnosis, f"{100 * p:.0f} %",
                     row.prediction_set, f"{row.criteria_label} (chart review: {row.criteria_label_chart_review})",
                     ", ".join(shown))
    out.print(view)
    out.print(NOT_FOR_CLINICAL_USE, style="bold red")
