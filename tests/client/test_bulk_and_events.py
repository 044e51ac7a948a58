"""The client's bulk actions, job events and `tail`, sync and async, over real HTTP to real processes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rqs import ApiError, AsyncClient, Client

from tests.support.keys import ADMIN_KEY

pytestmark = pytest.mark.e2e


def test_cancel_where_then_requeue_where(rqs: Client) -> None:
    queue = "low"
    jobs = [rqs.submit("tests.echo", [n], queue=queue, delay=600)["id"] for n in range(2)]
    # the module's other tests may have left delayed tests.echo jobs on "low": at least ours are counted
    canceled = rqs.cancel_where(queue=queue, status="scheduled", task="tests.echo")
    assert canceled["count"] >= 2 and canceled["more"] is False
    assert {rqs.get_job(job)["status"] for job in jobs} == {"canceled"}
    assert rqs.requeue_where(limit=1, task="tests.echo", status="canceled") == {"count": 1, "more": True}
    rest = rqs.requeue_where(task="tests.echo", status="canceled")
    assert rest["count"] >= 1 and rest["more"] is False
    assert [rqs.wait(job)["status"] for job in jobs] == ["finished", "finished"]


def test_bulk_without_a_filter_raises_with_the_servers_detail(rqs: Client) -> None:
    with pytest.raises(ApiError) as refused:
        rqs.cancel_where()
    assert refused.value.status == 422
    assert "at least one filter" in refused.value.detail


def test_list_jobs_takes_the_search_filters(rqs: Client) -> None:
    task = "tests.anything"
    job = rqs.submit(task, [uuid.uuid4().hex])["id"]
    by = rqs.wait(job)["submitted_by"]
    since = datetime.now(UTC) - timedelta(minutes=5)  # on enqueued_at: a job not yet due has none
    page = rqs.list_jobs(task=task, submitted_by=by, since=since, limit=500)
    assert job in [item["id"] for item in page["jobs"]]


def test_job_events_and_tail(rqs: Client) -> None:
    cursor = rqs.job_events()["cursor"]
    job = rqs.submit("tests.echo", ["tail"])["id"]
    seen: list[dict[str, Any]] = []
    for end in rqs.tail(cursor, task="tests.echo"):
        seen.append(end)
        if end["id"] == job:
            break
    assert (seen[-1]["status"], seen[-1]["task"]) == ("finished", "tests.echo")


def test_async_tail(url: str) -> None:
    async def run() -> dict[str, Any]:
        async with AsyncClient(url, ADMIN_KEY) as rqs:
            cursor = (await rqs.job_events())["cursor"]
            job = (await rqs.submit("tests.async_double", [2]))["id"]
            async for end in rqs.tail(cursor, status="finished"):
                if end["id"] == job:
                    return dict(end)
        raise AssertionError("unreachable: tail never ends by itself")

    assert asyncio.run(run())["task"] == "tests.async_double"
