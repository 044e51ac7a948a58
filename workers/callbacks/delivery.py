"""The delivery loop: a thread in every worker process that claims due callbacks and makes each attempt.

At least once: an attempt is recorded only after the POST, so a worker killed mid-attempt
leaves the delivery claimed until its lease runs out, and then any worker tries it again.
Receivers dedupe on `X-RQS-Delivery`, the same for every attempt of one delivery.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

from workers.callbacks import outbox, sender, signing
from workers.callbacks.backoff import retry_delay
from workers.callbacks.body import job_body, job_status
from workers.callbacks.hosts import check_url
from workers.callbacks.outbox import Attempt, Claim
from workers.core.errors import InvalidJobError
from workers.core.settings import Settings
from workers.observability.metrics import DELIVERED, GAVE_UP, RETRY, record_callback_attempt

log = logging.getLogger(__name__)
PARALLEL = 4  # attempts at once per worker process, so one slow receiver does not hold up the others
POLL_SECONDS = 0.5
LEASE_MARGIN = 20.0  # a claim outlives the POST's timeout by this much before another worker may take it
END_WAIT_SECONDS = 60.0  # how long a delivery queued ahead of its job's recorded end waits for it
FINAL = {"finished", "failed", "stopped", "canceled"}


@dataclass(frozen=True)
class Sent:
    """One attempt's outcome, and the metric it counts as (None: not an attempt, only a postponement)."""

    attempt: Attempt
    outcome: str | None


class Deliverer:
    """Claims due deliveries and makes one attempt at each; `run_once` is the loop's step."""

    def __init__(self, connection: Redis, settings: Settings) -> None:
        self.connection = connection
        self.settings = settings

    @property
    def lease(self) -> float:
        return self.settings.callback_timeout + LEASE_MARGIN

    def run_once(self) -> int:
        """Claim and attempt every due delivery (at most PARALLEL) at once; how many were claimed.

        Daemon threads, not a pool: at shutdown an attempt in flight must not hold the
        process past its grace (its lease hands it to another worker).
        """
        held = outbox.claim(self.connection, time.time(), self.lease, PARALLEL)
        threads = [threading.Thread(target=self.deliver, args=(claim,), daemon=True) for claim in held]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return len(held)

    def deliver(self, held: Claim) -> None:
        try:
            sent = self.attempt(held)
            if outbox.record(self.connection, held, sent.attempt) and sent.outcome is not None:
                with self.connection.pipeline() as pipe:
                    record_callback_attempt(pipe, sent.outcome)
                    pipe.execute()
        except RedisError as error:  # the claim's lease runs out and the attempt is made again
            log.warning("callback of job %s not recorded: %s", held.job_id, error)

    def attempt(self, held: Claim) -> Sent:
        """One attempt at `held`: check the host again on this worker's settings, sign, POST."""
        secret = self.settings.callback_secret
        try:
            target = check_url(held.url, self.settings.allowed_callback_hosts)
        except InvalidJobError as error:
            return self._failed(held, f"not sent: {error}", None)
        if secret is None:
            return self._failed(held, "not sent: CALLBACK_SECRET is not set on this worker", None)
        body = held.body or self._first_body(held)
        if isinstance(body, Sent):
            return body
        attempt = held.attempts + 1
        headers = signing.headers(body, secret.get_secret_value(), held.delivery_id, attempt)
        response = sender.post(target, body, headers, self.settings.callback_timeout)
        if response.delivered:
            log.info("callback of job %s delivered (attempt %d)", held.job_id, attempt, extra={"job_id": held.job_id})
            return Sent(Attempt(outbox.DELIVERED, attempt, "", None, time.time(), response.status), DELIVERED)
        return self._failed(held, response.error, response.status)

    def _first_body(self, held: Claim) -> bytes | Sent:
        """The body to send (kept for every retry), or what to record when there is none to send yet."""
        if job_status(self.connection, held.job_id) not in FINAL and time.time() - held.created_at < END_WAIT_SECONDS:
            # queued just before the job's end was recorded (a dead worker's job, failed by RQ's cleanup)
            return Sent(Attempt(outbox.PENDING, held.attempts, "", time.time() + 1.0), None)
        body = job_body(self.connection, held.job_id)
        if body is None:
            return Sent(Attempt(outbox.FAILED, held.attempts, "the job expired before its callback was sent"), GAVE_UP)
        outbox.keep_body(self.connection, held, body)
        return body

    def _failed(self, held: Claim, error: str, status: int | None) -> Sent:
        attempt = held.attempts + 1
        log.warning(
            "callback of job %s failed (attempt %d of %d): %s",
            held.job_id,
            attempt,
            self.settings.callback_max_attempts,
            error,
            extra={"job_id": held.job_id},
        )
        if attempt >= self.settings.callback_max_attempts:
            return Sent(Attempt(outbox.FAILED, attempt, error, None, None, status), GAVE_UP)
        due = time.time() + retry_delay(attempt, self.settings.callback_retry_base_seconds)
        return Sent(Attempt(outbox.PENDING, attempt, error, due, None, status), RETRY)


class DeliveryLoop:
    """`Deliverer.run_once` on a daemon thread until `stop`; a Redis outage only pauses it."""

    def __init__(self, connection: Redis, settings: Settings) -> None:
        self.deliverer = Deliverer(connection, settings)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="callback-delivery", daemon=True)

    def start(self) -> DeliveryLoop:
        self._thread.start()
        return self

    def stop(self, wait: float = 2.0) -> None:
        """Stop claiming; an attempt still in flight is abandoned to its lease, and made again elsewhere."""
        self._stop.set()
        self._thread.join(wait)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.deliverer.run_once() == PARALLEL
            except RedisError as error:
                log.warning("callback delivery paused: %s", error)
                busy = False
            if not busy:
                self._stop.wait(POLL_SECONDS)
