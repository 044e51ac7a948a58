"""`python -m workers.scheduler`: fires due schedules until SIGTERM; any number may run, one holds the lock.

The process is `workers.rq_seam.scheduler.ServiceScheduler` (rq-scheduler, subclassed).
"""

from __future__ import annotations

import time

from workers.core.settings import Settings
from workers.core.startup import start_process
from workers.rq_seam.scheduler import ServiceScheduler
from workers.scheduler.checks import warn_if_metrics_too_many
from workers.schedules.file import apply_schedules_file


def main() -> None:
    """Apply SCHEDULES_FILE, warn about costly settings, then run the loop."""
    started = start_process("scheduler", firing)
    settings = started.settings
    if settings.schedules_file is not None:
        apply_schedules_file(
            started.connection,
            settings.schedules_file,
            time.time(),
            settings.audit_max_entries,
            settings.allowed_callback_hosts,
        )
    warn_if_metrics_too_many(started.connection, started.settings)
    ServiceScheduler(started.connection, started.settings).run()


def firing(settings: Settings) -> str:
    schedules_file = f", applying {settings.schedules_file}" if settings.schedules_file is not None else ""
    return f"fires due schedules onto their queues (one scheduler holds the lock, others stand by){schedules_file}"


if __name__ == "__main__":
    main()
