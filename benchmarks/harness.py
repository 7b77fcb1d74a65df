"""What every benchmark here shares: the machine's description and one timed measurement as a JSON row.

Each ``bench_*.py`` prints one JSON object per measurement with at least
{"what", "size", "median_s", "machine"}; run them all with ``make bench``.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
import tracemalloc
from pathlib import Path
from typing import Callable


def machine() -> str:
    """OS, architecture, CPU model and the cores this process may use."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), platform.processor())
    return f"{platform.system()} {platform.machine()}, {model}, nproc={len(os.sched_getaffinity(0))}"


def measure(what: str, size: tuple[int, int], function: Callable[[int], object], repeats: int, **extra) -> dict:
    """Median wall and CPU seconds over ``repeats`` calls of ``function(repeat)``, and the peak
    Python-traced memory of one more call."""
    return measure_alternating({what: function}, size, repeats, **extra)[0]


def measure_alternating(
    functions: dict[str, Callable[[int], object]], size: tuple[int, int], repeats: int, **extra
) -> list[dict]:
    """``measure`` for several functions called in alternating rounds (one row each, in order), so that
    load from other processes on a shared machine falls on all of them alike."""
    walls: dict[str, list[float]] = {what: [] for what in functions}
    cpus: dict[str, list[float]] = {what: [] for what in functions}
    for repeat in range(repeats):
        for what, function in functions.items():
            wall, cpu = time.perf_counter(), time.process_time()
            function(repeat)
            walls[what].append(time.perf_counter() - wall)
            cpus[what].append(time.process_time() - cpu)
    rows = []
    for what, function in functions.items():
        tracemalloc.start()
        function(repeats)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows.append({
            "what": what,
            "size": f"{size[0]}x{size[1]}",
            "median_s": round(statistics.median(walls[what]), 3),
            "min_s": round(min(walls[what]), 3),
            "cpu_s": round(statistics.median(cpus[what]), 3),
            "peak_memory_mb": round(peak / 2**20, 1),
            "repeats": repeats,
            "machine": machine(),
            **extra,
        })  # fmt: skip
    return rows
