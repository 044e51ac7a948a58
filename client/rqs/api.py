"""Every request of the HTTP API and how its answer is read: shared by the sync and async clients.

Each endpoint is one `Call` (method, path, query, body, headers); the clients only send
it, so the two cannot disagree on a path or a field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx2 as httpx

from rqs.errors import ApiError

ENDED = frozenset({"finished", "failed", "canceled", "stopped"})
MAX_SERVER_WAIT = 60.0  # the server's upper bound for `/result?wait=`
TAIL_WAIT = 30.0  # each long-poll of `tail`


@dataclass(frozen=True)
class Call:
    """One HTTP request, before it is sent."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def segment(value: str) -> str:
    """A path segment, escaped so an id or a name can never reach another route."""
    return quote(value, safe="")


def job_body(task: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None, **options: Any) -> dict:
    """A job request: only the options given (queue, delay, at, timeout, retry, ...) are sent."""
    body: dict[str, Any] = {"task": task, "args": list(args or []), "kwargs": dict(kwargs or {})}
    body.update({name: value for name, value in options.items() if value is not None})
    return body


def submit(body: dict[str, Any], idempotency_key: str | None = None) -> Call:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return Call("POST", "/jobs", body=body, headers=headers)


def submit_batch(bodies: list[dict[str, Any]]) -> Call:
    return Call("POST", "/jobs/batch", body={"jobs": bodies})


def get_job(job_id: str) -> Call:
    return Call("GET", f"/jobs/{segment(job_id)}")


def job_result(job_id: str, wait: float) -> Call:
    return Call("GET", f"/jobs/{segment(job_id)}/result", params={"wait": min(max(wait, 0.0), MAX_SERVER_WAIT)})


def cancel(job_id: str) -> Call:
    return Call("DELETE", f"/jobs/{segment(job_id)}")


def requeue(job_id: str) -> Call:
    return Call("POST", f"/jobs/{segment(job_id)}/requeue")


def list_jobs(
    queue: str | None = None, status: str | None = None, limit: int = 50, offset: int = 0, **filters: Any
) -> Call:
    """GET /jobs; `filters`: task, schedule, submitted_by, since, until (ISO 8601), full."""
    params = {"queue": queue, "status": status, "limit": limit, "offset": offset, **filters}
    return Call("GET", "/jobs", params=given(params))


def bulk(action: str, filters: dict[str, Any]) -> Call:
    """POST /jobs/cancel or /jobs/requeue: `filters` as GET /jobs takes them, plus `limit`."""
    return Call("POST", f"/jobs/{action}", body=given(filters))


def job_events(after: str | None = None, wait: float = 0, limit: int = 100, **filters: Any) -> Call:
    """GET /jobs/events: ends after the cursor `after` (None: from now on); `filters`: task, queue, status."""
    params = {"after": after, "wait": min(max(wait, 0.0), MAX_SERVER_WAIT), "limit": limit, **filters}
    return Call("GET", "/jobs/events", params=given(params))


def given(values: dict[str, Any]) -> dict[str, Any]:
    """Only the values set: a filter left out is not sent."""
    return {name: value for name, value in values.items() if value is not None}


def list_schedules() -> Call:
    return Call("GET", "/schedules")


def get_schedule(name: str) -> Call:
    return Call("GET", f"/schedules/{segment(name)}")


def put_schedule(name: str, body: dict[str, Any]) -> Call:
    return Call("PUT", f"/schedules/{segment(name)}", body=body)


def delete_schedule(name: str) -> Call:
    return Call("DELETE", f"/schedules/{segment(name)}")


def schedule_action(name: str, action: str) -> Call:
    """pause, resume or trigger."""
    return Call("POST", f"/schedules/{segment(name)}/{action}")


def schedule_runs(name: str, limit: int = 50) -> Call:
    return Call("GET", f"/schedules/{segment(name)}/runs", params={"limit": limit})


def simple_get(path: str) -> Call:
    """/queues, /workers, /tasks, /healthz."""
    return Call("GET", path)


def build(client: httpx.Client | httpx.AsyncClient, call: Call) -> httpx.Request:
    content = None if call.body is None else json.dumps(call.body, allow_nan=False).encode()
    headers = {**call.headers, **({"content-type": "application/json"} if content is not None else {})}
    return client.build_request(call.method, call.path, params=call.params, content=content, headers=headers)


def read(response: httpx.Response) -> Any:
    """The answer's JSON (None for an empty one), or `ApiError` with the server's `detail`."""
    body = _json_or_text(response)
    if response.status_code >= 400:
        detail = body.get("detail", body) if isinstance(body, dict) else body
        raise ApiError(response.status_code, detail)
    return body


def _json_or_text(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def headers(key: str | None) -> dict[str, str]:
    return {"X-API-Key": key} if key else {}
