"""The running job's heartbeat: one long-lived thread per worker renews its started-registry entry.

An entry that stops being renewed means a dead worker; the next maintenance pass
of any live worker finds it within seconds and retries or fails the job.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from rq.job import Job

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = 5.0
HEARTBEAT_TTL = 15


class HeartbeatTarget(Protocol):
    def maintain_heartbeats(self, job: Job, execution: Any) -> None: ...


class JobHeartbeat:
    """Renews the current job's entry every HEARTBEAT_EVERY seconds while `running()` is entered.

    Long-lived rather than a thread per job: starting a thread costs more than a no-op job.
    """

    def __init__(self, worker: HeartbeatTarget) -> None:
        self.worker = worker
        self.current: tuple[Job, Any] | None = None
        self._thread: threading.Thread | None = None

    def running(self, job: Job, execution: Any) -> JobHeartbeat:
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
            self._thread.start()
        self.current = (job, execution)
        return self

    def __enter__(self) -> JobHeartbeat:
        return self

    def __exit__(self, *exc: object) -> None:
        self.current = None

    def _beat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_EVERY)
            current = self.current
            if current is None:
                continue
            try:
                self.worker.maintain_heartbeats(*current)
            except Exception:  # noqa: BLE001 - Redis away: the next beat retries; the job keeps running
                log.warning("heartbeat for job %s failed", current[0].id, exc_info=True)
