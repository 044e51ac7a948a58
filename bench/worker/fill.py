"""Pre-fill the queue for one contender the way its users submit: ours through the API's `submit`, RQ's plainly."""

from __future__ import annotations

from redis import Redis
from rq import Queue

from bench.harness.redis import RedisServer
from bench.tasks import noop
from workers.core.connection import connect
from workers.core.settings import Settings
from workers.jobs.submit import JobSpec, submit
from workers.rq_seam.queue import get_queue
from workers.tasks.registry import load_task_modules

QUEUE = "bench"
FILL_CHUNK = 500


def fill(redis: RedisServer, kind: str, jobs: int) -> None:
    """`jobs` no-op jobs on QUEUE: `examples.noop` via `workers.jobs.submit`, or `bench.tasks.noop` for raw RQ."""
    if kind == "service":
        settings = Settings(redis_url=redis.url)
        load_task_modules(settings.task_modules)
        connection = connect(settings)
        for _ in range(jobs):
            submit(connection, settings, JobSpec(task="examples.noop", queue=QUEUE))
        connection.close()
        return
    queue = Queue(QUEUE, connection=redis.client)
    for start in range(0, jobs, FILL_CHUNK):
        queue.enqueue_many([Queue.prepare_data(noop) for _ in range(start, min(jobs, start + FILL_CHUNK))])


def registry_keys(kind: str, client: Redis) -> tuple[str, str]:
    """The finished and failed registries that contender's workers put ended jobs in."""
    queue = get_queue(QUEUE, client) if kind == "service" else Queue(QUEUE, connection=client)
    return queue.finished_job_registry.key, queue.failed_job_registry.key
