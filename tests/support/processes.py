"""Stopping a launcher whose children start sessions of their own (honcho's processes, Redis)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading

from bench.harness.proc_info import descendants, start_ticks

GRACE_SECONDS = 40.0  # longer than the launcher's own orderly stop
WATCH_INTERVAL = 0.2


class ProcessTree:
    """Every process seen below a launcher while it ran, named by pid and start time.

    Read while the launcher lives: once it is gone its descendants are re-parented
    and no longer found from it (a test may kill it before the teardown looks).
    """

    def __init__(self, launcher: subprocess.Popen[bytes]) -> None:
        self.launcher = launcher
        self.seen: dict[int, int | None] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set() and self.launcher.poll() is None:
            self.seen.update({pid: start_ticks(pid) for pid in descendants(self.launcher.pid)})
            self._done.wait(WATCH_INTERVAL)

    def stop(self) -> None:
        """Ctrl-C the launcher if it still runs, then SIGKILL whatever it or its descendants left running."""
        if self.launcher.poll() is None:
            self.seen.update({pid: start_ticks(pid) for pid in descendants(self.launcher.pid)})
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.launcher.pid, signal.SIGINT)
            try:
                self.launcher.wait(timeout=GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.launcher.kill()
                self.launcher.wait()
        self._done.set()
        self._thread.join()
        for pid, started in self.seen.items():
            if started is not None and start_ticks(pid) == started:  # still the process we saw, not a reused pid
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
