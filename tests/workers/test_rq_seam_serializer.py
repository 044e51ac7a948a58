"""JSON is the only serializer rq can reach, and the service's processes refuse to unpickle code."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pytest
from redis import Redis
from rq.job import Job
from rq.serializers import resolve_serializer

from bench.harness.redis import RedisServer
from workers.rq_seam.serializer import SERIALIZER, make_json_the_only_serializer

UNPICKLE_CODE = "import os, pickle; pickle.loads(pickle.dumps(os.getcwd))"


def test_rq_default_and_pickle_alias_are_json() -> None:
    make_json_the_only_serializer()
    for asked in (None, "pickle"):
        serializer = resolve_serializer(asked)
        assert serializer.loads(SERIALIZER.dumps({"a": [1]})) == {"a": [1]}
        with pytest.raises(ValueError):
            serializer.loads(pickle.dumps({"a": [1]}))


def test_a_fetch_without_serializer_reads_json(redis: Redis) -> None:
    make_json_the_only_serializer()
    job = Job.create("workers.runner.run_task", args=["tests.echo", [1], {}], connection=redis, serializer=SERIALIZER)
    job.save()
    assert Job.fetch(job.id, connection=redis).args == ["tests.echo", [1], {}]


@pytest.mark.parametrize(
    "entry",
    [
        "from service.app import create_app; create_app()",
        "from workers.core.startup import start_process; start_process('test', lambda settings: 'nothing')",
    ],
    ids=["web", "worker-and-scheduler"],
)
def test_every_process_refuses_to_unpickle_code(redis_server: RedisServer, entry: str) -> None:
    env = {**os.environ, "REDIS_URL": redis_server.url, "API_KEYS": "k"}
    done = subprocess.run([sys.executable, "-c", f"{entry}; {UNPICKLE_CODE}"], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "PickleRefusedError: refusing to unpickle posix.getcwd" in done.stderr


def test_the_check_above_can_fail() -> None:
    done = subprocess.run([sys.executable, "-c", UNPICKLE_CODE], capture_output=True, text=True)
    assert done.returncode == 0
