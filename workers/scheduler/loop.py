"""The scheduler's loop steps that owe nothing to rq-scheduler: fire a pass and log it, wait for the next.

`workers.rq_seam.scheduler.ServiceScheduler` owns the lock and the process shape and
calls these.
"""

from __future__ import annotations

import logging
import time

from redis import Redis
from redis.client import PubSub
from redis.exceptions import RedisError

from workers.core.replication import confirm_or_warn
from workers.core.settings import Settings
from workers.observability.metrics import ERROR
from workers.schedules.fire_script import LockLost
from workers.schedules.firing import Fired, Pass, fire_due
from workers.schedules.herds import Herds

log = logging.getLogger(__name__)
WAKE_EARLY = 0.003  # seconds before a due time that the pub/sub wait hands over to a precise sleep


class FiringLog:
    """Fires due schedules and logs each step; a broken schedule is logged once per reason, not every run."""

    def __init__(self, connection: Redis, settings: Settings) -> None:
        self.connection = connection
        self.settings = settings
        self._broken: dict[str, str] = {}  # schedule -> the reason last logged
        self.herds = Herds(connection, settings)

    def fire_pass(self, now: float, token: str = "") -> Pass:
        """One pass: release the herds staged for `now`, then fire what else is due.

        Fired runs are logged at DEBUG (a herd of 10,000 is not 10,000 INFO lines).
        """
        done = self._release_and_fire(now, token)
        if done.lock_lost:
            log.warning("scheduler lock lost: this pass wrote nothing")
        if done.steps:  # each step wrote (a run, a skip, an error): have the replicas take it
            confirm_or_warn(self.connection, self.settings, "schedule runs fired")
        debug = log.isEnabledFor(logging.DEBUG)
        for step in done.steps:
            if step.outcome == ERROR:
                self._log_broken(step)
                continue
            if self._broken and self._broken.pop(step.name, None) is not None and step.outcome != "gone":
                log.info("schedule %s fires again", step.name, extra={"schedule": step.name})
            if debug:
                log.debug(
                    "schedule %s: %s run due %s",
                    step.name,
                    step.outcome,
                    step.due,
                    extra={"schedule": step.name, "job_id": step.job_id, "outcome": step.outcome},
                )
        return done

    def _release_and_fire(self, now: float, token: str) -> Pass:
        try:
            released = self.herds.release(now, token) if self.herds.pending(now) else []
        except LockLost:
            return Pass([], None, lock_lost=True)
        done = fire_due(self.connection, self.settings, now, token)
        self.herds.record_left()
        return Pass(released + done.steps, done.next_due, done.lock_lost) if released else done

    def finish(self) -> None:
        """On the way out: record the runs released and not recorded yet (a stop mid-herd), if Redis lets us."""
        try:
            self.herds.record_left(now=True)
        except RedisError as error:
            log.warning("runs released but not recorded are left to the next scheduler (%s)", error)

    def stage_ahead(self, now: float, token: str, next_due: float) -> bool:
        """Stage a batch of a herd coming within seconds (workers/schedules/herds.py) if it fits before
        `next_due`; True while more is left."""
        try:
            return self.herds.stage(now, token, next_due)
        except LockLost:
            log.warning("scheduler lock lost: nothing staged")
            return False

    def _log_broken(self, step: Fired) -> None:
        reason = step.reason or "unknown"
        if self._broken.get(step.name) == reason:
            return
        self._broken[step.name] = reason
        log.error(
            "schedule %s cannot fire (%s): its runs are recorded as error until it is fixed",
            step.name,
            reason,
            extra={"schedule": step.name, "outcome": ERROR, "reason": reason},
        )


def wait_for_wake(wake: PubSub, seconds: float) -> None:
    """Sleep until the next due time, or until a schedule changes (a message on `wake`).

    The pub/sub wait (poll(2), whole milliseconds) oversleeps by 1-2 ms, so it
    ends WAKE_EARLY before the due time and a precise sleep covers the rest.
    """
    if seconds <= 0:
        return
    deadline = time.monotonic() + seconds
    woken = wake.get_message(timeout=max(0.0, seconds - WAKE_EARLY)) is not None
    while wake.get_message(timeout=0) is not None:
        woken = True
    if not woken:
        time.sleep(max(0.0, deadline - time.monotonic()))
