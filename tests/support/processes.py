"""Stopping a launcher whose children start sessions of their own (honcho's processes, Redis)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

from bench.harness.proc_info import descendants, start_ticks

GRACE_SECONDS = 40.0  # longer than the launcher's own orderly stop


def stop_tree(launcher: subprocess.Popen[bytes]) -> None:
    """Ctrl-C the launcher if it still runs, then SIGKILL whatever it or its descendants left running.

    The descendants are read before the launcher stops, as once it is gone they are
    re-parented and no longer found from it.
    """
    tree = {pid: start_ticks(pid) for pid in descendants(launcher.pid)}
    if launcher.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(launcher.pid, signal.SIGINT)
        try:
            launcher.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.wait()
    for pid, started in tree.items():
        if start_ticks(pid) == started:  # still the process we saw, not a pid reused since
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
