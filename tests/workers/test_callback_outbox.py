"""The callback outbox on a real Redis: claims with a lease, attempts recorded under the claim's token."""

from __future__ import annotations

import time

from redis import Redis

from workers.callbacks import outbox
from workers.callbacks.outbox import Attempt
from workers.core.keys import CALLBACKS_DUE, callback_key

URL = "http://127.0.0.1:9/hook"


def queue(redis: Redis, job_id: str, now: float, ended: str = "finished") -> None:
    with redis.pipeline() as pipe:
        outbox.queue_delivery(pipe, job_id, URL, ended, now)
        pipe.execute()


def test_a_claim_holds_a_delivery_for_its_lease_only(redis: Redis) -> None:
    now = time.time()
    queue(redis, "j1", now)
    first = outbox.claim(redis, now, lease=30, limit=10)
    assert [(c.job_id, c.attempts, c.url, c.ended, c.body) for c in first] == [("j1", 0, URL, "finished", None)]
    assert outbox.claim(redis, now + 29, lease=30, limit=10) == []  # held
    again = outbox.claim(redis, now + 31, lease=30, limit=10)  # the first deliverer died: its lease ran out
    assert [c.job_id for c in again] == ["j1"]
    assert again[0].token != first[0].token
    assert again[0].delivery_id == first[0].delivery_id  # the same delivery, tried again


def test_only_the_current_claim_records_an_attempt(redis: Redis) -> None:
    now = time.time()
    queue(redis, "j1", now)
    stale = outbox.claim(redis, now, lease=30, limit=10)[0]
    fresh = outbox.claim(redis, now + 31, lease=30, limit=10)[0]
    assert not outbox.record(redis, stale, Attempt(outbox.DELIVERED, 1, delivered_at=now))
    assert not outbox.keep_body(redis, stale, b"{}")
    assert outbox.keep_body(redis, fresh, b'{"id":"j1"}')
    assert outbox.record(redis, fresh, Attempt(outbox.PENDING, 1, "HTTP 500", now + 60, None, 500))
    state = outbox.read(redis, "j1")
    assert state is not None
    assert (state.status, state.attempts, state.last_error) == ("pending", 1, "HTTP 500")
    assert state.last_response_status == 500
    assert redis.zscore(CALLBACKS_DUE, "j1") == now + 60
    assert outbox.claim(redis, now + 59, lease=30, limit=10) == []
    retry = outbox.claim(redis, now + 61, lease=30, limit=10)[0]
    assert (retry.attempts, retry.body) == (1, b'{"id":"j1"}')  # a retry sends the first attempt's bytes


def test_a_settled_delivery_leaves_the_due_set_and_expires(redis: Redis) -> None:
    now = time.time()
    queue(redis, "j1", now)
    held = outbox.claim(redis, now, lease=30, limit=10)[0]
    assert outbox.record(redis, held, Attempt(outbox.DELIVERED, 1, delivered_at=now, response_status=204))
    assert redis.zscore(CALLBACKS_DUE, "j1") is None
    assert 0 < redis.ttl(callback_key("j1")) <= outbox.KEEP_SECONDS
    state = outbox.read(redis, "j1")
    assert state is not None and (state.status, state.delivered_at) == ("delivered", now)
    assert outbox.claim(redis, now + 1000, lease=30, limit=10) == []


def test_a_new_end_replaces_the_delivery_and_its_claim(redis: Redis) -> None:
    now = time.time()
    queue(redis, "j1", now)
    held = outbox.claim(redis, now, lease=30, limit=10)[0]
    queue(redis, "j1", now + 1, ended="failed")  # requeued, and ended again
    assert not outbox.record(redis, held, Attempt(outbox.DELIVERED, 1, delivered_at=now))
    fresh = outbox.claim(redis, now + 1, lease=30, limit=10)[0]
    assert (fresh.ended, fresh.attempts) == ("failed", 0)
    assert fresh.delivery_id != held.delivery_id


def test_claims_take_at_most_the_limit_oldest_first_and_drop_orphans(redis: Redis) -> None:
    now = time.time()
    for index in range(5):
        queue(redis, f"j{index}", now + index)
    redis.delete(callback_key("j0"))  # its record is gone: nothing to deliver
    assert [c.job_id for c in outbox.claim(redis, now + 10, lease=30, limit=2)] == ["j1", "j2"]
    assert redis.zscore(CALLBACKS_DUE, "j0") is None
    assert [c.job_id for c in outbox.claim(redis, now + 10, lease=30, limit=10)] == ["j3", "j4"]
