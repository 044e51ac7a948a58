"""The `rqs` command, run as a subprocess against the real web and worker processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rqs.cli import parser

from tests.client.test_cli_help import command_paths
from tests.support.keys import ADMIN_KEY
from tests.support.rqs_cli import RQS, rqs
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e
READ_KEY = "test-read-key"
README = Path(__file__).resolve().parents[2] / "README.md"


def test_submit_wait_prints_the_finished_job_with_its_result(stack: Stack) -> None:
    outcome = rqs(stack, "submit", "tests.echo", "[7]", "--wait")
    assert outcome.code == 0, outcome.stderr
    assert outcome.json()["result"] == 7


def test_submit_sends_kwargs_queue_and_delay(stack: Stack) -> None:
    job = rqs(stack, "submit", "tests.echo", "--kwargs", '{"value": "k"}', "--queue", "low", "--delay", "600").json()
    assert (job["status"], job["queue"]) == ("scheduled", "low")
    assert rqs(stack, "get", job["id"]).json()["kwargs"] == {"value": "k"}


def test_submit_with_the_same_key_twice_gives_one_job(stack: Stack) -> None:
    first = rqs(stack, "submit", "tests.echo", "[1]", "--key", "cli-once").json()
    again = rqs(stack, "submit", "tests.echo", "[1]", "--key", "cli-once").json()
    assert again["id"] == first["id"]


def test_cancel_then_requeue_then_wait(stack: Stack) -> None:
    job_id = rqs(stack, "submit", "tests.echo", '["back"]', "--delay", "600").json()["id"]
    assert rqs(stack, "cancel", job_id).json()["status"] == "canceled"
    assert rqs(stack, "requeue", job_id).code == 0
    assert rqs(stack, "wait", job_id).json()["result"] == "back"


def test_wait_for_a_failed_job_exits_non_zero(stack: Stack) -> None:
    outcome = rqs(stack, "submit", "examples.fail", "--wait")  # raises, with no retry
    assert outcome.code == 1
    assert outcome.json()["status"] == "failed"


def test_batch_submits_every_line(stack: Stack, tmp_path: Path) -> None:
    lines = [json.dumps({"task": "tests.echo", "args": [n]}) for n in range(3)]
    (tmp_path / "jobs.jsonl").write_text("\n".join(lines) + "\n")
    jobs = rqs(stack, "batch", str(tmp_path / "jobs.jsonl")).json()["jobs"]
    assert [rqs(stack, "wait", job["id"]).json()["result"] for job in jobs] == [0, 1, 2]


def test_batch_with_one_bad_line_submits_nothing(stack: Stack, tmp_path: Path) -> None:
    before = rqs(stack, "list", "--status", "scheduled").json()["total"]
    good = {"task": "tests.echo", "args": [1], "delay": 600}
    lines = [json.dumps(good), json.dumps({"task": "no.such.task"})]
    (tmp_path / "jobs.jsonl").write_text("\n".join(lines))
    outcome = rqs(stack, "batch", str(tmp_path / "jobs.jsonl"))
    assert outcome.code == 1
    assert rqs(stack, "list", "--status", "scheduled").json()["total"] == before


def test_list_filters_by_queue_and_status_and_limits(stack: Stack) -> None:
    for _ in range(2):
        rqs(stack, "submit", "tests.echo", "[0]", "--queue", "high", "--delay", "600")
    page = rqs(stack, "list", "--queue", "high", "--status", "scheduled", "--limit", "1").json()
    assert len(page["jobs"]) == 1
    assert page["total"] >= 2


def test_schedules_put_list_pause_trigger_runs(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "hourly.yaml").write_text("task: tests.echo\nargs: [hourly]\ninterval: 3600\n")
    assert rqs(stack, "schedules", "put", "cli-hourly", str(tmp_path / "hourly.yaml")).json()["interval"] == 3600
    names = [s["name"] for s in rqs(stack, "schedules", "list").json()["schedules"]]
    assert "cli-hourly" in names
    assert rqs(stack, "schedules", "pause", "cli-hourly").json()["paused"] is True
    assert rqs(stack, "schedules", "get", "cli-hourly").json()["paused"] is True
    job_id = rqs(stack, "schedules", "trigger", "cli-hourly").json()["id"]
    assert rqs(stack, "wait", job_id).json()["result"] == "hourly"
    assert job_id in [run["job_id"] for run in rqs(stack, "schedules", "runs", "cli-hourly").json()["runs"]]


def test_unknown_task_exits_non_zero_with_the_servers_detail(stack: Stack) -> None:
    outcome = rqs(stack, "submit", "no.such.task")
    assert (outcome.code, outcome.stdout) == (1, "")
    assert outcome.stderr.startswith("rqs: 422: ")
    assert "no.such.task" in outcome.stderr


def test_a_read_key_cannot_cancel(stack: Stack) -> None:
    job_id = rqs(stack, "submit", "tests.echo", "[1]", "--delay", "600").json()["id"]
    outcome = rqs(stack, "cancel", job_id, key=READ_KEY)
    assert outcome.code == 1
    assert outcome.stderr.startswith("rqs: 403: ")


def test_an_unknown_job_is_a_404(stack: Stack) -> None:
    outcome = rqs(stack, "get", "0" * 32)
    assert outcome.code == 1
    assert outcome.stderr.startswith("rqs: 404: ")


def test_args_that_are_not_json_are_refused_before_any_request(stack: Stack) -> None:
    outcome = rqs(stack, "submit", "tests.echo", "[1,")
    assert outcome.code == 2
    assert "ARGS_JSON is not JSON" in outcome.stderr


def test_every_command_has_help(stack: Stack) -> None:
    """The installed `rqs` command: every command and subcommand the parser holds (tests/client walks it too)."""
    paths = [(), *command_paths(parser())]
    outcomes = {" ".join(path): rqs(stack, *path, "--help") for path in paths}
    assert {name: outcome.code for name, outcome in outcomes.items()} == dict.fromkeys(outcomes, 0)
    assert all(outcome.stdout.startswith("usage: rqs") for outcome in outcomes.values())
    assert {"tail", "schedules runs", "cancel", "requeue"} <= set(outcomes)


def readme_cli_example(language: str) -> str:
    """The ```language block of the README's "Client and CLI" section."""
    section = README.read_text().split("## Client and CLI\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"^```{language}\n(.*?)^```", section, re.DOTALL | re.MULTILINE)[0]


def test_the_readme_examples_run_as_pasted(stack: Stack, tmp_path: Path) -> None:
    env = {**os.environ, "RQS_URL": f"http://127.0.0.1:{stack.port}", "KEY": ADMIN_KEY}
    env["PATH"] = f"{RQS.parent}{os.pathsep}{env['PATH']}"
    script = "set -euo pipefail\n" + readme_cli_example("sh")
    done = subprocess.run(["bash", "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_readme_python_example_runs_as_pasted(stack: Stack) -> None:
    env = {**os.environ, "RQS_URL": f"http://127.0.0.1:{stack.port}", "KEY": ADMIN_KEY}
    command = [sys.executable, "-c", readme_cli_example("python")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines()[0] == "5"
    assert done.stdout.splitlines()[1].startswith("422 ")
