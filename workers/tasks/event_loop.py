"""One event loop per process, in its own thread: every async task of that process runs on it, concurrently.

The job's worker thread waits for its coroutine's result; an exception raised in that
thread (a stop, a timeout, the end of the shutdown grace) cancels the coroutine. The
wait wakes every WAKE_EVERY seconds, because an exception raised into a thread is only
seen between Python instructions, never inside a blocking lock wait.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any

WAKE_EVERY = 0.1

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def run_on_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run `coroutine` on the shared loop and wait for it here; cancel it if this thread is interrupted."""
    future = asyncio.run_coroutine_threadsafe(coroutine, _shared_loop())
    try:
        while True:
            try:
                return future.result(timeout=WAKE_EVERY)
            except concurrent.futures.TimeoutError:
                continue
    except BaseException:
        future.cancel()
        raise


def _shared_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="async-tasks", daemon=True).start()
        return _loop
