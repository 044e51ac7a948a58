"""Logging for every process: plain text, or one JSON object per line, never job data or credentials.

Every line leaves through the root handler, which (a) drops `extra=` fields that carry
job data (rq's failed-job ERROR passes `arguments` and `kwargs`), (b) hides the values
a message names as job data (`result: %r`, rq's DEBUG line) and shortens any call-shaped
value such as a job description (`task("arg", key=1)`, rq prints it) to `task(...)`, and
(c) masks credentials in every URL of the finished line, traceback included.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

from workers.core.log_buffer import BufferedStreamHandler
from workers.core.redact import mask_urls_in

STANDARD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
JOB_DATA_FIELD = re.compile(r"arg|description|payload|param|result|return|value", re.IGNORECASE)
ANSI = r"(?:\x1b\[[0-9;]*m)*"
JOB_DATA_WORD = re.compile(r"result|return|argument|kwarg|description|payload", re.IGNORECASE)
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*[\d*]*(?:\.[\d*]+)?[a-zA-Z%]")
HIDDEN = "..."
CALL_SHAPED = re.compile(rf"^{ANSI}(?P<name>[\w.:-]+)\(.*\){ANSI}$", re.DOTALL)
RQ_LOGGERS = ("rq.", "rq_scheduler.")
KEPT_RQ_INFO = re.compile(r"shut ?down", re.IGNORECASE)  # an operator's request, worth a line


class RoutineDemotion(logging.Filter):
    """rq's routine lines at DEBUG, so INFO is one line per job start and end (the worker's own) and real news.

    rq logs its maintenance ("cleaning registries", every 10 s here), pub/sub and lock
    chatter, and three lines of its own per job at INFO; a run cut short by an
    interruption (a stop on request, the shutdown grace), which is no error of the task,
    at ERROR with a traceback. Such records become DEBUG, and pass only when the
    process logs at DEBUG.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_routine(record):
            record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return record.levelno >= logging.getLogger().getEffectiveLevel()


def _is_routine(record: logging.LogRecord) -> bool:
    if not record.name.startswith(RQ_LOGGERS):
        return False
    if record.levelno == logging.INFO:
        return is_routine_rq_info(record.name, record.msg)
    return record.levelno >= logging.ERROR and _interrupted(record)


def is_routine_rq_info(logger_name: str, message: object) -> bool:
    """An INFO message of an rq logger that `RoutineDemotion` turns into DEBUG (all but an operator's shutdown)."""
    return logger_name.startswith(RQ_LOGGERS) and not _kept_rq_info(str(message))


@functools.lru_cache(maxsize=256)  # rq's messages are constant templates
def _kept_rq_info(message: str) -> bool:
    return KEPT_RQ_INFO.search(message) is not None


def routine_rq_info_dropped(logger: logging.Logger) -> bool:
    """Whether every handler `logger`'s records reach demotes routine rq INFO and then drops it (no DEBUG here)."""
    if logging.DEBUG >= logging.getLogger().getEffectiveLevel():
        return False
    handlers = _handlers_reached(logger)
    return bool(handlers) and all(any(isinstance(f, RoutineDemotion) for f in h.filters) for h in handlers)


def _handlers_reached(logger: logging.Logger) -> list[logging.Handler]:
    """Every handler a record of `logger` goes to, as `Logger.callHandlers` walks them."""
    handlers: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        handlers += current.handlers
        current = current.parent if current.propagate else None
    return handlers


def log_soon(logger: logging.Logger, level: int, msg: str, *args: Any, extra: dict[str, Any] | None = None) -> None:
    """`logger.log(level, ...)`, its record built later on the log thread when one buffered handler
    is all the line reaches (workers/core/log_buffer.py, `defer`); else logged now."""
    if not logger.isEnabledFor(level):
        return
    handler = _sole_buffered_handler(logger)
    if handler is None:
        logger.log(level, msg, *args, extra=extra, stacklevel=2)
    else:
        handler.defer(logger, level, msg, args, extra)


def _sole_buffered_handler(logger: logging.Logger) -> BufferedStreamHandler | None:
    handlers = _handlers_reached(logger)
    only = handlers[0] if len(handlers) == 1 else None
    return only if isinstance(only, BufferedStreamHandler) else None


def _interrupted(record: logging.LogRecord) -> bool:
    """rq's failure line for a run cut short by a BaseException that is not an Exception (a stop, SystemExit).

    rq passes the traceback as the message's last value, already formatted; its last
    line names the exception's class, which this process has loaded (it raised it).
    """
    if not isinstance(record.args, tuple) or not record.args:
        return False
    lines = str(record.args[-1]).strip().splitlines()
    raised = _loaded_class(lines[-1].split(":", 1)[0]) if lines else None
    return raised is not None and issubclass(raised, BaseException) and not issubclass(raised, Exception)


def _loaded_class(qualified_name: str) -> type | None:
    """The class a traceback names, if its module is loaded (nothing is imported)."""
    module, _, name = qualified_name.strip().rpartition(".")
    found = getattr(sys.modules.get(module or "builtins"), name, None)
    return found if isinstance(found, type) else None


