"""The worker's beat: one long-lived thread per worker, one Redis pipeline per beat.

Every LIVENESS_EVERY s (workers/rq_seam/reaper.py) a busy worker renews its
liveness key; every JOB_BEATS beats it also renews every in-flight job's
registry entry and the worker's own RQ heartbeat (as RQ's maintenance reads them).
Every beat, busy or idle, carries the reap step: a worker that stopped beating has
its jobs recovered within seconds by whichever live worker beats next, and the
metrics of the runs ended since the last beat (workers/observability/tally.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from workers.worker.engine import Slot

log = logging.getLogger(__name__)
BEAT_EVERY = 1.0  # equal to the reaper's LIVENESS_EVERY
HEARTBEAT_EVERY = 5.0  # the jobs' own registry entries and RQ heartbeats
JOB_BEATS = round(HEARTBEAT_EVERY / BEAT_EVERY)
HEARTBEAT_TTL = 15
STOP_WAIT = 10.0  # at most this long for a beat in flight at stop (its Redis calls time out sooner)

Renew = Callable[[list[Slot], bool], None]


class JobHeartbeat:
    """Each beat hands the jobs in flight to `renew(slots, jobs_too)`: one Redis pipeline for all.

    Long-lived rather than a thread per job: starting a thread costs more than a no-op job.
    """

    def __init__(self, running: Callable[[], list[Slot]], renew: Renew) -> None:
        self._running = running
        self._renew = renew
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """No more beats (the worker tore down; its jobs have ended or been put back).

        Waits for a beat in flight, so the metrics it took are written or back in the tally
        before the worker's last flush."""
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(STOP_WAIT)

    def _beat(self) -> None:
        beats = 0
        while not self._stopped.wait(BEAT_EVERY):
            beats += 1
            slots = [slot for slot in self._running() if not slot.abandoned]
            try:
                self._renew(slots, beats % JOB_BEATS == 0)
            except Exception:  # noqa: BLE001 - Redis away: the next beat retries; the jobs keep running
                log.warning("heartbeat for %d jobs failed", len(slots), exc_info=True)
