"""Job ends go on the capped events stream inside the pipeline that records the end: no round trip more."""

from __future__ import annotations

from redis import Redis

from tests.workers.test_metrics import round_trips
from workers.core.settings import Settings
from workers.observability.events import KEPT, STREAM, add_job_end, parse


def ends(redis: Redis) -> list[tuple[str, str]]:
    return [(end.task, end.status) for end in (parse(*entry) for entry in redis.xrange(STREAM))]


def test_the_worker_adds_each_end_on_its_own_pipeline(redis: Redis, settings: Settings) -> None:
    """`meter.record` adds the end; test_metrics' test_recording_adds_no_round_trip_per_job counts its round trips."""
    round_trips(settings, recording=False)
    assert ends(redis) == []
    round_trips(settings, recording=True)
    assert sorted(ends(redis)) == [
        ("examples.add", "finished"),
        ("examples.add", "finished"),
        ("examples.fail", "failed"),
        ("examples.fail", "failed"),
    ]


def test_the_stream_is_capped(redis: Redis) -> None:
    with redis.pipeline() as pipeline:
        for n in range(KEPT + 1000):
            add_job_end(pipeline, f"job-{n}", "examples.noop", "default", "finished", 0.1)
        pipeline.execute()
    assert KEPT <= redis.xlen(STREAM) < KEPT + 1000  # MAXLEN ~ trims whole nodes: about KEPT
