"""A real worker's log: one INFO line per job start and end, rq's routine chatter at DEBUG, a stop is no error.

Each job's lines are found by its id in the worker process's own log (text format).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest

from bench.harness.redis import RedisServer
from tests.support.stack import Process, Stack, eventually

pytestmark = pytest.mark.e2e


class Logged:
    """A worker stack and its worker's log."""

    def __init__(self, stack: Stack, worker: Process) -> None:
        self.stack = stack
        self.worker = worker

    def lines(self, level: str, containing: str = "") -> list[str]:
        return [line for line in self.worker.log().splitlines() if f" {level} " in line and containing in line]

    def ended(self, job_id: str) -> dict[str, object]:
        return self.stack.wait_for(job_id)

    def submit(self, task: str, *args: object) -> str:
        answer = self.stack.http.post("/jobs", json={"task": task, "args": list(args)})
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])

    def status(self, job_id: str) -> object:
        return self.stack.http.get(f"/jobs/{job_id}").json()["status"]


@pytest.fixture(scope="module")
def logged(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Logged]:
    stack = Stack(redis_server.url, tmp_path_factory.mktemp("logs"))
    try:
        stack.start("web")
        yield Logged(stack, stack.start("worker"))
    finally:
        stack.stop_all()


def stopped_job(logged: Logged) -> str:
    """A job stopped on request while it runs (DELETE of a started job)."""
    job_id = logged.submit("tests.sleep", 60)
    assert eventually(lambda: logged.status(job_id) == "started")
    assert logged.stack.http.delete(f"/jobs/{job_id}").status_code == 200
    assert logged.ended(job_id)["status"] == "stopped"
    return job_id


@pytest.mark.parametrize("task,args", [("tests.echo", [1]), ("examples.fail", [])])
def test_a_job_logs_one_info_line_at_start_and_one_at_end(logged: Logged, task: str, args: list[object]) -> None:
    job_id = logged.submit(task, *args)
    logged.ended(job_id)
    assert eventually(lambda: len(logged.lines("INFO", job_id)) >= 2)  # the end line is written after the answer
    assert len(logged.lines("INFO", job_id)) == 2, logged.worker.log()[-3000:]


def test_a_failed_task_is_still_logged_as_an_error(logged: Logged) -> None:
    job_id = logged.submit("examples.fail")
    logged.ended(job_id)
    assert eventually(lambda: len(logged.lines("ERROR", job_id)) == 1), logged.worker.log()[-3000:]


def test_a_stop_on_request_logs_info_and_no_error(logged: Logged) -> None:
    job_id = stopped_job(logged)
    assert eventually(lambda: len(logged.lines("INFO", f"job {job_id} stopped")) == 1)
    assert logged.lines("ERROR", job_id) == []


def test_a_stop_on_request_logs_no_traceback(logged: Logged) -> None:
    stopped_job(logged)
    assert "JobInterrupted" not in logged.worker.log()


def test_the_dashboard_says_stopped_for_a_stopped_job(logged: Logged) -> None:
    job_id = stopped_job(logged)
    assert logged.stack.http.get(f"/dashboard/0/data/job/{job_id}.json").json()["status"] == "stopped"


def test_rq_maintenance_is_not_logged_at_info(logged: Logged) -> None:
    assert logged.ended(logged.submit("tests.echo", 1))["status"] == "finished"  # the worker is past its first pass
    assert logged.lines("INFO", "cleaning registries") == []


def test_workers_are_named_by_host_and_pid(logged: Logged) -> None:
    pattern = rf"{re.escape(socket.gethostname())}\.{logged.worker.popen.pid}\.[0-9a-f]{{6}}"
    names = [worker["name"] for worker in logged.stack.http.get("/workers").json()["workers"]]
    assert [name for name in names if re.fullmatch(pattern, name)] == names
