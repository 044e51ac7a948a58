"""Task limits on a real Redis: parsed at registration; admit, renew, release; a refused job waits scheduled."""

from __future__ import annotations

import time

import pytest
from redis import Redis
from rq.job import JobStatus

from workers.core.keys import limit_line_key, limit_slots_key, limit_starts_key
from workers.limits import gate
from workers.limits.spec import Limits, Rate
from workers.rq_seam.job import TaskJob
from workers.rq_seam.queue import get_queue
from workers.rq_seam.worker import ServiceWorker
from workers.tasks.registry import task


@pytest.mark.parametrize(("text", "count", "seconds"), [("100/m", 100, 60), ("5/s", 5, 1), (" 7 / h", 7, 3600)])
def test_rate_strings(text: str, count: int, seconds: int) -> None:
    assert Rate.parse(text) == Rate(count, seconds)


@pytest.mark.parametrize("text", ["100", "100/d", "0/s", "-1/m", "x/m", "1.5/s", ""])
def test_a_bad_rate_fails_at_registration_and_says_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="N/s, N/m or N/h"):
        task(name="tests.never_registered", rate=text)


@pytest.mark.parametrize("value", [0, -2, 1.5, True, "2"])
def test_a_bad_concurrency_fails_at_registration(value: object) -> None:
    with pytest.raises(ValueError, match="whole number >= 1"):
        task(name="tests.never_registered", concurrency=value)  # type: ignore[arg-type]


def holder(job_id: str, concurrency: int | None = None, rate: str | None = None) -> gate.Holder:
    limits = Limits.parse(concurrency, rate)
    assert limits is not None
    return gate.Holder(f"t-{concurrency}-{rate}", job_id, limits)


def admitted(redis: Redis, holders: list[gate.Holder]) -> list[bool]:
    return [verdict.admitted_ms is not None for verdict in gate.admit(redis, holders)]


def test_concurrency_admits_n_then_refuses_until_a_slot_is_freed(redis: Redis) -> None:
    a, b, c = (holder(x, concurrency=2) for x in "abc")
    verdicts = gate.admit(redis, [a, b, c])
    assert [v.admitted_ms is not None for v in verdicts] == [True, True, False]
    assert verdicts[2].wait > 0
    gate.release(redis, a)
    assert admitted(redis, [c]) == [True]


def test_each_run_holds_its_own_slot_and_frees_only_that_one(redis: Redis) -> None:
    first, rerun, other = holder("a", concurrency=2), holder("a", concurrency=2), holder("b", concurrency=2)
    assert admitted(redis, [first, rerun]) == [True, True]  # the same job twice: two runs, two slots
    gate.release(redis, first)
    gate.release(redis, first)  # a late second release (an abandoned thread ending) frees nothing more
    assert admitted(redis, [other]) == [True]
    assert admitted(redis, [holder("c", concurrency=2)]) == [False]


def test_a_lease_not_renewed_frees_its_slot(redis: Redis) -> None:
    a, b = holder("a", concurrency=1), holder("b", concurrency=1)
    assert admitted(redis, [a]) == [True]
    redis.zadd(limit_slots_key(a.task), {a.member: time.time() * 1000 - 1000})  # its lease ran out: the worker died
    assert admitted(redis, [b]) == [True]


def test_renewing_extends_the_lease(redis: Redis) -> None:
    a = holder("a", concurrency=1)
    gate.admit(redis, [a])
    redis.zadd(limit_slots_key(a.task), {a.member: 1}, xx=True)  # about to end
    with redis.pipeline() as pipeline:
        gate.renew(pipeline, [a])
        pipeline.execute()
    assert (redis.zscore(limit_slots_key(a.task), a.member) or 0) > time.time() * 1000


def test_rate_admits_n_per_window_and_says_when_it_reopens(redis: Redis) -> None:
    holders = [holder(str(i), rate="3/m") for i in range(4)]
    verdicts = gate.admit(redis, holders)
    assert [v.admitted_ms is not None for v in verdicts] == [True, True, True, False]
    assert 0 < verdicts[3].wait <= 60


def test_a_rate_backlog_comes_back_a_window_at_a_time(redis: Redis) -> None:
    # Given a rate of 3 a minute, and 10 jobs asking at once
    holders = [holder(str(i), rate="3/m") for i in range(10)]
    verdicts = gate.admit(redis, holders)

    # Then 3 start, and the 7 refused are each given their own later start: 3 when this
    # window's starts free, 3 a window later, 1 a window after that (not all 7 at the reopening)
    assert [v.admitted_ms is not None for v in verdicts] == [True] * 3 + [False] * 7
    waits = [v.wait for v in verdicts[3:]]
    assert all(0 < wait <= 60 for wait in waits[:3])
    assert all(60 < wait <= 120 for wait in waits[3:6])
    assert 120 < waits[6] <= 180
    assert redis.zcard(limit_line_key(holders[0].task)) == 7


def test_a_job_back_at_its_start_leaves_the_line_or_goes_to_its_front(redis: Redis) -> None:
    holders = [holder(str(i), rate="2/m") for i in range(6)]
    gate.admit(redis, holders)  # 2 start; 4 in line: two a window on, two two windows on
    line = limit_line_key(holders[0].task)
    back = gate.Holder(holders[5].task, holders[5].job_id, holders[5].limits)  # the last in line, back early

    # When it asks again while the window is still full, it is given the front's start, not a later one
    [again] = gate.admit(redis, [back])
    assert again.admitted_ms is None
    assert again.wait <= 60
    assert redis.zcard(line) == 4

    # And once the window has room it starts and leaves the line
    redis.delete(limit_starts_key(back.task))
    assert admitted(redis, [back]) == [True]
    assert redis.zscore(line, back.job_id) is None


def test_a_refused_job_waits_in_the_scheduled_registry_and_frees_the_worker(redis: Redis) -> None:
    import tests.limited_tasks  # noqa: F401 - registers tests.limited

    queue = get_queue("default", redis)
    ids = [queue.enqueue_call("workers.runner.run_task", args=["tests.limited", ["k", 0], {}]).id for _ in range(3)]
    worker = ServiceWorker([queue], connection=redis)
    batch = worker._take_batch(blocking=False)
    assert not batch.started  # a limited task's jobs are only taken, then admitted
    started = worker._start_batch(batch.held)
    assert [job.id for job, _ in started] == ids[:2]
    waiting = TaskJob.fetch(ids[2], connection=redis)
    assert waiting.get_status() == JobStatus.SCHEDULED
    assert ids[2] in queue.scheduled_job_registry.get_job_ids()
    assert redis.llen(queue.intermediate_queue_key) == 0
