"""Tasks of the recovery benchmark (TASK_MODULES=bench.recovery.ledger) and the ledger they write.

Each run of a task body appends `start <token> <pid>` when it begins and
`end <token> <pid>` when it returns, to a file outside the Redis under test, so
lost and repeated runs can be counted even when Redis itself is killed.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from workers import task


def append_line(ledger: str, line: str) -> None:
    """One `write` on an O_APPEND descriptor: lines from concurrent processes never interleave."""
    fd = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{line}\n".encode())
    finally:
        os.close(fd)


@task(name="bench.recovery.sleep")
async def ledger_sleep(ledger: str, token: str, seconds: float = 5.0) -> str:
    """`examples.sleep` (an asyncio sleep) with a ledger line at the start and at the end of the body."""
    append_line(ledger, f"start {token} {os.getpid()}")
    await asyncio.sleep(seconds)
    append_line(ledger, f"end {token} {os.getpid()}")
    return token


@task(name="bench.recovery.mark")
def mark(ledger: str, token: str) -> str:
    """An instant job that only writes its two ledger lines (the load of the Redis-fault run)."""
    append_line(ledger, f"start {token} {os.getpid()}")
    append_line(ledger, f"end {token} {os.getpid()}")
    return token


def plain_sleep(ledger: str, token: str, seconds: float = 5.0) -> str:
    """The plain-RQ baseline's job: a bare function enqueued by path, run in rq's forked work horse."""
    append_line(ledger, f"start {token} {os.getpid()}")
    time.sleep(seconds)
    append_line(ledger, f"end {token} {os.getpid()}")
    return token


@dataclass
class Runs:
    """What the ledger says about one token: the pid of every start, and how many runs ended."""

    start_pids: list[int] = field(default_factory=list)
    ends: int = 0


def read_ledger(path: Path) -> dict[str, Runs]:
    """Token -> its runs; a missing file is an empty ledger."""
    runs: dict[str, Runs] = defaultdict(Runs)
    if not path.exists():
        return runs
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        kind, token, pid = parts
        if kind == "start":
            runs[token].start_pids.append(int(pid))
        elif kind == "end":
            runs[token].ends += 1
    return runs
