"""`rqs` bulk requeue/cancel by filter, `tail`, and the progress bars, against real web and worker processes."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from redis import Redis

from tests.support.keys import ADMIN_KEY
from tests.support.rqs_cli import RQS, rqs
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e
LINE_TIMEOUT = 60  # a line that never comes fails the test rather than hanging it


def ledger() -> Redis:
    return Redis.from_url(os.environ["TEST_LEDGER_URL"])


class Running:
    """`rqs ARGS...` left running, its stdout and stderr read line by line as they come."""

    def __init__(self, stack: Stack, *args: str) -> None:
        env = {**os.environ, "RQS_URL": f"http://127.0.0.1:{stack.port}", "RQS_KEY": ADMIN_KEY}
        self.process = subprocess.Popen(
            [str(RQS), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.out: queue.Queue[str | None] = queue.Queue()
        self.err: queue.Queue[str | None] = queue.Queue()
        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _pump(stream: IO[str] | None, lines: queue.Queue[str | None]) -> None:
        assert stream is not None
        for line in stream:
            lines.put(line.rstrip("\n"))
        lines.put(None)  # the end of the stream

    def line_with(self, lines: queue.Queue[str | None], text: str) -> str:
        while True:
            line = lines.get(timeout=LINE_TIMEOUT)
            assert line is not None, f"the stream ended without a line containing {text!r}"
            if text in line:
                return line

    def rest(self, lines: queue.Queue[str | None]) -> list[str]:
        """Every line still to come, up to the end of the stream."""
        found = []
        while (line := lines.get(timeout=LINE_TIMEOUT)) is not None:
            found.append(line)
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for one in started:
        one.stop()


def submit(stack: Stack, *args: str) -> str:
    outcome = rqs(stack, "submit", *args)
    assert outcome.code == 0, outcome.stderr
    return str(outcome.json()["id"])


def test_requeue_every_failed_job_of_one_task_after_a_fix(stack: Stack) -> None:
    """tests.flaky with `failures=1` fails its first run and succeeds once run again: the "fix"."""
    run = uuid.uuid4().hex
    broken = []
    for n in range(3):
        body = {"task": "tests.flaky", "args": [f"{run}-{n}", 1], "retry": 0}
        broken.append(stack.http.post("/jobs", json=body).json()["id"])
    other = submit(stack, "examples.fail")
    assert {stack.wait_for(job)["status"] for job in [*broken, other]} == {"failed"}
    outcome = rqs(stack, "requeue", "--task", "tests.flaky", "--status", "failed")
    assert outcome.code == 0, outcome.stderr
    assert outcome.json() == {"count": 3, "more": False}
    assert [stack.wait_for(job)["result"] for job in broken] == ["ok after 2"] * 3
    assert stack.http.get(f"/jobs/{other}").json()["status"] == "failed"
    entry = stack.http.get("/audit", params={"limit": 1}).json()["entries"][0]
    assert (entry["action"], entry["after"]["count"]) == ("jobs.requeue", 3)


def test_cancel_by_filter_and_the_refusals(stack: Stack) -> None:
    delayed = [submit(stack, "tests.echo", f"[{n}]", "--queue", "low", "--delay", "600") for n in range(3)]
    outcome = rqs(stack, "cancel", "--queue", "low", "--status", "scheduled", "--limit", "2")
    assert outcome.json() == {"count": 2, "more": True}
    assert rqs(stack, "cancel", "--queue", "low", "--status", "scheduled").json() == {"count": 1, "more": False}
    assert {stack.http.get(f"/jobs/{job}").json()["status"] for job in delayed} == {"canceled"}
    everything = rqs(stack, "cancel")
    assert everything.code == 1
    assert everything.stderr.startswith("rqs: 422: ") and "at least one filter" in everything.stderr
    as_writer = rqs(stack, "requeue", "--status", "canceled", key="test-write-key")
    assert as_writer.code == 1 and as_writer.stderr.startswith("rqs: 403: ")
    both = rqs(stack, "cancel", delayed[0], "--task", "tests.echo")
    assert both.code == 2 and "not both" in both.stderr


def test_tail_prints_each_end_then_exits_0_on_ctrl_c(stack: Stack, running: list[Running]) -> None:
    cursor = stack.http.get("/jobs/events").json()["cursor"]  # from here on: no end can slip past the tail
    tail = Running(stack, "tail", "--task", "tests.echo", "--after", cursor)
    running.append(tail)
    done = submit(stack, "tests.echo", "[1]")
    skipped = submit(stack, "tests.anything")
    canceled = submit(stack, "tests.echo", "[2]", "--delay", "600")
    rqs(stack, "cancel", canceled)
    finished_line = tail.line_with(tail.out, done)
    canceled_line = tail.line_with(tail.out, canceled)
    assert " finished " in finished_line and " tests.echo " in finished_line and finished_line.endswith("s")
    assert " canceled " in canceled_line
    stack.wait_for(skipped)
    tail.process.send_signal(signal.SIGINT)
    assert tail.process.wait(30) == 0
    assert not [line for line in tail.rest(tail.out) if skipped in line]
    assert tail.rest(tail.err) == []


def test_tail_json_lines_resume_from_a_cursor(stack: Stack, running: list[Running]) -> None:
    cursor = stack.http.get("/jobs/events").json()["cursor"]
    job = submit(stack, "tests.echo", "[3]")
    stack.wait_for(job)
    tail = Running(stack, "tail", "--json", "--after", cursor, "--status", "finished")
    running.append(tail)
    end = json.loads(tail.line_with(tail.out, job))
    assert (end["id"], end["status"], end["task"], end["queue"]) == (job, "finished", "tests.echo", "default")


def test_submit_wait_draws_the_jobs_progress(stack: Stack, running: list[Running]) -> None:
    key = uuid.uuid4().hex
    waiting = Running(stack, "submit", "tests.progress_gate", json.dumps([key, 0.4, 0.9]), "--wait")
    running.append(waiting)
    mid = waiting.line_with(waiting.err, "before 0.4")  # a line per change: stderr is not a terminal here
    assert mid.startswith("[" + "#" * 12 + "." * 18 + "]  40% started")
    ledger().set(f"open:{key}", 1)
    assert waiting.process.wait(60) == 0
    assert waiting.rest(waiting.err)[-1].endswith("90% finished after 0.9")
    assert json.loads("\n".join(waiting.rest(waiting.out)))["result"] == 0.9


def test_batch_wait_draws_jobs_ended_and_exits_1_when_one_failed(stack: Stack, tmp_path: Path) -> None:
    lines = [{"task": "tests.echo", "args": [n]} for n in range(3)] + [{"task": "examples.fail"}]
    (tmp_path / "jobs.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    outcome = rqs(stack, "batch", str(tmp_path / "jobs.jsonl"), "--wait")
    assert outcome.code == 1
    assert [job["status"] for job in outcome.json()["jobs"]] == ["finished"] * 3 + ["failed"]
    assert outcome.stderr.splitlines()[0].startswith("[" + "." * 30 + "]   0% 0 of 4 ended")
    assert outcome.stderr.splitlines()[-1] == "[" + "#" * 30 + "] 100% 4 of 4 ended"
