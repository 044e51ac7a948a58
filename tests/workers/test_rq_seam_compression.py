"""rq.job's `zlib` in the seam: a job's data is written back as the bytes it was read from, never recompressed."""

from __future__ import annotations

import inspect
import zlib

import rq.job
from redis import Redis
from rq.job import Job

from workers.rq_seam import compression
from workers.rq_seam.compression import KnownCompression
from workers.rq_seam.job import TaskJob
from workers.rq_seam.queue import get_queue


def test_rq_job_compresses_and_decompresses_through_its_module_zlib() -> None:
    """The names the seam rebinds: rq.job's module `zlib`, used by `restore` and `to_dict`."""
    assert isinstance(rq.job.zlib, KnownCompression)
    assert "zlib.decompress(raw_data)" in inspect.getsource(Job.restore)
    assert "zlib.compress(self.data)" in inspect.getsource(Job.to_dict)
    assert "except zlib.error" in inspect.getsource(Job.restore)


def test_data_read_is_given_back_as_the_bytes_it_came_from() -> None:
    known = KnownCompression()
    stored = zlib.compress(b"call", 9)  # not what compress() at the default level would make
    plain = known.decompress(stored)
    assert plain == b"call"
    assert known.compress(plain) is stored


def test_other_data_is_compressed_as_zlib_does() -> None:
    known = KnownCompression()
    assert known.compress(b"never read") == zlib.compress(b"never read")
    assert known.compress(bytearray(b"x")) == zlib.compress(b"x")
    assert known.compress(b"x", 1) == zlib.compress(b"x", 1)
    assert known.error is zlib.error
    assert known.MAX_WBITS == zlib.MAX_WBITS


def test_memory_kept_is_bounded() -> None:
    known = KnownCompression()
    blob = bytes(range(256)) * 64
    for i in range(compression.KEPT_BYTES // len(blob) + 10):
        known.decompress(zlib.compress(blob + str(i).encode()))
    assert known._size <= compression.KEPT_BYTES
    assert len(known._known) <= compression.KEPT_BYTES // len(blob)


def test_a_job_saved_again_keeps_its_stored_data_bytes(redis: Redis) -> None:
    job = get_queue("default", redis).enqueue_call("workers.runner.run_task", args=["tests.echo", ["a"], {}])
    before = redis.hget(job.key, "data")
    fetched = TaskJob.fetch(job.id, connection=redis)
    fetched.save()
    assert redis.hget(job.key, "data") == before
    assert TaskJob.fetch(job.id, connection=redis).args == ["tests.echo", ["a"], {}]
