"""A stream handler that writes its lines a few at a time: for the worker, which logs two lines per job.

A plain StreamHandler writes and flushes every line: one `write` system call per line,
during which the logging thread lets go of the GIL and, with several job threads
running, waits to get it back. At hundreds of jobs a second that was a tenth of a no-op
job's CPU. Here a line is formatted and filtered as before, then kept; the kept lines
go out in one write every FLUSH_EVERY seconds, at once when a WARNING or worse comes
(after the lines before it, so the order holds) or MAX_KEPT are waiting, and at exit
(`logging.shutdown` flushes every handler). What is written is the same; a line
reaches the stream at most FLUSH_EVERY seconds late, and a process killed outright
loses at most that much.

The worker's own two lines per job can skip even the record: `defer` keeps the logger,
the time and the message's parts (a tuple append, no lock), and the record is built,
filtered and formatted later on the flush thread, before any line emitted after it.
With several job threads, building records on each (a lock, and the GIL passed between
threads per line) cost far more CPU than building them in one place.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TextIO

FLUSH_EVERY = 0.05  # seconds
# (handler, logger, level, created, msg, args, extra) -> the line, "" if filtered out, None: build the record
QuickLine = Callable[
    [logging.Handler, logging.Logger, int, float, str, tuple[Any, ...], dict[str, Any] | None], str | None
]
MAX_KEPT = 256  # lines


class BufferedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """`logging.StreamHandler`, writing in batches (see the module's docstring)."""

    def __init__(
        self, stream: TextIO | None = None, every: float = FLUSH_EVERY, quick_line: QuickLine | None = None
    ) -> None:
        super().__init__(stream)
        self.every = every
        self.quick_line = quick_line  # a deferred line's text without its record, when it can tell (logs.py)
        self._kept: list[str] = []
        self._flusher_pid: int | None = None  # the process whose flusher thread runs (a fork has none)
        self._deferred: deque[tuple[logging.Logger, int, float, str, tuple[Any, ...], dict[str, Any] | None]] = deque()

    def defer(
        self, logger: logging.Logger, level: int, msg: str, args: tuple[Any, ...], extra: dict[str, Any] | None
    ) -> None:
        """A line of `logger` that only this handler writes, its record built on the flush thread."""
        self._deferred.append((logger, level, time.time(), msg, args, extra))
        if len(self._deferred) >= MAX_KEPT:
            self.flush()
        else:
            self._start_flusher()

    def emit(self, record: logging.LogRecord) -> None:
        """Called under the handler's lock (`Handler.handle`)."""
        try:
            self._build_deferred()
            self._kept.append(self.format(record) + self.terminator)
            if record.levelno >= logging.WARNING or len(self._kept) >= MAX_KEPT:
                self._write_kept()
            else:
                self._start_flusher()
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - as StreamHandler: a failing line is reported, never raised
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._build_deferred()
            self._write_kept()

    def _start_flusher(self) -> None:
        if self._flusher_pid != os.getpid():
            self._flusher_pid = os.getpid()
            threading.Thread(target=self._flush_every, name="log-flush", daemon=True).start()

    def _build_deferred(self) -> None:
        """The deferred lines as `logger.log` would have made them, in order, kept (under the lock)."""
        while self._deferred:
            logger, level, created, msg, args, extra = self._deferred.popleft()
            try:
                line = (
                    None if self.quick_line is None else self.quick_line(self, logger, level, created, msg, args, extra)
                )
                if line is not None:
                    if line:  # "": filtered out
                        self._kept.append(line + self.terminator)
                    continue
                record = logger.makeRecord(logger.name, level, "", 0, msg, args, None, None, extra)
                record.created, record.msecs = created, (created - int(created)) * 1000
                if logger.filter(record) and self.filter(record):
                    self._kept.append(self.format(record) + self.terminator)
            except RecursionError:
                raise
            except Exception:  # noqa: BLE001 - as StreamHandler: a failing line is reported, never raised
                self.handleError(logging.makeLogRecord({"name": logger.name, "msg": msg, "args": args}))

    def _write_kept(self) -> None:
        if self._kept:
            text = "".join(self._kept)
            self._kept.clear()
            self.stream.write(text)
        if self.stream and hasattr(self.stream, "flush"):
            self.stream.flush()

    def _flush_every(self) -> None:
        while True:
            time.sleep(self.every)
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - a closed stream at exit: nothing left to write to
                return
