"""Score a cohort on Spark with MLflow's own ``spark_udf`` over the exported model.

    mmn-ddx predict cohort.parquet -o scored/ --engine spark [--spark-master local[2]]

or, in a Spark job of your own::

    udf = prediction_udf(spark, "models:/mmn-ddx@champion")  # resolved in the CLI's tracking store
    scored = score(cohort, udf)                                # typed as the model signature, then scored

The UDF is ``mlflow.pyfunc.spark_udf`` with ``env_manager="local"`` (the workers use the driver's
Python environment, which has ``mmn-ddx`` installed) and an explicit struct result type built from the
model's own output columns (:data:`training.artifact.pyfunc.OUTPUT_TYPES`), so every column - the
probability of each diagnosis, the predicted diagnosis, the prediction set, the top findings with their
contributions, the rule-based criteria label, the warning codes and the out-of-distribution reasons -
arrives typed. The pyfunc is loaded once per Python worker and scores each Arrow batch vectorised. In front
of them, ``row`` is the input file's data row, as the in-process ``predict -o`` numbers it (:data:`data.ROW`).
The pyfunc refuses a bad row naming its row *within the batch* (and its ``patient_id``); ``predict`` then
names the file's rows itself, by reading the file as without Spark.

pyspark is an optional extra (``pip install mmn-ddx[spark]``, plus a Java 17 runtime): this module is
imported only by ``--engine spark`` and imports pyspark and MLflow inside its functions.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mmn_ddx.data import ID_FIELD, LABEL, ROW, fields, parse_column
from mmn_ddx.training.artifact import DEFAULT_SETTING, OUTPUT_TYPES, InputError, check_setting, use_project_store

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

DEFAULT_MASTER = "local[2]"
RESULT_TYPE = ", ".join(f"{name} {kind}" for name, kind in OUTPUT_TYPES.items())
"""The UDF's struct type as a Spark DDL string: one field per output column of the pyfunc."""
ARROW_BATCH = 10_000
"""Rows per Arrow batch handed to the pyfunc: large enough that its vectorised scoring dominates."""
PANDAS_3_WARNING = "PySpark does not yet fully support pandas >= 3.0.0"


class SparkUnavailableError(RuntimeError):
    """pyspark (the ``spark`` extra) or a Java runtime is missing; the message says how to install it."""


