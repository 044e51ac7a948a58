"""Real `web` and `worker` processes from the Procfile, on the suite's private Redis."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.conftest import ADMIN_KEY, KEYS
from tests.e2e.procfile import Process, process_env, wait_for_http
from tests.redis_server import RedisServer, free_port

pytestmark = pytest.mark.e2e


class Stack:
    """The processes of one test module and an HTTP client for the web one."""

    def __init__(self, redis_url: str, log_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.env = process_env(redis_url, self.port, KEYS, TEST_LEDGER_URL=os.environ["TEST_LEDGER_URL"], **env)
        self.log_dir = log_dir
        self.processes: list[Process] = []
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers={"X-API-Key": ADMIN_KEY}, timeout=70)

    def start(self, kind: str, **env: str) -> Process:
        process = Process(kind, {**self.env, **env}, self.log_dir)
        self.processes.append(process)
        if kind == "web":
            wait_for_http(f"http://127.0.0.1:{self.port}/healthz", process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.terminate()
        self.http.close()

    def wait_for(self, job_id: str, timeout: float = 30) -> dict[str, Any]:
        return self.http.get(f"/jobs/{job_id}/result", params={"wait": timeout}).json()  # type: ignore[no-any-return]


def eventually(check: Callable[[], bool], timeout: float = 20, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


@pytest.fixture(scope="module")
def stack(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(redis_server.url, tmp_path_factory.mktemp("logs"))
    stack.start("web")
    stack.start("worker")
    yield stack
    stack.stop_all()
