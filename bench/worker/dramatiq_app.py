"""The dramatiq side of the worker benchmark: its Redis broker, its results middleware, the same tasks.

`python -m dramatiq bench.worker.dramatiq_app` starts dramatiq's default worker on it
(2 processes x 8 threads on 2 cores); BENCH_REDIS_URL names the Redis and
BENCH_DRAMATIQ_NAMESPACE the key prefix (the benchmark fills a staging namespace,
then renames its keys into the live one, so the clock starts with a full queue).
"""

from __future__ import annotations

import asyncio
import os
import time

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends.redis import RedisBackend

QUEUE = "bench"
SLEEP_SECONDS = 0.05

_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
broker = RedisBroker(url=_url, namespace=os.environ.get("BENCH_DRAMATIQ_NAMESPACE", "dramatiq"))
broker.add_middleware(Results(backend=RedisBackend(url=_url)))
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name=QUEUE, store_results=True, max_retries=1)
def noop() -> None:
    """Do nothing: only dramatiq's handling of the message is measured."""


@dramatiq.actor(queue_name=QUEUE, store_results=True, max_retries=1)
def sleep_50ms() -> None:
    time.sleep(SLEEP_SECONDS)


@dramatiq.actor(queue_name=QUEUE, store_results=True, max_retries=1)
async def async_sleep_50ms() -> None:
    await asyncio.sleep(SLEEP_SECONDS)
