"""`POST /jobs/batch` of 1,000 jobs against RQ's own `enqueue_many` of 1,000, in-process, on the same Redis.

Ours pays HTTP, JSON, auth and validation on top of the writes; RQ's figure is the
cost of the writes alone as RQ makes them (one pipeline, a `Job` object per job).
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from rq import Queue
from rq.serializers import JSONSerializer

from bench.harness.redis import RedisServer
from bench.harness.report import ratio
from workers.runner import RUNNER_PATH

BATCH = 1000
STEP_TIMEOUT = 60.0


def measure(base: str, api_key: str, redis: RedisServer, rounds: int) -> dict[str, Any]:
    """Jobs per second of each, best round of `rounds` (alternating), Redis flushed before each."""
    ours, theirs = [], []
    for _ in range(rounds):
        redis.flush()
        ours.append(_timed(lambda: _post_batch(base, api_key)))
        redis.flush()
        theirs.append(_timed(lambda: _enqueue_many(redis)))
    redis.flush()
    best_ours, best_theirs = BATCH / min(ours), BATCH / min(theirs)
    return {
        "batch": BATCH,
        "rounds": rounds,
        "ours_jobs_per_s": round(best_ours),
        "rq_enqueue_many_jobs_per_s": round(best_theirs),
        "ours_rounds_s": [round(s, 4) for s in ours],
        "rq_rounds_s": [round(s, 4) for s in theirs],
        "ratio_ours_to_rq": ratio(best_ours, best_theirs),
        "goal_ratio": 0.8,
    }


def _timed(step: Any) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def _post_batch(base: str, api_key: str) -> None:
    body = json.dumps({"jobs": [{"task": "examples.noop"}] * BATCH}).encode()
    headers = {"Content-Type": "application/json", "X-API-Key": api_key}
    request = urllib.request.Request(base + "/jobs/batch", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=STEP_TIMEOUT) as response:
        if response.status != 202:
            raise RuntimeError(f"POST /jobs/batch answered {response.status}")


def _enqueue_many(redis: RedisServer) -> None:
    queue = Queue("default", connection=redis.client, serializer=JSONSerializer)
    calls = [Queue.prepare_data(RUNNER_PATH, args=("examples.noop", [], {})) for _ in range(BATCH)]
    queue.enqueue_many(calls)
