"""rq-dashboard in a real headless Chromium while one worker runs several jobs at once.

The worker is an RQ worker like any other to the dashboard: its page lists it busy,
and the queue's started-jobs page lists every job it is running, not just one.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from bench.harness.redis import RedisServer
from tests.support.browser import CHROMIUM_FLAGS as HEADLESS
from tests.support.keys import ADMIN_KEY
from tests.support.stack import Stack, eventually

pytestmark = pytest.mark.e2e

QUEUE = "dash"
IN_FLIGHT = 3
CHROMIUM_FLAGS = [*HEADLESS, "--virtual-time-budget=5000"]  # let the page fetch and draw its data


@pytest.fixture
def stack(redis_server: RedisServer, tmp_path: Path) -> Iterator[Stack]:
    redis_server.client.flushdb()
    stack = Stack(redis_server.url, tmp_path, QUEUES=QUEUE, WORKER_CONCURRENCY="4")
    stack.start("web")
    yield stack
    stack.stop_all()


def ledger() -> Redis:
    return Redis.from_url(os.environ["TEST_LEDGER_URL"])


def page(stack: Stack, chromium: str, profile: Path, path: str) -> str:
    url = f"http://viewer:{ADMIN_KEY}@127.0.0.1:{stack.port}/dashboard/0/{path}"
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


def drawn_rows(dom: str) -> str:
    """The table body the dashboard's script filled (its row templates come later in the page)."""
    start = dom.index("<tbody")
    return dom[start : dom.index("</tbody>", start)]


def test_dashboard_shows_every_job_of_one_busy_worker(stack: Stack, chromium: str, tmp_path: Path) -> None:
    stack.start("worker")
    key = uuid.uuid4().hex
    body = {"task": "tests.gate", "args": [key], "queue": QUEUE}
    ids = [str(stack.http.post("/jobs", json=body).json()["id"]) for _ in range(IN_FLIGHT)]
    assert eventually(lambda: int(ledger().get(f"arrived:{key}") or 0) == IN_FLIGHT)
    workers = stack.http.get("/workers").json()["workers"]
    assert len(workers) == 1
    name = workers[0]["name"]

    started = drawn_rows(page(stack, chromium, tmp_path / "profile", f"view/jobs/{QUEUE}/started/8/asc/1"))
    assert all(f'data-job-id="{job_id}"' in started for job_id in ids)  # every job in flight, not one
    workers_page = drawn_rows(page(stack, chromium, tmp_path / "profile", "view/workers"))
    assert workers_page.count('data-role="worker"') == 1
    assert name in workers_page
    assert any(f"/view/job/{job_id}" in workers_page for job_id in ids)  # busy: a current job, not "idle"

    ledger().set(f"open:{key}", 1)
    assert [stack.wait_for(job_id)["status"] for job_id in ids] == ["finished"] * IN_FLIGHT
