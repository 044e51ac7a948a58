"""Child processes the benchmark starts, and the guarantee that it stops every one of them."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

STOP_GRACE_SECONDS = 10.0


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1 (the OS picks it, so never a fixed 6379)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_env(**extra: str) -> dict[str, str]:
    """The environment for children: ours plus the project root on PYTHONPATH, so `-m bench.x` imports."""
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


class ProcessStack:
    """Owns every child started through it and stops them all on exit, error or not.

    Children are stopped newest first (workers and the API before the Redis they
    use), with SIGTERM, then SIGKILL after a bounded grace period.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._logs: list[IO[bytes]] = []

    def __enter__(self) -> ProcessStack:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()

    def start(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, **popen: Any
    ) -> subprocess.Popen[bytes]:
        """Start `argv`; its output goes to `<log_dir>/<name>.log` unless `popen` redirects it."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if "stdout" not in popen:
            log = open(self.log_dir / f"{name}.log", "wb")  # closed in stop_all
            self._logs.append(log)
            popen["stdout"] = log
            popen.setdefault("stderr", subprocess.STDOUT)
        process = subprocess.Popen(argv, env=env, stdin=popen.pop("stdin", subprocess.DEVNULL), **popen)
        self._children.append((name, process))
        return process

    def python(
        self, name: str, args: list[str], env: dict[str, str] | None = None, **popen: Any
    ) -> subprocess.Popen[bytes]:
        """Start the venv's own Python (the one running the benchmark) with `args`."""
        return self.start(name, [sys.executable, *args], env=env or bench_env(), **popen)

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        """Stop one child now (and forget it)."""
        _terminate(process)
        self._children = [(n, p) for n, p in self._children if p is not process]

    def stop_all(self) -> None:
        while self._children:
            _, process = self._children.pop()
            _terminate(process)
        for log in self._logs:
            log.close()
        self._logs.clear()

    def log_tail(self, name: str, lines: int = 20) -> str:
        """The end of a child's log, to show why it failed."""
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _terminate(process: subprocess.Popen[bytes]) -> None:
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_GRACE_SECONDS)


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.05, what: str = "condition") -> None:
    """Poll `check()` until it is true; raise after `timeout` seconds (every wait is bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
