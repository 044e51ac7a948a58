"""The running jobs' heartbeat: one long-lived thread per worker renews every in-flight job in one pipeline.

An entry that stops being renewed means a dead worker; the next maintenance pass
of any live worker finds it within seconds and retries or fails the job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from workers.worker.engine import Slot

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = 5.0
HEARTBEAT_TTL = 15


class JobHeartbeat:
    """Every HEARTBEAT_EVERY seconds, hands the jobs in flight to `renew` (one Redis pipeline for all).

    Long-lived rather than a thread per job: starting a thread costs more than a no-op job.
    """

    def __init__(self, running: Callable[[], list[Slot]], renew: Callable[[list[Slot]], None]) -> None:
        self._running = running
        self._renew = renew
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
            self._thread.start()

    def _beat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_EVERY)
            slots = [slot for slot in self._running() if not slot.abandoned]
            if not slots:
                continue
            try:
                self._renew(slots)
            except Exception:  # noqa: BLE001 - Redis away: the next beat retries; the jobs keep running
                log.warning("heartbeat for %d jobs failed", len(slots), exc_info=True)
