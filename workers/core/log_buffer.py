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
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TextIO

FLUSH_EVERY = 0.05  # seconds
MAX_KEPT = 256  # lines


class BufferedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """`logging.StreamHandler`, writing in batches (see the module's docstring)."""

    def __init__(self, stream: TextIO | None = None, every: float = FLUSH_EVERY) -> None:
        super().__init__(stream)
        self.every = every
        self._kept: list[str] = []
        self._flusher_pid: int | None = None  # the process whose flusher thread runs (a fork has none)

    def emit(self, record: logging.LogRecord) -> None:
        """Called under the handler's lock (`Handler.handle`)."""
        try:
            self._kept.append(self.format(record) + self.terminator)
            if record.levelno >= logging.WARNING or len(self._kept) >= MAX_KEPT:
                self._write_kept()
            elif self._flusher_pid != os.getpid():
                self._flusher_pid = os.getpid()
                threading.Thread(target=self._flush_every, name="log-flush", daemon=True).start()
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - as StreamHandler: a failing line is reported, never raised
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write_kept()

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
