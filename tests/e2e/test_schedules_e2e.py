"""Schedules fired by real `scheduler` processes, run by a real `worker`."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from bench.harness.redis import RedisServer
from tests.support.stack import Stack, eventually
from workers.core import keys


@pytest.fixture
def sched_stack(redis_server: RedisServer, tmp_path: Path) -> Iterator[Stack]:
    queue = f"q{uuid.uuid4().hex[:8]}"  # a queue of its own, so other tests' jobs do not interfere
    stack = Stack(redis_server.url, tmp_path, QUEUES=queue)
    stack.queue = queue  # type: ignore[attr-defined]
    stack.start("web")
    stack.start("worker")
    yield stack
    stack.stop_all()


def put_interval(stack: Stack, name: str, interval: float = 1, **fields: Any) -> dict[str, Any]:
    body = {"task": "tests.record", "args": [name], "interval": interval, "queue": stack.queue, **fields}  # type: ignore[attr-defined]
    answer = stack.http.put(f"/schedules/{name}", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def runs(stack: Stack, name: str) -> list[dict[str, Any]]:
    return stack.http.get(f"/schedules/{name}/runs", params={"limit": 200}).json()["runs"][::-1]  # type: ignore[no-any-return]


def fired(stack: Stack, name: str) -> list[dict[str, Any]]:
    return [r for r in runs(stack, name) if r["status"] not in ("missed", "skipped")]


def executions(name: str) -> int:
    return int(Redis.from_url(os.environ["TEST_LEDGER_URL"]).get(f"record:{name}") or 0)


def lock_holder(client: Redis) -> int | None:
    """The pid of the scheduler holding the lock (its token starts with the pid)."""
    value = client.get(keys.SCHEDULER_LOCK)
    return int(value.split(b":")[0]) if value else None


def due_seconds(run: dict[str, Any]) -> float:
    return datetime.fromisoformat(run["due_at"]).timestamp()


def fired_seconds(run: dict[str, Any]) -> float:
    return datetime.fromisoformat(run["fired_at"]).timestamp()


def test_interval_runs_are_separate_jobs_one_interval_apart(sched_stack: Stack) -> None:
    sched_stack.start("scheduler")
    put_interval(sched_stack, "tick")
    assert eventually(lambda: len(fired(sched_stack, "tick")) >= 4, timeout=15)
    ledger = fired(sched_stack, "tick")
    dues = [due_seconds(r) for r in ledger]
    assert all(abs((b - a) - 1.0) < 1e-6 for a, b in zip(dues, dues[1:], strict=False)), dues
    assert len({r["job_id"] for r in ledger}) == len(ledger)
    job = sched_stack.wait_for(ledger[0]["job_id"])
    assert job["status"] == "finished"
    assert job["schedule"] == "tick"


def fires_twice_more(stack: Stack, name: str) -> None:
    """Until schedule `name` has fired two more runs: the scheduler was at work meanwhile."""
    count = len(fired(stack, name))
    assert eventually(lambda: len(fired(stack, name)) >= count + 2, timeout=10)


def test_pause_resume_delete(sched_stack: Stack) -> None:
    # given: a control with the same interval, whose runs show the scheduler at work
    sched_stack.start("scheduler")
    put_interval(sched_stack, "pausable")
    put_interval(sched_stack, "pausable-control")
    assert eventually(lambda: len(fired(sched_stack, "pausable")) >= 1, timeout=10)

    # when paused, then nothing fires while the control fires twice
    sched_stack.http.post("/schedules/pausable/pause")
    count = len(fired(sched_stack, "pausable"))
    fires_twice_more(sched_stack, "pausable-control")
    assert len(fired(sched_stack, "pausable")) == count

    # when resumed, then it fires again
    sched_stack.http.post("/schedules/pausable/resume")
    assert eventually(lambda: len(fired(sched_stack, "pausable")) >= count + 2, timeout=10)

    # when deleted, then nothing more runs while the control fires twice
    assert sched_stack.http.delete("/schedules/pausable").status_code == 204
    before = executions("pausable")
    fires_twice_more(sched_stack, "pausable-control")
    assert sched_stack.wait_for(fired(sched_stack, "pausable-control")[-1]["job_id"])["status"] == "finished"
    assert executions("pausable") <= before + 1  # at most the run already queued at delete time


@pytest.mark.parametrize("count", [2, 3])
def test_several_schedulers_and_kill_9_of_the_lock_holder(sched_stack: Stack, count: int) -> None:
    # given
    name = f"contended-{count}"  # the module's Redis outlives each case
    schedulers = [sched_stack.start("scheduler") for _ in range(count)]
    put_interval(sched_stack, name)
    client = Redis.from_url(sched_stack.env["REDIS_URL"])
    assert eventually(lambda: len(fired(sched_stack, name)) >= 3, timeout=15)

    # when: the lock holder is killed, twice
    for _ in range(2):
        holder_pid = lock_holder(client)
        holder = next(p for p in schedulers if p.popen.pid == holder_pid)
        os.kill(holder_pid, signal.SIGKILL)
        holder.popen.wait()
        killed_at = time.monotonic()
        assert eventually(lambda pid=holder_pid: lock_holder(client) not in (None, pid), timeout=10)
        assert time.monotonic() - killed_at < 5  # failover gap
        schedulers.remove(holder)
        schedulers.append(sched_stack.start("scheduler"))

    # then: it keeps firing, each due time once
    before = len(fired(sched_stack, name))
    assert eventually(lambda: len(fired(sched_stack, name)) >= before + 2, timeout=10)
    sched_stack.http.post(f"/schedules/{name}/pause")
    ledger = fired(sched_stack, name)
    dues = [due_seconds(r) for r in ledger]
    assert len(dues) == len(set(dues)), "a due time fired twice"
    assert eventually(lambda: executions(name) == len(ledger), timeout=10)


def test_outage_ends_in_missed_runs_and_one_catch_up(sched_stack: Stack) -> None:
    # given
    scheduler = sched_stack.start("scheduler")
    put_interval(sched_stack, "outage", misfire_grace_time=2)
    assert eventually(lambda: len(fired(sched_stack, "outage")) >= 1, timeout=10)

    # when: the injected fault, a frozen scheduler that holds the lock until it expires and fires nothing
    scheduler.popen.send_signal(signal.SIGSTOP)
    stopped_at = time.time()
    time.sleep(7)  # the outage itself (7 due times), not a wait for something to happen
    scheduler.popen.send_signal(signal.SIGCONT)
    resumed_at = time.time()
    assert eventually(lambda: any(r["status"] == "missed" for r in runs(sched_stack, "outage")), timeout=10)

    # then: the due times of the outage are missed, but for one, the latest within grace when the scheduler came back
    ledger = runs(sched_stack, "outage")
    during = [r for r in ledger if stopped_at + 0.5 < due_seconds(r) < resumed_at - 2.5]
    assert len(during) >= 2
    assert {r["status"] for r in during} == {"missed"}
    not_missed = [r for r in ledger if due_seconds(r) > stopped_at and r["status"] != "missed"]
    assert not_missed != []  # the catch-up run is recorded in the same step as the missed ones
    back_at = fired_seconds(not_missed[0])  # that step; later runs fire at their due times, after it
    catch_up = [r for r in not_missed if due_seconds(r) <= back_at]
    assert len(catch_up) == 1
    assert back_at - due_seconds(catch_up[0]) <= 2  # within grace
    assert sched_stack.http.get("/schedules/outage").json()["missed_total"] >= 2


def test_redis_restart_with_aof_keeps_every_schedule(tmp_path: Path) -> None:
    # given
    server = RedisServer(tmp_path / "aof", appendonly=True).start()
    os.environ.setdefault("TEST_LEDGER_URL", server.url.replace("/0", "/1"))
    stack = Stack(server.url, tmp_path)
    try:
        stack.start("web")
        stack.start("worker")
        stack.start("scheduler")
        for n in range(3):
            stack.http.put(f"/schedules/keep{n}", json={"task": "tests.echo", "args": [n], "interval": 1})
        assert eventually(lambda: stack.http.get("/schedules/keep0").json()["runs_total"] >= 1, timeout=10)

        # when
        server.stop()
        server.start()  # same port, same AOF
        assert eventually(lambda: stack.http.get("/healthz").status_code == 200, timeout=10)

        # then
        names = [s["name"] for s in stack.http.get("/schedules").json()["schedules"]]
        assert names == ["keep0", "keep1", "keep2"]
        before = stack.http.get("/schedules/keep0").json()["runs_total"]
        assert eventually(lambda: stack.http.get("/schedules/keep0").json()["runs_total"] >= before + 2, timeout=15)
    finally:
        stack.stop_all()
        server.stop()


def test_declared_schedule_survives_restarts_and_a_double_deploy(redis_server: RedisServer, tmp_path: Path) -> None:
    # given
    queue, name = f"q{uuid.uuid4().hex[:8]}", f"declared-{uuid.uuid4().hex[:6]}"
    declared = tmp_path / "schedules.yaml"
    declared.write_text(
        f"schedules:\n  - {{name: {name}, task: tests.record, args: [{name}], interval: 1, queue: {queue}}}\n"
    )
    stack = Stack(redis_server.url, tmp_path, QUEUES=queue, SCHEDULES_FILE=str(declared))
    try:
        web, scheduler = stack.start("web"), stack.start("scheduler")
        stack.start("worker")
        assert eventually(lambda: len(fired(stack, name)) >= 2, timeout=10)
        first = stack.http.get(f"/schedules/{name}").json()

        # when
        # A deploy, twice over: new web and scheduler processes all apply the file at once.
        scheduler.terminate()
        web.terminate()
        stack.start("scheduler"), stack.start("scheduler")
        stack.start("web")
        later = len(fired(stack, name))
        assert eventually(lambda: len(fired(stack, name)) >= later + 2, timeout=10)

        # then
        now = stack.http.get(f"/schedules/{name}").json()
        assert [s["name"] for s in stack.http.get("/schedules").json()["schedules"]].count(name) == 1
        assert (now["created_at"], now["start_at"], now["updated_at"]) == (
            first["created_at"],
            first["start_at"],
            first["updated_at"],
        )
        dues = [due_seconds(r) for r in fired(stack, name)]
        assert len(dues) == len(set(dues)), "a due time fired twice"
        start = datetime.fromisoformat(first["start_at"]).timestamp()
        assert all(abs((d - start) - round(d - start)) < 1e-3 for d in dues), "a run drifted off start_at + n s"
        trail = stack.http.get("/audit", params={"schedule": name}).json()["entries"]
        assert [(e["action"], e["key"]) for e in trail] == [("schedule.create", "schedules-file:schedules.yaml")]
    finally:
        stack.stop_all()


def test_a_herd_staged_by_a_lock_holder_killed_before_its_time_runs_each_run_once(sched_stack: Stack) -> None:
    # given three schedulers, and a herd of 60 schedules all due at one whole second some seconds away
    schedulers = [sched_stack.start("scheduler") for _ in range(3)]
    client = Redis.from_url(sched_stack.env["REDIS_URL"])
    assert eventually(lambda: lock_holder(client) is not None, timeout=15)
    due = float(int(time.time()) + 12)  # herds are staged from 10 s ahead
    herd = f"herd{uuid.uuid4().hex[:6]}"
    names = [f"{herd}-{n:02d}" for n in range(60)]
    for name in names:
        put_interval(sched_stack, name, interval=60, start_at=datetime.fromtimestamp(due, UTC).isoformat())

    # when the lock holder has staged it (the runs' jobs are written, `scheduled`) and is killed before its time
    staged = f"rq:job:{names[-1]}-{int(due * 1000)}"
    assert eventually(lambda: client.hget(staged, "status") == b"scheduled", timeout=15)
    holder_pid = lock_holder(client)
    assert holder_pid is not None
    os.kill(holder_pid, signal.SIGKILL)
    next(p for p in schedulers if p.popen.pid == holder_pid).popen.wait()

    # then another scheduler fires every run, once, and the worker runs each once
    assert eventually(lambda: all(len(fired(sched_stack, name)) == 1 for name in names), timeout=30)
    assert eventually(lambda: sum(executions(name) for name in names) == len(names), timeout=30)
    for name in names:
        sched_stack.http.post(f"/schedules/{name}/pause")
    assert [executions(name) for name in names] == [1] * len(names)
    assert {due_seconds(fired(sched_stack, name)[0]) for name in names} == {due}
