"""What every benchmark script shares (run as ``python benchmarks/<script>.py``, which puts this folder on
the import path): the timing helper, the machine facts each result states, and writing the result file."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def best_of(runs: int, fn: Callable[[], Any]) -> float:
    """Seconds of the fastest of ``runs`` calls of ``fn``: the least disturbed by other work."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def machine(load_before: tuple[float, float, float] | None = None) -> dict[str, Any]:
    """The machine a figure was measured on, with its load (1, 5, 15 min) before the run and now: a speed
    figure means little without the load it was measured under."""
    facts: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                             "platform": platform.platform()}
    if load_before is not None:
        facts["load_average_before"] = [round(x, 2) for x in load_before]
    facts["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return facts


def write_results(path: Path, figures: Mapping[str, Any], shown: Mapping[str, Any] | None = None) -> None:
    """Write ``figures`` as JSON to ``path`` (creating its folder) and print ``shown`` (default: all of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures if shown is None else shown, indent=2))
