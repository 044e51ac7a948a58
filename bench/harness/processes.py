"""The one owner of child processes, and its guarantee that none outlives it.

Every child leads a process group of its own (a new session), so a Ctrl-C in
the terminal reaches only us and we stop the children in order; and whatever a
child leaves behind in its group (rq's scheduler child of a worker killed -9)
is killed with it. Children are stopped newest first (workers and the API
before the Redis they use), with SIGTERM, then SIGKILL after a bounded grace.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import TracebackType

from bench.harness.proc_info import group_members
from bench.harness.procfile import ROOT, procfile_argv

STOP_GRACE_SECONDS = 10.0
VENV_BIN = Path(sys.executable).parent

Process = subprocess.Popen[bytes]


def child_env(**extra: str) -> dict[str, str]:
    """Our environment, the venv's bin first on PATH and the project root on PYTHONPATH, plus `extra`."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(p for p in (str(VENV_BIN), env.get("PATH", "")) if p)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def venv_script(name: str) -> str:
    """The console script installed next to the running interpreter (the project's venv)."""
    candidate = VENV_BIN / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed in {VENV_BIN}")
    return found


class Processes:
    """Owns every child started through it; stops them all on exit, error, Ctrl-C or SIGTERM."""

    def __init__(self, log_dir: Path, grace: float = STOP_GRACE_SECONDS) -> None:
        self.log_dir = log_dir
        self.grace = grace
        self._children: list[Process] = []
        self._logs: dict[int, Path] = {}  # pid -> its log file, kept after it stopped
        self._names: Counter[str] = Counter()
        self._lock = threading.Lock()  # benchmarks start and stop children from several threads

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()

    def start(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        pipes: bool = False,
        wrap: list[str] | None = None,
    ) -> Process:
        """Start `argv` in the project root; output to `<log_dir>/<name>.log` (`-2`, `-3`... when reused).

        `pipes`: stdin and stdout are pipes to us (a handshake), and only stderr goes to the log.
        `wrap`: a command prefix that execs `argv` (`ip netns exec <ns>`: another host), so the pid stays its.
        """
        log_path = self._log_path(name)
        with log_path.open("wb") as log:  # the child has its own copy of the descriptor
            process = subprocess.Popen(
                [*(wrap or []), *argv],
                env=env if env is not None else child_env(),
                cwd=ROOT,
                stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                stdout=subprocess.PIPE if pipes else log,
                stderr=log if pipes else subprocess.STDOUT,
                start_new_session=True,
            )
        with self._lock:
            self._children.append(process)
            self._logs[process.pid] = log_path
        return process

    def python(self, name: str, args: list[str], env: dict[str, str] | None = None, pipes: bool = False) -> Process:
        """The venv's own Python (the one running the benchmark) with `args`."""
        return self.start(name, [sys.executable, *args], env=env, pipes=pipes)

    def procfile(self, kind: str, env: dict[str, str], wrap: list[str] | None = None) -> Process:
        """A Procfile process, run the way a Procfile runner does: on 127.0.0.1, or on all of `wrap`'s host."""
        return self.start(kind, procfile_argv(kind, local=wrap is None), env, wrap=wrap)

    def stop(self, process: Process, grace: float | None = None) -> float:
        """SIGTERM, SIGKILL after `grace`, then its group; returns the seconds from SIGTERM to exit."""
        started = time.monotonic()
        _close_pipes(process)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=self.grace if grace is None else grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_GRACE_SECONDS)
        seconds = time.monotonic() - started
        self.reap_group(process.pid)
        with self._lock:
            self._children = [p for p in self._children if p is not process]
        return seconds

    def kill(self, process: Process) -> None:
        """SIGKILL the process and its whole group now, and wait for it."""
        self.reap_group(process.pid)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=STOP_GRACE_SECONDS)

    def stop_all(self) -> None:
        """Every child still owned, newest first; a failure to stop one does not spare the others."""
        failures: list[Exception] = []
        while self._children:
            with self._lock:
                process = self._children.pop()
            try:
                self.stop(process)
            except Exception as error:  # noqa: BLE001 - raised below, once every other child is stopped
                failures.append(error)
        if failures:
            raise failures[0]

    def reap_group(self, pgid: int) -> list[int]:
        """SIGKILL whatever still runs in process group `pgid`; returns those pids."""
        members = group_members(pgid)
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return members

    def log_path(self, process: Process) -> Path:
        return self._logs[process.pid]

    def log_text(self, process: Process) -> str:
        path = self._logs.get(process.pid)
        return path.read_text(errors="replace") if path is not None and path.exists() else ""

    def log_tail(self, process: Process, lines: int = 20) -> str:
        """The end of a child's log, to show why it failed."""
        return "\n".join(self.log_text(process).splitlines()[-lines:])

    def _log_path(self, name: str) -> Path:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._names[name] += 1
            count = self._names[name]
        return self.log_dir / (f"{name}.log" if count == 1 else f"{name}-{count}.log")


def _close_pipes(process: Process) -> None:
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
