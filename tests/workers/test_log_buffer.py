"""The worker's log handler writes the same lines as a plain one, a few at a time, in order."""

from __future__ import annotations

import io
import logging
import time

from workers.core.log_buffer import BufferedStreamHandler


def handler_on(stream: io.StringIO, every: float = 3600.0) -> tuple[logging.Logger, BufferedStreamHandler]:
    handler = BufferedStreamHandler(stream, every=every)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.Logger("buffered-test")
    logger.addHandler(handler)
    return logger, handler


def test_lines_are_kept_until_flushed() -> None:
    stream = io.StringIO()
    logger, handler = handler_on(stream)
    logger.info("job %s started", "j1")
    logger.info("job %s finished", "j1")
    assert stream.getvalue() == ""
    handler.flush()
    assert stream.getvalue() == "INFO job j1 started\nINFO job j1 finished\n"


def test_a_warning_goes_out_at_once_after_the_lines_before_it() -> None:
    stream = io.StringIO()
    logger, _ = handler_on(stream)
    logger.info("first")
    logger.warning("then this")
    assert stream.getvalue() == "INFO first\nWARNING then this\n"


def test_kept_lines_are_written_without_being_asked() -> None:
    stream = io.StringIO()
    logger, _ = handler_on(stream, every=0.01)
    logger.info("on its own")
    deadline = time.monotonic() + 30
    while stream.getvalue() == "" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.getvalue() == "INFO on its own\n"


def test_a_deferred_line_reads_as_the_logged_line_and_keeps_its_place() -> None:
    stream = io.StringIO()
    logger, handler = handler_on(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s %(job_id)s"))
    logged_at = time.time()
    handler.defer(logger, logging.INFO, "job %s started: %s", ("j1", "examples.noop"), {"job_id": "j1"})
    logger.info("then %s", "this", extra={"job_id": "j2"})
    logger.warning("and this", extra={"job_id": "j3"})
    first, second, third = stream.getvalue().splitlines()
    stamp = logging.Formatter().formatTime(logging.makeLogRecord({"created": logged_at}))
    assert first.startswith(stamp[:16])  # the time it was deferred at, not the time it was built
    assert first.split(" ", 2)[2] == "buffered-test INFO job j1 started: examples.noop j1"
    assert second.split(" ", 2)[2] == "buffered-test INFO then this j2"
    assert third.split(" ", 2)[2] == "buffered-test WARNING and this j3"


def test_deferred_lines_pass_the_handlers_filters() -> None:
    stream = io.StringIO()
    logger, handler = handler_on(stream)
    handler.addFilter(lambda record: "secret" not in record.getMessage())
    handler.defer(logger, logging.INFO, "shown %s", ("1",), None)
    handler.defer(logger, logging.INFO, "a %s", ("secret",), None)
    handler.flush()
    assert stream.getvalue() == "INFO shown 1\n"
