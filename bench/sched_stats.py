"""Summaries of lateness samples and process CPU readings; no clock is read here but /proc."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted `values` (no interpolation: every figure is a real sample)."""
    index = max(0, math.ceil(fraction * len(values)) - 1)
    return values[min(index, len(values) - 1)]


def summary_ms(seconds: list[float]) -> dict[str, Any]:
    """p50/p99/max/min/mean in milliseconds of samples given in seconds."""
    if not seconds:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None, "min_ms": None, "mean_ms": None}
    ordered = sorted(seconds)
    return {
        "n": len(ordered),
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 3),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
        "min_ms": round(ordered[0] * 1000, 3),
        "mean_ms": round(sum(ordered) / len(ordered) * 1000, 3),
    }


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a live process has used (fields 14 and 15 of /proc/<pid>/stat)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()  # the command name may contain spaces; skip past it
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def per_minute(before: float | None, after: float | None, seconds: float) -> float | None:
    """CPU seconds per minute of wall time between two readings."""
    if before is None or after is None or seconds <= 0:
        return None
    return round((after - before) / seconds * 60, 2)


def ratio(theirs: float | None, ours: float | None) -> float | None:
    """How many times theirs is ours (>1: ours is smaller, i.e. better for lateness)."""
    if theirs is None or ours is None or ours == 0:
        return None
    return round(theirs / ours, 1)
