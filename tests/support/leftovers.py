"""The suite's last word on processes: whatever a test started and left running is killed, and fails the run.

The same goes for network namespaces (bench/harness/hosts.py): a `rqs-<pid>-*` namespace
of this run, or of a run that is gone, is deleted at the end and fails the run.

Tests start their processes in sessions of their own (so a Ctrl-C reaches them in
order), which hides them from a process-group kill. The test process is made a child
subreaper (Linux), so a process whose parent died (honcho's children when `make run`'s
launcher is killed) is re-parented to it rather than to init: every process a test
started stays our descendant, and at the very end of the session each live one is a
leftover.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from pathlib import Path

import pytest

from bench.harness.hosts import delete_namespace, leftover_namespaces
from bench.harness.proc_info import descendants

PR_SET_CHILD_SUBREAPER = 36  # prctl(2)


def become_subreaper() -> None:
    """Orphans below us are re-parented to us, not to init (no-op where prctl is missing)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"


def reap_descendants(pid: int) -> list[str]:
    """SIGKILL every live descendant of `pid`; returns what each was running."""
    found = [(child, command_line(child)) for child in descendants(pid)]
    for child, _ in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    return [f"{child}: {command}" for child, command in found]


def reap_namespaces(pid: int) -> list[str]:
    """Delete the leftover `rqs-*` network namespaces (none where `ip` is missing or not allowed)."""
    try:
        found = leftover_namespaces(pid)
    except (OSError, RuntimeError):
        return []
    for namespace in found:
        delete_namespace(namespace)
    return found


def pytest_configure(config: pytest.Config) -> None:
    become_subreaper()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After every fixture is torn down: nothing the suite started may still run, no namespace remain."""
    left = reap_descendants(os.getpid())
    namespaces = reap_namespaces(os.getpid())
    if not left and not namespaces:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and left:
        reporter.write_line(f"processes left running by the tests (now killed): {left}", red=True)
    if reporter is not None and namespaces:
        reporter.write_line(f"network namespaces left by the tests (now deleted): {namespaces}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