@contextmanager
def pandas_3_accepted() -> Iterator[None]:
    """Silence pyspark's FutureWarning that it does not *fully* support pandas 3, and nothing else
    (here in the driver; :func:`session` sets the same filter for the Python workers).

    Why it is harmless here: the only pandas code pyspark runs for us is the Arrow <-> pandas conversion
    of ``pandas_udf`` batches (flat columns: doubles, longs, strings, booleans and arrays of them), and
    ``tests/serving/test_spark.py`` holds the Spark output equal to the in-process batch output for
    every column. pandas-on-Spark (``pyspark.pandas``), where the gaps are, is not used.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=PANDAS_3_WARNING, category=FutureWarning)
        yield


def session(master: str = DEFAULT_MASTER, app_name: str = "mmn-ddx") -> SparkSession:
    """A Spark session configured for Arrow batches of :data:`ARROW_BATCH` rows."""
    try:
        with pandas_3_accepted():
            from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailableError("pyspark is not installed: pip install 'mmn-ddx[spark]'") from None
    # local workers run this interpreter (with mmn-ddx installed), not whatever 'python3' is on PATH
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH))
               .config("spark.executorEnv.PYTHONWARNINGS", f"ignore:{PANDAS_3_WARNING}:FutureWarning")  # see below
               .config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC"))
    try:
        return builder.getOrCreate()
    except Exception as exc:  # py4j reports a missing JVM as a generic error
        if "JAVA" in str(exc).upper():
            raise SparkUnavailableError(f"Spark could not start a Java runtime ({exc}); install Java 17, e.g. "
                                        "'apt-get install openjdk-17-jre-headless'") from None
        raise


def prediction_udf(spark: SparkSession, model_uri: str, setting: str | None = None) -> Any:
    """MLflow's Spark UDF for the exported model, returning the struct :data:`RESULT_TYPE`, with the
    probabilities for the clinical ``setting`` (the model's ``setting`` parameter; default: the intended use).

    ``model_uri`` is a model directory or an MLflow URI; a ``models:/`` URI resolves in the tracking store the CLI
    uses (``use_project_store``: the one set by ``mlflow.set_tracking_uri`` or ``MLFLOW_TRACKING_URI``, else
    ``<home>/mlruns.db``), as ``Predictor.load`` resolves it.
    """
    import mlflow.pyfunc

    params = {"setting": check_setting(setting or DEFAULT_SETTING)}  # refused here, before a Spark job starts
    if not Path(model_uri).exists():  # a URI, as load_bundle tells them apart
        use_project_store()
    with pandas_3_accepted():
        return mlflow.pyfunc.spark_udf(spark, model_uri, result_type=RESULT_TYPE, env_manager="local", params=params)


def score(cohort: DataFrame, udf: Any, *, partitions: int | None = None, numbered: bool = False) -> DataFrame:
    """One row per patient with the pyfunc's output columns (the struct flattened); with ``numbered``, the
    input's data row in front as ``row`` (``cohort`` must then be one Parquet file read by Spark).

    A cohort read from fewer files than ``partitions`` is repartitioned so that every core scores; rows
    then come back in partition order, not file order, and are told apart by ``row`` and ``patient_id``.
    """
    from pyspark.sql import functions as F

    specs = fields()
    unknown = [c for c in cohort.columns if c not in specs and c != LABEL]
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(unknown)} (not in the data dictionary)")
    # the pyfunc checks the rest: that counts are whole numbers, that a diagnosis is one, ...
    inputs = [_model_input(cohort, c).alias(c) for c in cohort.columns]
    carried = [ROW] if numbered else []
    if numbered:  # numbered before any repartitioning: a row's place in its file, whichever task reads it
        cohort = cohort.select(_row_numbers().alias(ROW), "*")
    if partitions and cohort.rdd.getNumPartitions() < partitions:
        cohort = cohort.repartition(partitions)
    return cohort.select(*carried, udf(F.struct(*inputs)).alias("p")).select(*carried, "p.*")


def _model_input(cohort: DataFrame, name: str) -> Column:
    """Column ``name`` in one type per field whatever the Parquet file stored: numbers as doubles (a count with
    nulls reaches pandas as a float anyway), yes/no fields as booleans.

    Only a Spark number is cast (a cast of text fails the whole job quoting the cell: patient data). Cells
    of another Spark type - text, booleans in a number field, numbers in a yes/no field, dates - are read by
    the importer's rules (:func:`_cells_read`), as the default engine reads the same Parquet file: ``"3"`` is
    3, ``"three"`` is refused naming the field, never the value.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType, NullType, NumericType

    spec, kind = fields().get(name), cohort.schema[name].dataType
    if spec is not None and spec.is_numeric:
        if isinstance(kind, NumericType | NullType):
            return F.col(name).cast("double")
        return _cells_read(cohort, name, "double")
    if spec is not None and spec.type == "bool" and not isinstance(kind, BooleanType | NullType):
        return _cells_read(cohort, name, "boolean")
    return F.col(name)


def _cells_read(cohort: DataFrame, name: str, kind: str) -> Column:
    """A pandas UDF reading column ``name`` as text with the importer's cell rules (:func:`data.parse_column`:
    null words, decimal point, true/false and 1/0); a cell it refuses fails the job with an :class:`InputError`
    naming the patient, the field and the reason."""
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    patients = F.col(ID_FIELD) if ID_FIELD in cohort.columns else F.lit(None).cast("string")
    with pandas_3_accepted():  # pyspark's stubs lack the type-hinted form (no functionType) that it recommends
        udf = pandas_udf(_cell_reader(name), returnType=kind)  # type: ignore[call-overload]
    return udf(F.col(name).cast("string"), patients)


def _cell_reader(name: str) -> Callable[[pd.Series, pd.Series], pd.Series]:
    """The UDF's body for field ``name``: (cells as text, patient ids) -> values, per Arrow batch."""

    def read(cells: pd.Series, patients: pd.Series) -> pd.Series:
        values, reasons = parse_column(cells, fields()[name])
        if len(reasons):
            first = min(reasons.index)
            where = "a row of a Spark batch" if pd.isna(patients[first]) else f"{ID_FIELD} {patients[first]}"
            raise InputError(f"{where}: field '{name}': {reasons[first]}")
        return values

    return read


def _row_numbers() -> Column:
    """Each row's 1-based data row in its Parquet file, as the importer numbers a Parquet cohort's rows.

    Spark's ``_metadata.row_index`` (Parquet sources) is the row's position in its file whatever split
    reads it, unlike ``monotonically_increasing_id`` or ``zipWithIndex``, which follow the partitions.
    """
    from pyspark.sql import functions as F

    return F.col("_metadata.row_index") + 1


def check_ids(cohort: DataFrame) -> None:
    """Every row needs a ``patient_id``: on Spark, rows come back in partition order, not file order."""
    from pyspark.sql import functions as F

    if ID_FIELD not in cohort.columns or cohort.filter(F.col(ID_FIELD).isNull()).limit(1).count():
        raise ValueError(f"every row needs a {ID_FIELD} to score on Spark (rows come back in partition order)")


def score_file(source: Path, destination: Path, model_uri: str, *, master: str = DEFAULT_MASTER,
               setting: str | None = None) -> int:
    """Score a Parquet cohort file into a Parquet directory on Spark (probabilities for the clinical ``setting``),
    each row numbered as its input row (``row``, as ``predict -o`` without Spark); returns the number of patients.

    ``destination`` appears only when the job succeeded (:func:`_write_new`); raises :class:`InputError` for a
    row the contract refuses.
    """
    if source.suffix.lower() != ".parquet" or not source.is_file():  # a directory has no one row numbering
        raise ValueError(f"{source.name}: the Spark engine reads one Parquet cohort file (.parquet)")
    with pandas_3_accepted():
        spark = session(master)
        udf = prediction_udf(spark, model_uri, setting)
        cohort = spark.read.parquet(str(source))
        check_ids(cohort)
        scored = score(cohort, udf, partitions=spark.sparkContext.defaultParallelism, numbered=True)
        try:
            _write_new(scored, destination)
        except Exception as exc:  # a worker's refusal reaches the driver inside Spark's job failure text
            from mmn_ddx.training.artifact import ServedInputError  # the model's InputError (imports MLflow)

            refusals = "|".join(kind.__name__ for kind in (InputError, ServedInputError))
            found = re.search(rf"\b(?:{refusals}): (.*)", str(exc))
            if found is None:
                raise
            raise InputError(_in_batch(found.group(1))) from None
        return spark.read.parquet(str(destination)).count()


def _in_batch(message: str) -> str:
    """The model's refusal of "row 3 (patient_id b): ..." says "row 3 of a Spark batch": it counts a worker's
    Arrow batch, not the file (``patient_id`` names the patient; ``mmn-ddx predict`` lists the file's rows)."""
    return re.sub(r"^row (\d+)\b", r"row \1 of a Spark batch", message)


def _write_new(scored: DataFrame, destination: Path) -> None:
    """Write a new Parquet directory that appears only if the job succeeds: a failed Spark job leaves its
    output folder behind, and the same ``-o`` is then refused as existing. The job writes into a fresh hidden
    folder beside ``destination``, renamed on success; on failure that folder goes, and so do the parent
    folders made for it (only if still empty), nothing else."""
    made = [folder for folder in (destination.parent, *destination.parent.parents) if not folder.exists()]
    destination.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent))
    try:
        scored.write.mode("errorifexists").parquet(str(scratch / destination.name))
        if destination.exists():
            raise FileExistsError(f"{destination}: already exists (Spark does not overwrite)")
        (scratch / destination.name).rename(destination)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        for folder in made:  # deepest first
            with contextlib.suppress(OSError):  # not empty: something else writes there too
                folder.rmdir()
        raise
    scratch.rmdir()
