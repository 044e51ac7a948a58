"""rq.job's `zlib`, which knows the compressed form of the job data it has just decompressed.

RQ keeps a job's call (task, arguments) zlib-compressed in the job's hash, decompresses
it on every read and compresses it again on every `save`: a worker re-saves each job
when it ends, so every run pays one `zlib.compress` (tens of microseconds, a few percent
of a no-op job's CPU) to write back the bytes the hash already holds. Here `compress`
of data that `decompress` produced returns the bytes it was read from (RQ's or
workers/jobs/writer.py's, whose smaller window gives other bytes for the same data),
and anything else is compressed as before. The memory kept is bounded.
"""

from __future__ import annotations

import zlib
from typing import Any

KEPT_BYTES = 8 * 1024 * 1024  # plain and compressed bytes remembered, at most; then forgotten at once


class KnownCompression:
    """Stands in for the `zlib` module inside rq.job: `decompress`, `compress`, `error`, the rest as zlib's."""

    error = zlib.error

    def __init__(self) -> None:
        self._known: dict[bytes, bytes] = {}  # plain -> the compressed bytes it was read from
        self._size = 0

    def decompress(self, data: bytes, *args: Any, **kwargs: Any) -> bytes:
        plain = zlib.decompress(data, *args, **kwargs)
        if not args and not kwargs and isinstance(data, bytes):
            if self._size + len(plain) + len(data) > KEPT_BYTES:
                self._known.clear()
                self._size = 0
            self._known[plain] = data
            self._size += len(plain) + len(data)
        return plain

    def compress(self, data: bytes, *args: Any, **kwargs: Any) -> bytes:
        if not args and not kwargs and type(data) is bytes:
            known = self._known.get(data)
            if known is not None:
                return known
        return zlib.compress(data, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)
