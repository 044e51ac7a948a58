"""Report helpers shared by the benchmarks: the run header, sample summaries, ratios, aligned tables, JSON.

Nothing here measures anything.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def header(meta: dict[str, Any], title: str = "rq-service benchmarks") -> str:
    env = meta["environment"]
    lines = [
        f"{title} ({meta['plan']['name']} plan), {meta['started_at']}",
        f"command: {meta['command']}  (cwd {meta['cwd']})",
        f"load average (1/5/15 min) at start: {env['load_average']}, at end: {meta.get('load_average_at_end', '-')}",
        f"machine: {env['cpus']} CPUs; python {env['python']}; redis-server {env['redis_server']}; {env['wrk']}",
        "packages: " + ", ".join(f"{k} {v}" for k, v in env["packages"].items()),
    ]
    return "\n".join(lines)


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (an observed value, never an interpolated one); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def summary_ms(seconds: list[float]) -> dict[str, Any]:
    """n and p50/p99/max/min/mean in milliseconds of samples given in seconds."""
    if not seconds:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None, "min_ms": None, "mean_ms": None}

    def ms(value: float | None) -> float:
        return round(float(value or 0.0) * 1000, 3)

    return {
        "n": len(seconds),
        "p50_ms": ms(percentile(seconds, 0.50)),
        "p99_ms": ms(percentile(seconds, 0.99)),
        "max_ms": ms(max(seconds)),
        "min_ms": ms(min(seconds)),
        "mean_ms": ms(sum(seconds) / len(seconds)),
    }


def ratio(numerator: float | None, denominator: float | None, digits: int = 3) -> float | None:
    """numerator / denominator rounded, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, digits)


def columns(rows: list[tuple[str, ...]], headings: tuple[str, ...], max_width: int = 90) -> str:
    """Rows as left-aligned columns under `headings`, each as wide as its widest cell (capped)."""
    widths = [min(max(len(r[i]) for r in [headings, *rows]) + 2, max_width) for i in range(len(headings) - 1)]
    lines = ["".join(f"{cell:<{w}}" for cell, w in zip(headings, widths, strict=False)) + headings[-1]]
    lines.append("-" * (sum(widths) + 16))
    lines += ["".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=False)) + row[-1] for row in rows]
    return "\n".join(lines)


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
