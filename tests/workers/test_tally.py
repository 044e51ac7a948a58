"""A worker's job-run metrics summed in memory (workers/observability/tally.py) and written per beat."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from bench.harness.redis import RedisServer
from workers.core.settings import Settings
from workers.observability import metrics
from workers.observability.tally import Tally
from workers.rq_seam.queue import get_queue
from workers.rq_seam.worker import ServiceWorker

OTHER_DB = 2  # the immediate path's writes, beside the tally's in db 0 (the `redis` fixture flushes all)
OUTCOMES = (metrics.FINISHED, metrics.FAILED, metrics.RETRIED)


def sample_runs(count: int, seed: int = 0) -> list[metrics.JobRun]:
    """Runs over a few series, bucket bounds and missing timings; every time a multiple of 1/64,
    so sums in Python and in Redis are exact and the stored values compare byte for byte."""
    runs = []
    for n in range(seed, seed + count):
        duration = None if n % 17 == 0 else (n % 400) / 64 + (5000.0 if n % 101 == 0 else 0.0)
        wait = None if n % 13 == 0 else (n % 90) / 64
        runs.append(metrics.JobRun(f"task{n % 3}", ("default", "low")[n % 2], OUTCOMES[n % 3], wait, duration))
    return runs


def hashes(connection: Redis) -> dict[bytes, dict[bytes, bytes]]:
    return {key: connection.hgetall(key) for key in sorted(connection.keys("rqs:metrics:*"))}


def written_at_once(connection: Redis, runs: list[metrics.JobRun]) -> dict[bytes, dict[bytes, bytes]]:
    """What the immediate path (`record_job_run` per run) leaves in Redis for `runs`."""
    with connection.pipeline(transaction=False) as pipeline:
        for run in runs:
            metrics.record_job_run(pipeline, run)
        pipeline.execute()
    return hashes(connection)


@pytest.fixture
def other_db(settings: Settings, redis: Redis) -> Iterator[Redis]:
    client = Redis.from_url(settings.redis_url.rsplit("/", 1)[0] + f"/{OTHER_DB}")
    yield client
    client.close()


def test_concurrent_adds_sum_exactly_and_write_what_the_immediate_path_writes(redis: Redis, other_db: Redis) -> None:
    # given: 8 threads, each adding 1,000 runs at once
    tally = Tally()
    per_thread = [sample_runs(1000, seed=1000 * t) for t in range(8)]
    start = threading.Barrier(len(per_thread))

    def add(runs: list[metrics.JobRun]) -> None:
        start.wait()
        for run in runs:
            tally.add(metrics.job_run_steps(run))

    threads = [threading.Thread(target=add, args=(runs,)) for runs in per_thread]

    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = tally.take()

    # then: every run counted once, and nothing left
    counts = {field: n for (key, field), n in taken.items() if key == metrics.TASK_RUNS.key}
    assert sum(counts.values()) == 8000
    assert tally.take() == {}
    tally.put_back(taken)
    assert tally.flush(redis) == len(taken)
    everything = [run for runs in per_thread for run in runs]
    assert hashes(redis) == written_at_once(other_db, everything)


def test_amounts_a_failed_write_took_are_written_later(tmp_path: Path, redis: Redis, other_db: Redis) -> None:
    # given: a tally writing to a Redis that then stops
    server = RedisServer(tmp_path / "redis").start()
    client = Redis(port=server.port, socket_connect_timeout=1, socket_timeout=1)
    tally = Tally()
    before, meanwhile = sample_runs(300), sample_runs(200, seed=300)
    try:
        for run in before:
            tally.add(metrics.job_run_steps(run))
        server.stop()

        # when: a flush fails, more runs end, and Redis is back
        with pytest.raises(RedisConnectionError):
            tally.flush(client)
        for run in meanwhile:
            tally.add(metrics.job_run_steps(run))
        server.start()
        tally.flush(client)

        # then: each run counted once
        assert hashes(client) == written_at_once(other_db, before + meanwhile)
        assert tally.take() == {}
    finally:
        client.close()
        server.stop()


def test_a_refused_command_puts_back_its_own_amount_only(redis: Redis, other_db: Redis) -> None:
    # given: the wait histogram's key holds a string, so its commands are refused
    tally = Tally()
    runs = sample_runs(50)
    for run in runs:
        tally.add(metrics.job_run_steps(run))
    redis.set(metrics.TASK_WAIT_SECONDS.key, "in the way")

    # when
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        tally.flush(redis)

    # then: only the refused amounts are pending; written once the key is fixed
    left = tally.take()
    assert {key for key, _ in left} == {metrics.TASK_WAIT_SECONDS.key}
    tally.put_back(left)
    redis.delete(metrics.TASK_WAIT_SECONDS.key)
    tally.flush(redis)
    assert hashes(redis) == written_at_once(other_db, runs)


def test_the_beat_writes_the_tally_and_keeps_what_it_could_not(tmp_path: Path, other_db: Redis) -> None:
    # given: a worker with runs tallied, on a Redis that then stops
    server = RedisServer(tmp_path / "redis").start()
    client = Redis(port=server.port, socket_connect_timeout=1, socket_timeout=1)
    worker = ServiceWorker([get_queue("default", client)], connection=client)
    runs = sample_runs(100)
    try:
        for run in runs:
            worker.meter.tally.add(metrics.job_run_steps(run))
        server.stop()

        # when: a beat fails, then one goes through
        with pytest.raises(RedisConnectionError):
            worker.renew_heartbeats([], False)
        server.start()
        worker.renew_heartbeats([], False)

        # then
        assert hashes(client) == written_at_once(other_db, runs)
        assert worker.meter.tally.take() == {}
    finally:
        client.close()
        server.stop()


def test_a_burst_worker_has_written_every_count_when_it_returns(redis: Redis) -> None:
    # given
    jobs = 300
    queue = get_queue("default", redis)
    for _ in range(jobs):
        queue.enqueue_call("workers.runner.run_task", args=["examples.noop", [], {}])
    worker = ServiceWorker([queue], connection=redis)

    # when
    worker.work(burst=True)

    # then: the runs since the last beat were written at the teardown
    counters = {data.family.name: data.counters for data in metrics.read_families(redis)}["rqs_task_runs"]
    assert counters[("examples.noop", "default", metrics.FINISHED)] == jobs
    assert worker.meter.tally.take() == {}
