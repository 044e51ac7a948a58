"""`python -m workers.scheduler`: fires due schedules; every rq-scheduler call lives here.

rq-scheduler's `Scheduler` gives the process its shape (birth and death
records, signal handling, a lock, a loop); this subclass replaces the parts
DESIGN.md lists as its limits:
- due times are float seconds in our own sorted set, and the loop sleeps until
  the next one (woken early over pub/sub when a schedule changes) instead of
  polling every `interval` seconds;
- each run is a fresh job whose id comes from the schedule and due time, fired
  in one watched transaction with the advance (workers/firing.py);
- the lock carries an owner token: only its owner renews or releases it, and a
  short TTL lets a standby take over within a few seconds of a crash.
"""

from __future__ import annotations

import logging
import os
import time
import uuid

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq_scheduler import Scheduler

from workers import keys
from workers.firing import Fired, Pass, fire_due
from workers.metrics import ERROR
from workers.process import start_process
from workers.schedule_file import apply_schedules_file
from workers.serialization import TaskJob
from workers.settings import Settings

log = logging.getLogger(__name__)

LOCK_TTL_MS = 3000  # a dead holder's lock expires this fast
RENEW_EVERY = 1.0  # the holder renews (and standbys retry) at least this often
WAKE_EARLY = 0.003  # seconds before a due time that the pub/sub wait hands over to a precise sleep
MANY_SCHEDULES = 2_000  # above this, per-schedule metrics make scrapes slow (see warn_if_metrics_too_many)
LOCK_FRESH = 2.0  # seconds after a renewal that the holder fires before renewing again (TTL is 3 s)

RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class ServiceScheduler(Scheduler):  # type: ignore[misc]
    """rq-scheduler with float due times, a sleep-until-due loop and an owner-checked lock."""

    redis_scheduler_namespace_prefix = keys.SCHEDULER_INSTANCE_PREFIX
    scheduler_lock_key = keys.SCHEDULER_LOCK
    scheduled_jobs_key = keys.SCHEDULES_DUE

    def __init__(self, connection: Redis, settings: Settings) -> None:
        super().__init__(connection=connection, interval=RENEW_EVERY, job_class=TaskJob)
        self.settings = settings
        self.token = f"{os.getpid()}:{uuid.uuid4().hex}"  # the pid tells operators (and tests) who holds it
        self._renew = connection.register_script(RENEW)
        self._release = connection.register_script(RELEASE)
        self._wake = connection.pubsub(ignore_subscribe_messages=True)
        self._renewed_at = 0.0
        self._broken: dict[str, str] = {}  # schedule -> the reason last logged, so each is logged once

    def acquire_lock(self) -> bool:
        """Take the lock if free, or renew it if it is ours."""
        # Renew first even when we think we lost it (a Redis timeout): it may still be ours.
        if self._renew(keys=[self.scheduler_lock_key], args=[self.token, LOCK_TTL_MS]):
            self._lock_acquired = True
            return True
        self._lock_acquired = bool(self.connection.set(self.scheduler_lock_key, self.token, nx=True, px=LOCK_TTL_MS))
        if self._lock_acquired:
            log.info("scheduler %s holds the lock", self.name)
        return self._lock_acquired

    def remove_lock(self) -> None:
        """Release the lock only if this process still owns it."""
        if self._lock_acquired:
            self._release(keys=[self.scheduler_lock_key], args=[self.token])
            self._lock_acquired = False

    def enqueue_jobs(self) -> list[object]:
        """Fire everything due now; returns what each step did."""
        return list(self.fire_pass(time.time()).steps)

    def fire_pass(self, now: float) -> Pass:
        """Fire what is due at `now` and log each step; a broken schedule is logged once, not every run."""
        done = fire_due(self.connection, self.settings, now)
        for step in done.steps:
            if step.outcome == ERROR:
                self._log_broken(step)
                continue
            if self._broken.pop(step.name, None) is not None and step.outcome != "gone":
                log.info("schedule %s fires again", step.name, extra={"schedule": step.name})
            log.info(
                "schedule %s: %s run due %s",
                step.name,
                step.outcome,
                step.due,
                extra={"schedule": step.name, "job_id": step.job_id, "outcome": step.outcome},
            )
        return done

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

    def seconds_until_next_due(self) -> float:
        nearest = self.connection.zrange(self.scheduled_jobs_key, 0, 0, withscores=True)
        return nearest[0][1] - time.time() if nearest else RENEW_EVERY

    def step(self) -> float:
        """One pass of the loop; returns how long to wait before the next.

        A due run never waits for the lock's renewal: while the lock was renewed
        less than LOCK_FRESH ago (well inside its TTL) the pass fires first and
        renews after. Even a stale view of the lock cannot fire a run twice: each
        step is watched and its job id derived from the due time.
        """
        if not (self._lock_acquired and time.monotonic() - self._renewed_at < LOCK_FRESH) and not self._renew_lock():
            return RENEW_EVERY
        done = self.fire_pass(time.time())
        if time.monotonic() - self._renewed_at > RENEW_EVERY / 2 and not self._renew_lock():
            return RENEW_EVERY
        # The pass usually knows the next due time (no round trip); a change made
        # meanwhile by the API publishes a wake-up, and the wait is capped anyway.
        until = self.seconds_until_next_due() if done.next_due is None else done.next_due - time.time()
        return max(0.0, min(RENEW_EVERY, until))

    def _renew_lock(self) -> bool:
        """Heartbeat, then take or renew the lock (two round trips); False when another process holds it."""
        self.heartbeat()
        if not self.acquire_lock():
            return False
        self._renewed_at = time.monotonic()
        return True

    def wait(self, seconds: float) -> None:
        """Sleep until the next due time, or until a schedule changes.

        The pub/sub wait (poll(2), whole milliseconds) oversleeps by 1-2 ms, so it
        ends WAKE_EARLY before the due time and a precise sleep covers the rest.
        """
        if seconds <= 0:
            return
        deadline = time.monotonic() + seconds
        woken = self._wake.get_message(timeout=max(0.0, seconds - WAKE_EARLY)) is not None
        while self._wake.get_message(timeout=0) is not None:
            woken = True
        if not woken:
            time.sleep(max(0.0, deadline - time.monotonic()))

    def run(self, burst: bool = False) -> None:
        self.register_birth()
        self._install_signal_handlers()
        self._wake.subscribe(keys.SCHEDULER_WAKE)
        try:
            while True:
                try:
                    self.wait(self.step())
                except (RedisConnectionError, RedisTimeoutError) as error:
                    log.warning("redis unavailable (%s); retrying in 1 s", error)
                    self._lock_acquired = False
                    time.sleep(RENEW_EVERY)
                except Exception:  # noqa: BLE001 - a pass that fails must not end the process
                    log.exception("scheduler pass failed; retrying in 1 s")
                    time.sleep(RENEW_EVERY)
                if burst:
                    break
        finally:
            self.remove_lock()
            self.register_death()


def warn_if_metrics_too_many(connection: Redis, settings: Settings) -> None:
    """Per-schedule metrics are 19 series a schedule: with many schedules, /metrics gets slow and huge."""
    count = connection.scard(keys.SCHEDULE_NAMES)
    if settings.schedule_metrics == "per_schedule" and count > MANY_SCHEDULES:
        log.warning(
            "%d schedules with per-schedule metrics (%d series): set SCHEDULE_METRICS=combined",
            count,
            count * 19,
            extra={"schedules": count},
        )


def main() -> None:
    """Run a scheduler until SIGTERM; any number may run, one holds the lock."""
    started = start_process()
    if started.settings.schedules_file is not None:
        apply_schedules_file(started.connection, started.settings.schedules_file, time.time())
    warn_if_metrics_too_many(started.connection, started.settings)
    ServiceScheduler(started.connection, started.settings).run()


if __name__ == "__main__":
    main()
