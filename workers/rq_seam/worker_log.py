"""RQ's worker logger, minus the records of routine INFO lines no handler would keep.

RQ's worker logs three INFO lines of its own per job ("Successfully completed", "Job
OK", "result is kept"). The root handler demotes such routine rq lines to DEBUG
(workers/core/logs.py, `RoutineDemotion`) and so drops them unless the process logs
at DEBUG; building each record first (caller lookup, arguments, filters) is a fair
share of a no-op job's CPU. This logger skips exactly those records, and only while
every handler they would reach is such a demoting one (a process that did not set up
our logging keeps RQ's lines); every other line goes to RQ's logger unchanged, with
the caller's frame as its origin.
"""

from __future__ import annotations

import logging
from typing import Any

from workers.core.logs import is_routine_rq_info, routine_rq_info_dropped


class RoutineInfoSkipped:
    """Wraps RQ's worker logger (`worker.log`): `info` of a routine line is dropped before it becomes a record."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        if is_routine_rq_info(self.logger.name, msg) and routine_rq_info_dropped(self.logger):
            return
        kwargs.setdefault("stacklevel", 2)
        self.logger.info(msg, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.logger, name)
