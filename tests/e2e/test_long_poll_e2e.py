"""Long-polls hold no thread: 500 waiters on the real `web` process leave it free to answer.

Proof that no waiter holds a thread-pool slot: once the web process holds all 500
connections and has answered other requests, it has no more threads than before
(holding the pool would add its 40), and every waiter is still waiting.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from bench.harness.redis import RedisServer
from tests.support.keys import ADMIN_KEY
from tests.support.stack import Stack

WAITERS = 500
WAIT_SECONDS = 30  # each waiter's ?wait=: longer than the scenario needs
BOUND = 20.0  # any single step gives up after this, so a failure shows as one, not a hang


@dataclass
class Facts:
    """What the scenario saw, for the tests to assert one at a time."""

    threads_before: int = 0
    threads_while_waiting: int = 0
    connected_waiters: int = 0
    still_waiting: int = 0
    healthz: Any = None
    submitted: Any = None
    prompt_result: Any = None
    waiter_statuses: list[Any] = field(default_factory=list)


@pytest.fixture(scope="module")
def facts(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Facts]:
    stack = Stack(redis_server.url, tmp_path_factory.mktemp("logs"))
    try:
        web = stack.start("web")
        stack.start("worker")
        yield asyncio.run(scenario(stack, web.popen.pid))
    finally:
        stack.stop_all()


def thread_count(pid: int) -> int:
    return len(os.listdir(Path("/proc") / str(pid) / "task"))


def open_sockets(pid: int) -> int:
    fds = Path("/proc") / str(pid) / "fd"
    return sum(1 for fd in fds.iterdir() if _readlink(fd).startswith("socket:"))


def _readlink(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:  # closed between listing and reading
        return ""


async def until_connected(pid: int, count: int) -> int:
    """Poll the web process's sockets until it holds `count` more, or BOUND passes."""
    deadline = asyncio.get_running_loop().time() + BOUND
    while (seen := open_sockets(pid)) < count and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    return seen


async def outcome(request: Any) -> Any:
    """The answer's status code, or the error's name when there was none within BOUND."""
    try:
        return (await asyncio.wait_for(request, BOUND)).status_code
    except (TimeoutError, httpx.HTTPError) as error:
        return type(error).__name__


def answer_of(answer: httpx.Response | BaseException) -> str:
    if isinstance(answer, BaseException):
        return repr(answer)
    return str(answer.json().get("status") or f"{answer.status_code} {answer.text}")


async def scenario(stack: Stack, pid: int) -> Facts:
    facts = Facts(threads_before=thread_count(pid))
    sockets_before = open_sockets(pid)
    parked = stack.http.post("/jobs", json={"task": "tests.echo", "args": [1], "delay": 3600}).json()["id"]
    limits = httpx.Limits(max_connections=WAITERS + 10, max_keepalive_connections=WAITERS + 10)
    base, headers = f"http://127.0.0.1:{stack.port}", {"X-API-Key": ADMIN_KEY}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=BOUND + 30) as client:
        waiters = [
            asyncio.create_task(client.get(f"/jobs/{parked}/result", params={"wait": WAIT_SECONDS}))
            for _ in range(WAITERS)
        ]
        facts.connected_waiters = await until_connected(pid, sockets_before + WAITERS) - sockets_before
        facts.healthz = await outcome(client.get("/healthz"))
        submitted = await asyncio.wait_for(client.post("/jobs", json={"task": "tests.sleep", "args": [0.5]}), BOUND)
        facts.submitted = submitted.status_code
        facts.threads_while_waiting = thread_count(pid)
        facts.still_waiting = sum(1 for waiter in waiters if not waiter.done())
        prompt = client.get(f"/jobs/{submitted.json()['id']}/result", params={"wait": WAIT_SECONDS * 2})
        facts.prompt_result = (await asyncio.wait_for(prompt, WAIT_SECONDS)).json()["status"]
        await outcome(client.delete(f"/jobs/{parked}"))  # a cancel ends every wait on it
        done = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), BOUND)
        facts.waiter_statuses = [answer_of(a) for a in done]
    return facts


def test_every_waiter_reached_the_web_process(facts: Facts) -> None:
    assert facts.connected_waiters >= WAITERS


def test_every_waiter_is_still_waiting_after_the_other_requests(facts: Facts) -> None:
    assert facts.still_waiting == WAITERS


def test_waiters_hold_no_thread(facts: Facts) -> None:
    assert facts.threads_while_waiting <= facts.threads_before


def test_healthz_answers_while_they_wait(facts: Facts) -> None:
    assert facts.healthz == 200


def test_a_job_is_accepted_while_they_wait(facts: Facts) -> None:
    assert facts.submitted == 202


def test_a_waiter_returns_when_its_job_finishes(facts: Facts) -> None:
    assert facts.prompt_result == "finished"


def test_a_cancel_ends_every_wait(facts: Facts) -> None:
    assert set(facts.waiter_statuses) == {"canceled"}, sorted(set(facts.waiter_statuses))[:5]
