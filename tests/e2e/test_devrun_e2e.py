"""`make run`'s launcher: an embedded Redis, every Procfile process, and a clean stop on Ctrl-C.

The launcher runs with an `.env` of its own (ENV_FILE) that contradicts the environment
on every variable the test sets: the environment must win for each, and a setting only
`.env` names must still apply. No process may outlive the test, whatever it asserts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from redis import Redis
from redis.exceptions import RedisError

from bench.harness.ports import free_port
from tests.support.processes import ProcessTree
from tests.support.stack import eventually

ROOT = Path(__file__).resolve().parents[2]
KEY = "dev-key-for-the-test"
ENV_ONLY_QUEUE = "from-dotenv"
STALE_DOTENV = {  # what an earlier `make run` (or a developer) left in .env; the environment overrides each
    "API_KEYS": "stale-key-from-dotenv",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "PORT": "1",
    "REDIS_DATA_DIR": "/nonexistent/redis",
}


def answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except RedisError:
        return False


def healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def write_dotenv(path: Path) -> Path:
    lines = [f"{name}={value}" for name, value in STALE_DOTENV.items()]
    lines.append(f"QUEUES=high,default,low,{ENV_ONLY_QUEUE}")
    path.write_text("\n".join(lines) + "\n")
    return path


class Launch:
    """`scripts/devrun.py` in its own session, its output in a file."""

    def __init__(self, tmp_path: Path) -> None:
        self.port, self.redis_url = free_port(), f"redis://127.0.0.1:{free_port()}/0"
        self.data_dir = tmp_path / "redis"
        self.output = tmp_path / "run.log"
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # as the Makefile sets it
            "ENV_FILE": str(write_dotenv(tmp_path / ".env")),
            "API_KEYS": KEY,
            "REDIS_URL": self.redis_url,  # nothing answers there: the launcher starts its own
            "REDIS_DATA_DIR": str(self.data_dir),
            "PORT": str(self.port),
        }
        env.pop("QUEUES", None)
        with self.output.open("wb") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "scripts/devrun.py"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.tree = ProcessTree(self.popen)  # honcho's processes and Redis run in sessions of their own
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers={"X-API-Key": KEY}, timeout=30)

    def text(self) -> str:
        return self.output.read_text()

    def ctrl_c(self) -> int:
        os.killpg(self.popen.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        return self.popen.wait(timeout=40)

    def sigterm(self) -> int:
        self.popen.terminate()  # what a supervisor sends, to the launcher alone
        return self.popen.wait(timeout=40)


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launch]:
    launch = Launch(tmp_path)
    try:
        yield launch
    finally:
        launch.client.close()
        launch.tree.stop()


def test_runs_everything_on_an_embedded_redis_and_stops_cleanly_on_ctrl_c(launch: Launch) -> None:
    assert eventually(lambda: healthy(launch.client), timeout=40), launch.text()[-3000:]
    job = launch.client.post("/jobs", json={"task": "examples.add", "args": [2, 3]}).json()
    done = launch.client.get(f"/jobs/{job['id']}/result", params={"wait": 20}).json()
    assert done["status"] == "finished", done
    assert done["result"] == 5, done
    stale = launch.client.get("/queues", headers={"X-API-Key": STALE_DOTENV["API_KEYS"]})
    assert stale.status_code == 401
    queues = [queue["name"] for queue in launch.client.get("/queues").json()["queues"]]
    assert ENV_ONLY_QUEUE in queues  # a setting only .env names still applies
    assert launch.ctrl_c() == 0
    text = launch.text()
    assert "Started an embedded Redis" in text
    assert f"API key:   {KEY}" in text
    assert "Connection refused" not in text, text[-3000:]  # Redis outlived every process that uses it
    assert not answers(launch.redis_url)  # and was stopped after them
    assert list(launch.data_dir.iterdir()) != []  # its AOF lives where REDIS_DATA_DIR says


def test_sigterm_stops_every_process_and_then_redis(launch: Launch) -> None:
    assert eventually(lambda: healthy(launch.client), timeout=40), launch.text()[-3000:]
    assert launch.sigterm() == 0
    assert not healthy(launch.client)
    assert not answers(launch.redis_url)
