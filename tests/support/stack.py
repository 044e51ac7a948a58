"""The real Procfile processes for end-to-end tests, owned by the harness's one process owner.

`Stack` starts `web`, `worker` and `scheduler` exactly as a Procfile runner would
(bench/harness/procfile.py), each in its own session; `Processes` stops them all,
and whatever they left in their process groups, when the stack stops.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx

from bench.harness.ports import free_port
from bench.harness.processes import Processes, child_env
from bench.harness.wait import poll_until
from tests.support.keys import ADMIN, KEYS

PROCESS_GRACE = 35.0  # longer than any process's own SIGTERM grace, so a slow stop shows as one


class Process:
    """One Procfile process: its Popen, its log, and how it stops."""

    def __init__(self, kind: str, owner: Processes, env: dict[str, str]) -> None:
        self.kind = kind
        self.owner = owner
        self.popen: subprocess.Popen[bytes] = owner.procfile(kind, env)
        self.log_path: Path = owner.log_path(self.popen)

    def terminate(self, timeout: float = PROCESS_GRACE) -> float:
        """SIGTERM; returns the seconds it took to exit (SIGKILL after `timeout`)."""
        return self.owner.stop(self.popen, grace=timeout)

    def kill(self) -> None:
        self.owner.kill(self.popen)

    def log(self) -> str:
        return self.owner.log_text(self.popen)


def process_env(redis_url: str, port: int, keys: list[str], **extra: str) -> dict[str, str]:
    """The environment of a Procfile process: ours, minus settings a developer's shell may have set."""
    inherited = {k: v for k, v in child_env().items() if not k.startswith(("API_KEYS", "REDIS_URL", "QUEUES"))}
    settings = {"REDIS_URL": redis_url, "PORT": str(port), "API_KEYS": ",".join(keys), "TASK_MODULES": "tests.tasks"}
    return {**inherited, **settings, **extra}


def eventually(check: Callable[[], bool], timeout: float = 20, step: float = 0.1) -> bool:
    """Whether `check()` became true within `timeout` seconds."""
    return poll_until(check, timeout, "a test condition", interval=step)


def wait_for_http(url: str, process: Process, timeout: float = 30) -> None:
    """Until `url` answers below 500; an early exit of `process` fails at once with its log."""

    def up() -> bool:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.kind} exited early:\n{process.log()}")
        try:
            return httpx.get(url, timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    if not poll_until(up, timeout, url):
        raise RuntimeError(f"{url} did not answer:\n{process.log()}")


class Stack:
    """The processes of one test module and an HTTP client for the web one."""

    def __init__(self, redis_url: str, log_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.env = process_env(redis_url, self.port, KEYS, TEST_LEDGER_URL=os.environ["TEST_LEDGER_URL"], **env)
        self.owner = Processes(log_dir, grace=PROCESS_GRACE)
        self.processes: list[Process] = []
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers=ADMIN, timeout=70)

    def start(self, kind: str, **env: str) -> Process:
        process = Process(kind, self.owner, {**self.env, **env})
        self.processes.append(process)
        if kind == "web":
            wait_for_http(f"http://127.0.0.1:{self.port}/healthz", process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.terminate()
        self.owner.stop_all()
        self.http.close()

    def wait_for(self, job_id: str, timeout: float = 30) -> dict[str, Any]:
        return self.http.get(f"/jobs/{job_id}/result", params={"wait": timeout}).json()  # type: ignore[no-any-return]


@contextmanager
def web_and_worker(redis_url: str, log_dir: Path, **env: str) -> Iterator[Stack]:
    """A web and a worker process; a process that fails to start does not leave the other running."""
    stack = Stack(redis_url, log_dir, **env)
    try:
        stack.start("web")
        stack.start("worker")
        yield stack
    finally:
        stack.stop_all()
