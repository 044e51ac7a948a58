"""What /proc says about a process: its CPU time, its parent, the members of its process group."""

from __future__ import annotations

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int | str) -> list[str] | None:
    """/proc/<pid>/stat after the command name (which may contain spaces), or None when it is gone."""
    try:
        raw = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return None
    return raw.rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a live process has used (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = _stat_fields(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def per_minute(before: float | None, after: float | None, seconds: float) -> float | None:
    """CPU seconds per minute of wall time between two readings."""
    if before is None or after is None or seconds <= 0:
        return None
    return round((after - before) / seconds * 60, 2)


def parent_pid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[1])


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) pids in process group `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry.name)
        if fields is not None and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def descendants(pid: int) -> list[int]:
    """Live pids below `pid` (children, their children...), whatever session each runs in."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields is not None and fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        below = children.get(pending.pop(), [])
        found += below
        pending += below
    return found


def start_ticks(pid: int) -> int | None:
    """When a process started (clock ticks after boot): with its pid, names it even if the pid is reused."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie has ended: it only waits for its parent to read its status)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def rss_mb(pid: int) -> float | None:
    """Resident memory of a live process in MB (VmRSS of /proc/<pid>/status), None when it is gone."""
    try:
        status = (Path("/proc") / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None
