"""The one runner: run a benchmark (or one part of it), record a failure instead of stopping, write JSON.

A part that fails is printed with its traceback and recorded as `{"error": ...}`,
and the next part still runs; the exit status says whether any failed. SIGTERM
and Ctrl-C unwind through every `finally` (so no child outlives the run) and
set `wait.STOP`, so waits in other threads give up at once.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench.harness.environment import describe_environment, load_average
from bench.harness.report import write_json
from bench.harness.wait import STOP

Figures = dict[str, Any]


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM becomes SystemExit, so every `finally` runs and no child outlives us."""
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def stopping_cleanly() -> Iterator[None]:
    """Around a whole run: SIGTERM unwinds like Ctrl-C, and either one stops every thread's waits."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    except BaseException:
        STOP.set()
        raise


def run_part(name: str, body: Callable[[], Figures], logs: Path | None = None) -> Figures:
    """Run one benchmark or phase; its figures plus wall time and load, or `{"error": ...}` if it failed."""
    print(f"running {name}...", flush=True)
    started, load = time.monotonic(), load_average()
    try:
        figures = body()
    except Exception as error:  # noqa: BLE001 - reported in the table and the JSON, exit status 1
        traceback.print_exc()
        if logs is not None:
            print(f"(logs of the processes it started: {logs})", file=sys.stderr)
        figures = {"error": f"{type(error).__name__}: {error}"}
    wall = round(time.monotonic() - started, 1)
    print(f"{name} {'failed' if 'error' in figures else 'done'} in {wall:.0f} s", flush=True)
    return {**figures, "wall_s": wall, "load_average_before_after": [load, load_average()]}


def run_meta(argv: list[str], plan: dict[str, Any]) -> dict[str, Any]:
    """What the figures were measured with: the command, the plan, the machine, the time."""
    return {
        "command": shlex.join([sys.executable, "-m", "bench", *argv]),
        "cwd": os.getcwd(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "plan": plan,
        "environment": describe_environment(),
    }


def finish(meta: dict[str, Any], results: dict[str, Figures], path: Path, render: Callable[[], str]) -> int:
    """Stamp the end of the run, print `render()`, write meta and figures to `path`; 1 if any part failed."""
    meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    meta["load_average_at_end"] = load_average()
    print()
    print(render())
    write_json(path, {**meta, **results})
    print(f"\nJSON: {path}")
    return 1 if any("error" in r for r in results.values()) else 0
