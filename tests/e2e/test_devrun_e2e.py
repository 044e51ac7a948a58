"""`make run`'s launcher: an embedded Redis, every Procfile process, and a clean stop on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx
from redis import Redis
from redis.exceptions import RedisError

from bench.harness.ports import free_port
from tests.support.stack import eventually

ROOT = Path(__file__).resolve().parents[2]
KEY = "dev-key-for-the-test"


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


def test_runs_everything_on_an_embedded_redis_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    # given: no Redis at REDIS_URL
    port, redis_url = free_port(), f"redis://127.0.0.1:{free_port()}/0"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # as the Makefile sets it
        "API_KEYS": KEY,  # so no .env is written into the checkout
        "REDIS_URL": redis_url,  # nothing answers there: the launcher starts its own
        "REDIS_DATA_DIR": str(tmp_path / "redis"),
        "PORT": str(port),
    }

    # when: the launcher runs a job, then gets Ctrl-C
    output = tmp_path / "run.log"
    with output.open("wb") as log:
        launcher = subprocess.Popen(
            [sys.executable, "scripts/devrun.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": KEY}, timeout=30)
    try:
        assert eventually(lambda: healthy(client), timeout=40), output.read_text()[-3000:]
        job = client.post("/jobs", json={"task": "examples.add", "args": [2, 3]}).json()
        done = client.get(f"/jobs/{job['id']}/result", params={"wait": 20}).json()
        assert done["status"] == "finished" and done["result"] == 5, done
        os.killpg(launcher.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        assert launcher.wait(timeout=40) == 0
    finally:
        client.close()
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)

    # then
    text = output.read_text()
    assert "Started an embedded Redis" in text and f"API key:   {KEY}" in text
    assert "Connection refused" not in text, text[-3000:]  # Redis outlived every process that uses it
    assert not answers(redis_url)  # and was stopped after them
    assert list((tmp_path / "redis").iterdir()) != []  # its AOF lives where REDIS_DATA_DIR says
