"""pandera, imported without importing pyspark.

pandera imports ``pyspark.pandas`` while it is itself imported, whenever pyspark is installed (to set
environment variables for pandas-on-Spark type hints). This project validates pandas frames only, so
with the ``spark`` extra installed every command that reads a cohort would load pyspark and print its
"does not yet fully support pandas >= 3" FutureWarning (under pandas 3 pandas-on-Spark does not even
import: pandera catches that ImportError). The project's pandera imports go through this module, which
hides pyspark (or, inside a Spark worker, only pandas-on-Spark) for that one import and restores it.
"""

from __future__ import annotations

import sys

_hidden = next((name for name in ("pyspark", "pyspark.pandas") if name not in sys.modules), None)
if _hidden is not None:
    sys.modules[_hidden] = None  # type: ignore[assignment]  # importing it raises ImportError: pandera expects that
try:
    import pandera.errors as errors
    import pandera.pandas as pa
    from pandera.config import ValidationDepth, config_context
finally:
    if _hidden is not None:
        del sys.modules[_hidden]

__all__ = ["ValidationDepth", "config_context", "errors", "pa"]