class JobDataFilter(logging.Filter):
    """Keep job arguments out of every record, whoever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        for field in vars(record).keys() - STANDARD_FIELDS:
            if _is_job_data_field(field):
                delattr(record, field)
        if isinstance(record.args, tuple) and record.args:
            shown = _values_before_job_data(record.msg, len(record.args))
            record.args = tuple(
                _without_call_arguments(arg) if i < shown else HIDDEN for i, arg in enumerate(record.args)
            )
        return True


@functools.lru_cache(maxsize=256)  # the same few `extra=` names on every record
@functools.lru_cache(maxsize=256)  # extra= names are a program's constants, the same on every line
def _is_job_data_field(name: str) -> bool:
    return JOB_DATA_FIELD.search(name) is not None


def _values_before_job_data(template: object, count: int) -> int:
    """How many of a message's values come before a word naming job data (`result: %r`): those are shown."""
    if not isinstance(template, str):
        return count
    return _shown_values(template, count)


@functools.lru_cache(maxsize=256)  # messages are a program's constant templates, logged again and again
def _shown_values(template: str, count: int) -> int:
    word = JOB_DATA_WORD.search(template)
    if word is None:
        return count
    return sum(1 for found in PLACEHOLDER.finditer(template[: word.start()]) if found.group(0) != "%%")


def _without_call_arguments(value: object) -> object:
    """`task("secret", 1)` (a job description) becomes `task(...)`; anything else is kept."""
    if not isinstance(value, str) or "(" not in value:  # no call without a parenthesis
        return value
    match = CALL_SHAPED.match(value)
    return f"{match.group('name')}(...)" if match else value


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`, with credentials in URLs masked."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text

    def format(self, record: logging.LogRecord) -> str:
        return mask_urls_in(super().format(record))

    def line(self, created: float, level: str, name: str, message: str, extras: dict[str, Any]) -> str:
        """What `format` gives for a record without exception or stack (its time text kept per second)."""
        second = int(created)
        if self._second[0] != second:
            self._second = (second, time.strftime(self.default_time_format, self.converter(created)))
        stamp = self.default_msec_format % (self._second[1], (created - second) * 1000)
        return mask_urls_in(f"{stamp} {level} {name}: {message}")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with any `extra=` fields (job_id, task, queue...) kept."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in vars(record).items() if k not in STANDARD_FIELDS}
        exc = self.formatException(record.exc_info) if record.exc_info else None
        return self.line(record.created, record.levelname, record.name, record.getMessage(), extras, exc)

    def line(
        self, created: float, level: str, name: str, message: str, extras: dict[str, Any], exc: str | None = None
    ) -> str:
        entry = {"ts": datetime.fromtimestamp(created, UTC).isoformat(), "level": level, "logger": name}
        entry["message"] = message
        entry.update(extras)
        if exc is not None:
            entry["exc"] = exc
        return mask_urls_in(json.dumps(entry, default=str))


def quick_line(
    handler: logging.Handler,
    logger: logging.Logger,
    level: int,
    created: float,
    msg: str,
    args: tuple[Any, ...],
    extra: dict[str, Any] | None,
) -> str | None:
    """The line our handler would write for this record, built without the record; None when
    anything but our own filters and formatter would see it (a logger's filters, an rq logger's
    demotion, someone else's handler set-up): then the record is built as usual."""
    formatter = handler.formatter
    if logger.filters or not isinstance(formatter, TextFormatter | JsonFormatter):
        return None
    if logger.name.startswith(RQ_LOGGERS) or not _only_our_filters(handler):
        return None
    if level < logging.getLogger().getEffectiveLevel():  # RoutineDemotion's test
        return ""
    if args:  # JobDataFilter, on a record's values
        shown = _values_before_job_data(msg, len(args))
        args = tuple(_without_call_arguments(arg) if i < shown else HIDDEN for i, arg in enumerate(args))
        message = msg % args
    else:
        message = msg
    extras = {k: v for k, v in extra.items() if not _is_job_data_field(k)} if extra else {}
    return formatter.line(created, logging.getLevelName(level), logger.name, message, extras)


def _only_our_filters(handler: logging.Handler) -> bool:
    kinds = [type(f) for f in handler.filters]
    return kinds == [RoutineDemotion, JobDataFilter]


def configure_logging(level: str = "INFO", fmt: str = "text", buffered: bool = False) -> None:
    """Set up the root logger once per process; `fmt="json"` switches to JSON lines.

    `buffered`: lines are written a few at a time, at most 50 ms late (workers/core/log_buffer.py).
    """
    handler = BufferedStreamHandler(quick_line=quick_line) if buffered else logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RoutineDemotion())
    handler.addFilter(JobDataFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    _route_everything_through_root()


def _route_everything_through_root() -> None:
    """Loggers with handlers of their own (uvicorn's) would bypass the filter and the format."""
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.handlers:
            logger.handlers.clear()
            logger.propagate = True
