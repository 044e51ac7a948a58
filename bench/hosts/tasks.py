"""The task of the host partition runs: it says on which host each run started and ended.

Loaded through TASK_MODULES. Each run appends to a ledger file outside Redis (the
hosts share the filesystem), so runs are counted even on a host cut off from it.
While the file `<ledger>.hold-<host>` exists, runs on that host wait before they
end: how a run is kept in flight across a partition and ended after it heals.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from workers import task

HOST_ENV = "BENCH_HOST"  # set on every process the cluster starts: the host it runs on
HOLD_LIMIT = 600.0


def hold_path(ledger: str, host: str) -> Path:
    return Path(f"{ledger}.hold-{host}")


def _append(ledger: str, line: str) -> None:
    with open(ledger, "a") as handle:
        handle.write(line + "\n")


@task(name="bench.hosts.run")
def host_run(ledger: str, token: str) -> str:
    """Append `start <token> <host> <time>`, wait while this host's hold file exists, append `end ...`."""
    host = os.environ.get(HOST_ENV, "?")
    _append(ledger, f"start {token} {host} {time.time():.3f}")
    deadline = time.monotonic() + HOLD_LIMIT
    while hold_path(ledger, host).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    _append(ledger, f"end {token} {host} {time.time():.3f}")
    return host


def ledger_lines(ledger: Path) -> list[tuple[str, str, str, float]]:
    """(event, token, host, time) of every line written so far."""
    if not ledger.exists():
        return []
    lines = []
    for line in ledger.read_text().splitlines():
        event, token, host, at = line.split()
        lines.append((event, token, host, float(at)))
    return lines
