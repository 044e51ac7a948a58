"""The scheduler process's class: every rq-scheduler subclass and private name lives here.

rq-scheduler's `Scheduler` gives the process its shape (birth and death
records, signal handling, a lock, a loop); this subclass replaces the parts
docs/architecture.md lists as its limits:
- due times are float seconds in our own sorted set, and the loop sleeps until
  the next one (woken early over pub/sub when a schedule changes) instead of
  polling every `interval` seconds;
- each run is a fresh job whose id comes from the schedule and due time, fired
  in one guarded Lua step with the advance, a batch per call, only while this process
  holds the lock (workers/schedules/firing.py, logged by workers/scheduler/loop.py);
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

from workers.core import keys
from workers.core.settings import Settings
from workers.scheduler.loop import FiringLog, wait_for_wake
from workers.schedules.firing import Pass

log = logging.getLogger(__name__)

LOCK_TTL_MS = 3000  # a dead holder's lock expires this fast
RENEW_EVERY = 1.0  # the holder renews (and standbys retry) at least this often
LOCK_FRESH = 2.0  # seconds after a renewal that the holder fires before renewing again (TTL is 3 s)

RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class ServiceScheduler(Scheduler):  # type: ignore[misc]
    """rq-scheduler with float due times, a sleep-until-due loop and an owner-checked lock."""

    redis_scheduler_namespace_prefix = keys.SCHEDULER_INSTANCE_PREFIX
    scheduler_lock_key = keys.SCHEDULER_LOCK
    scheduled_jobs_key = keys.SCHEDULES_DUE

    def __init__(self, connection: Redis, settings: Settings) -> None:
        super().__init__(connection=connection, interval=RENEW_EVERY)
        self.settings = settings
        self.token = f"{os.getpid()}:{uuid.uuid4().hex}"  # the pid tells operators (and tests) who holds it
        self._renew = connection.register_script(RENEW)
        self._release = connection.register_script(RELEASE)
        self._wake = connection.pubsub(ignore_subscribe_messages=True)
        self._renewed_at = 0.0
        self.firing = FiringLog(connection, settings)

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

    def fire_pass(self, now: float) -> Pass:
        """Fire what is due at `now` (only while this process owns the lock, checked in the same call)."""
        done = self.firing.fire_pass(now, self.token)
        if done.lock_lost:
            self._lock_acquired = False  # the next step renews (or finds another holder) before firing again
        return done

    def step(self) -> float:
        """One pass of the loop; returns how long to wait before the next.

        A due run never waits for the lock's renewal: while the lock was renewed
        less than LOCK_FRESH ago (well inside its TTL) the pass fires first and
        renews after. Even a stale view of the lock cannot fire a run twice: each
        step checks the lock's owner and the due time, and its job id is derived from the due time.
        """
        if not self._lock_is_fresh() and not self._renew_lock():
            return RENEW_EVERY  # another scheduler holds the lock
        done = self.fire_pass(time.time())
        if time.monotonic() - self._renewed_at > RENEW_EVERY / 2 and not self._renew_lock():
            return RENEW_EVERY
        # The pass usually knows the next due time (no round trip); a change made
        # meanwhile by the API publishes a wake-up, and the wait is capped anyway.
        next_due = self.next_due() if done.next_due is None else done.next_due
        # Time to spare before it: stage a batch of a herd coming (each one waits a pass first).
        if self.firing.stage_ahead(time.time(), self.token, next_due):
            return 0.0
        return max(0.0, min(RENEW_EVERY, next_due - time.time()))

    def next_due(self) -> float:
        """The earliest due time in Redis (a round trip: when the pass could not know it)."""
        nearest = self.connection.zrange(self.scheduled_jobs_key, 0, 0, withscores=True)
        return float(nearest[0][1]) if nearest else time.time() + RENEW_EVERY

    def _lock_is_fresh(self) -> bool:
        """We hold the lock and renewed it less than LOCK_FRESH ago, well inside its TTL."""
        return self._lock_acquired and time.monotonic() - self._renewed_at < LOCK_FRESH

    def _renew_lock(self) -> bool:
        """Heartbeat, then take or renew the lock (two round trips); False when another process holds it."""
        self.heartbeat()
        if not self.acquire_lock():
            return False
        self._renewed_at = time.monotonic()
        return True

    def wait(self, seconds: float) -> None:
        wait_for_wake(self._wake, seconds)

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
            self.firing.finish()
            self.remove_lock()
            self.register_death()
