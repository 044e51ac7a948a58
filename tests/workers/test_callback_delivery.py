"""Callbacks end to end inside one process: queued with the job's end by a real worker, delivered by the
deliverer to a real HTTP receiver on 127.0.0.1, on a real Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from redis import Redis
from rq.exceptions import AbandonedJobError
from rq.job import JobStatus

from bench.harness.wait import wait_until
from service.settings import ServiceSettings
from tests.support.keys import ADMIN
from tests.support.receiver import Receiver, receiving
from workers.callbacks import outbox
from workers.callbacks.delivery import Deliverer
from workers.callbacks.ending import queue_for_abandoned
from workers.callbacks.signing import verify
from workers.core.errors import InvalidJobError
from workers.jobs import submit as jobs
from workers.jobs.submit import JobSpec
from workers.observability.metrics import CALLBACK_ATTEMPTS, read_families
from workers.tasks.registry import RetryPolicy

SECRET = "a-callback-secret-for-tests"


@pytest.fixture
def hooked(settings: ServiceSettings) -> ServiceSettings:
    update = {"callback_hosts": ["127.0.0.1"], "callback_secret": SecretStr(SECRET)}
    update["callback_retry_base_seconds"] = 0.01
    return settings.model_copy(update=update)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


def submit(redis: Redis, settings: ServiceSettings, url: str | None, **fields: Any) -> jobs.TaskJob:
    return jobs.submit(redis, settings, JobSpec(callback_url=url, **fields)).job


def deliver_all(redis: Redis, settings: ServiceSettings, job_id: str) -> outbox.CallbackState:
    deliverer = Deliverer(redis, settings)

    def settled() -> bool:
        deliverer.run_once()
        state = outbox.read(redis, job_id)
        return state is not None and state.status != outbox.PENDING

    wait_until(settled, 30, f"the callback of {job_id} to settle")
    state = outbox.read(redis, job_id)
    assert state is not None
    return state


def callback_counts(redis: Redis) -> dict[str, float]:
    data = next(d for d in read_families(redis) if d.family == CALLBACK_ATTEMPTS)
    return {labels[0]: value for labels, value in data.counters.items()}


def test_a_finished_job_is_delivered_signed_after_failed_attempts(
    redis: Redis, hooked: ServiceSettings, run_worker: Any
) -> None:
    with receiving([500, 503]) as receiver:
        job = submit(redis, hooked, receiver.url("/done?x=1"), task="tests.echo", args=[7])
        run_worker()
        state = deliver_all(redis, hooked, job.id)
    assert (state.status, state.attempts, state.last_error) == ("delivered", 3, None)
    got = receiver.received
    assert [r.answered for r in got] == [500, 503, 200]
    assert {r.path for r in got} == {"/done?x=1"}
    assert len({r.body for r in got}) == 1  # every attempt sends the same bytes
    assert len({r.headers["X-RQS-Delivery"] for r in got}) == 1
    assert [r.headers["X-RQS-Attempt"] for r in got] == ["1", "2", "3"]
    assert all(verify(r.body, SECRET, r.headers["X-RQS-Signature"]) for r in got)
    body = json.loads(got[-1].body)
    assert (body["id"], body["status"], body["result"], body["task"]) == (job.id, "finished", 7, "tests.echo")
    assert body["callback"]["url"] == receiver.url("/done?x=1")
    assert callback_counts(redis) == {"delivered": 1, "retry": 2, "failed": 0}


def test_a_job_without_a_callback_queues_nothing(redis: Redis, hooked: ServiceSettings, run_worker: Any) -> None:
    job = submit(redis, hooked, None, task="tests.echo", args=[1])
    run_worker()
    assert outbox.read(redis, job.id) is None
    assert redis.zcard("rqs:callbacks:due") == 0


def test_a_failure_with_retries_left_does_not_call_back(
    redis: Redis, hooked: ServiceSettings, run_worker: Any, receiver: Receiver
) -> None:
    retry = RetryPolicy(max=1, backoff=(600,))
    job = submit(redis, hooked, receiver.url(), task="tests.flaky", args=["k1", 5], retry=retry)
    run_worker()
    assert job.get_status() == JobStatus.SCHEDULED  # its retry waits out the backoff
    assert outbox.read(redis, job.id) is None
    final = submit(redis, hooked, receiver.url(), task="tests.flaky", args=["k2", 5], retry=RetryPolicy(max=0))
    run_worker()
    state = deliver_all(redis, hooked, final.id)
    assert state.status == "delivered"
    assert json.loads(receiver.accepted()[-1].body)["status"] == "failed"


def test_a_canceled_job_calls_back(redis: Redis, hooked: ServiceSettings, receiver: Receiver) -> None:
    job = submit(redis, hooked, receiver.url(), task="tests.echo", args=[1], delay=600)
    jobs.cancel(redis, job.id)
    assert job.get_status() == JobStatus.CANCELED
    assert deliver_all(redis, hooked, job.id).status == "delivered"
    body = json.loads(receiver.accepted()[0].body)
    assert (body["id"], body["status"]) == (job.id, "canceled")


def test_attempts_stop_at_the_limit(redis: Redis, hooked: ServiceSettings) -> None:
    limited = hooked.model_copy(update={"callback_max_attempts": 2})
    with receiving([500] * 5) as receiver:
        job = submit(redis, limited, receiver.url(), task="tests.echo", args=[1], delay=600)
        jobs.cancel(redis, job.id)
        state = deliver_all(redis, limited, job.id)
    assert (state.status, state.attempts, state.last_response_status) == ("failed", 2, 500)
    assert state.last_error is not None and "HTTP 500" in state.last_error
    assert len(receiver.received) == 2
    assert callback_counts(redis) == {"delivered": 0, "retry": 1, "failed": 1}


def test_a_redirect_is_a_failed_attempt_and_not_followed(redis: Redis, hooked: ServiceSettings) -> None:
    limited = hooked.model_copy(update={"callback_max_attempts": 1})
    with receiving([302]) as receiver:
        job = submit(redis, limited, receiver.url(), task="tests.echo", delay=600)
        jobs.cancel(redis, job.id)
        state = deliver_all(redis, limited, job.id)
    assert (state.status, state.last_response_status) == ("failed", 302)
    assert len(receiver.received) == 1


def test_a_host_the_worker_does_not_list_is_never_called(
    redis: Redis, hooked: ServiceSettings, receiver: Receiver
) -> None:
    job = submit(redis, hooked, receiver.url(), task="tests.echo", delay=600)
    jobs.cancel(redis, job.id)
    elsewhere = hooked.model_copy(update={"callback_hosts": ["hooks.example.com"], "callback_max_attempts": 1})
    state = deliver_all(redis, elsewhere, job.id)
    assert state.status == "failed"
    assert state.last_error is not None and "not listed in CALLBACK_HOSTS" in state.last_error
    assert receiver.received == []


def test_submit_refuses_hosts_not_listed(redis: Redis, hooked: ServiceSettings, settings: ServiceSettings) -> None:
    with pytest.raises(InvalidJobError, match="not listed in CALLBACK_HOSTS"):
        submit(redis, hooked, "http://10.1.2.3/hook", task="tests.echo")
    with pytest.raises(InvalidJobError, match="CALLBACK_HOSTS is empty"):
        submit(redis, settings, "http://127.0.0.1/hook", task="tests.echo")
    specs = [JobSpec(task="tests.echo"), JobSpec(task="tests.echo", callback_url="http://10.1.2.3/h")]
    with pytest.raises(InvalidJobError, match=r"jobs\[1\]: callback_url host"):
        jobs.submit_many(redis, hooked, specs)
    assert redis.dbsize() == 0


def test_an_abandoned_job_calls_back_only_without_retries_left(
    redis: Redis, hooked: ServiceSettings, receiver: Receiver
) -> None:
    with_retries = submit(redis, hooked, receiver.url(), task="tests.echo", retry=RetryPolicy(max=2))
    queue_for_abandoned(with_retries, AbandonedJobError)
    assert outbox.read(redis, with_retries.id) is None
    last = submit(redis, hooked, receiver.url(), task="tests.echo")
    queue_for_abandoned(last, AbandonedJobError)
    queue_for_abandoned(last, RuntimeError)  # not an abandoned run: nothing more
    assert outbox.read(redis, last.id) is not None
    # RQ's cleanup has not committed the failure yet: the deliverer waits for it, sending nothing
    assert Deliverer(redis, hooked).run_once() == 1
    state = outbox.read(redis, last.id)
    assert state is not None and (state.status, state.attempts) == ("pending", 0)
    assert receiver.received == []
    redis.hset(last.key, "status", "failed")
    assert deliver_all(redis, hooked, last.id).status == "delivered"
    assert json.loads(receiver.accepted()[0].body)["status"] == "failed"


def test_attempts_are_exposed_on_metrics(
    redis: Redis, hooked: ServiceSettings, receiver: Receiver, client: TestClient
) -> None:
    receiver.statuses = [500]
    job = submit(redis, hooked, receiver.url(), task="tests.echo", delay=600)
    jobs.cancel(redis, job.id)
    deliver_all(redis, hooked, job.id)
    text = client.get("/metrics", headers=ADMIN).text
    assert 'rqs_callback_attempts_total{outcome="delivered"} 1.0' in text
    assert 'rqs_callback_attempts_total{outcome="retry"} 1.0' in text
    assert 'rqs_callback_attempts_total{outcome="failed"} 0.0' in text
