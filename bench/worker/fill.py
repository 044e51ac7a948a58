"""Pre-fill the queue for one contender as its users submit: ours through the API's `submit`, the others plainly."""

from __future__ import annotations

from redis import Redis
from rq import Queue, Retry

from bench import tasks as raw_tasks
from bench.harness.redis import RedisServer
from workers.core.connection import connect
from workers.core.settings import Settings
from workers.jobs.submit import JobSpec, submit
from workers.rq_seam.queue import get_queue
from workers.tasks.registry import RetryPolicy, load_task_modules

QUEUE = "bench"
FILL_CHUNK = 500
TASK_MODULES = "bench.worker.sleep_tasks"
OUR_TASKS = {"noop": "examples.noop", "sleep": "bench.sleep_50ms", "async_sleep": "bench.async_sleep_50ms"}
RAW_TASKS = {"noop": raw_tasks.noop, "sleep": raw_tasks.sleep_50ms}


def fill(redis: RedisServer, kind: str, jobs: int, task: str) -> None:
    """`jobs` jobs of `task` on QUEUE, each with one retry (as the tests and the issue ask)."""
    if kind == "service":
        settings = Settings(redis_url=redis.url, task_modules=[TASK_MODULES])
        load_task_modules(settings.task_modules)
        connection = connect(settings)
        for _ in range(jobs):
            submit(connection, settings, JobSpec(task=OUR_TASKS[task], queue=QUEUE, retry=RetryPolicy(max=1)))
        connection.close()
        return
    queue = Queue(QUEUE, connection=redis.client)
    for start in range(0, jobs, FILL_CHUNK):
        chunk = range(start, min(jobs, start + FILL_CHUNK))
        queue.enqueue_many([Queue.prepare_data(RAW_TASKS[task], retry=Retry(max=1)) for _ in chunk])


def registry_keys(kind: str, client: Redis) -> tuple[str, str]:
    """The finished and failed registries that contender's workers put ended jobs in."""
    queue = get_queue(QUEUE, client) if kind == "service" else Queue(QUEUE, connection=client)
    return queue.finished_job_registry.key, queue.failed_job_registry.key
