"""The API's methods, written once: `Client` returns their answers, `AsyncClient` awaitables of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from rqs import api

R = TypeVar("R")


class Endpoints(Generic[R]):
    """Every endpoint but the wait loop; a subclass says how a `Call` is sent (`_send`)."""

    def _send(self, call: api.Call) -> R:
        raise NotImplementedError

    def submit(
        self,
        task: str,
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        *,
        queue: str | None = None,
        delay: float | None = None,
        at: datetime | str | None = None,
        timeout: int | None = None,
        retry: int | dict[str, Any] | None = None,
        result_ttl: int | None = None,
        depends_on: list[str] | None = None,
        at_front: bool | None = None,
        callback_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> R:
        """POST /jobs: the accepted job (a repeated `idempotency_key` gives the first one back).

        `callback_url` is POSTed the job, signed, once it ends (its host must be in the server's CALLBACK_HOSTS).
        """
        when = at.isoformat() if isinstance(at, datetime) else at
        options = {"queue": queue, "delay": delay, "at": when, "timeout": timeout, "retry": retry}
        options |= {"result_ttl": result_ttl, "depends_on": depends_on, "at_front": at_front}
        options |= {"callback_url": callback_url}
        return self._send(api.submit(api.job_body(task, args, kwargs, **options), idempotency_key))

    def submit_batch(self, jobs: list[dict[str, Any]]) -> R:
        """POST /jobs/batch: job bodies (as `POST /jobs` takes, `callback_url` too), all accepted or none."""
        return self._send(api.submit_batch(jobs))

    def get_job(self, job_id: str) -> R:
        return self._send(api.get_job(job_id))

    def cancel(self, job_id: str) -> R:
        """Cancel a pending job or stop a running one (admin)."""
        return self._send(api.cancel(job_id))

    def requeue(self, job_id: str) -> R:
        """Run a failed, stopped or canceled job again (admin)."""
        return self._send(api.requeue(job_id))

    def list_jobs(
        self,
        queue: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
        *,
        task: str | None = None,
        schedule: str | None = None,
        submitted_by: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        full: bool | None = None,
    ) -> R:
        """GET /jobs: `{"jobs", "total"}`, narrowed by every filter given (times on `enqueued_at`)."""
        filters = {"task": task, "schedule": schedule, "submitted_by": submitted_by, "full": full}
        filters |= {"since": _iso(since), "until": _iso(until)}
        return self._send(api.list_jobs(queue, status, limit, offset, **filters))

    def cancel_where(self, limit: int | None = None, **filters: Any) -> R:
        """POST /jobs/cancel (admin): every pending job the filters find is canceled, started ones stopped.

        `filters`: queue, status, task, schedule, submitted_by, since, until (at least one).
        Answers `{"count", "more"}`; `more`: others matched beyond `limit` (at most 10,000).
        """
        return self._send(api.bulk("cancel", _filters(filters, limit)))

    def requeue_where(self, limit: int | None = None, **filters: Any) -> R:
        """POST /jobs/requeue (admin): e.g. `requeue_where(task="reports.build", status="failed")` after a fix."""
        return self._send(api.bulk("requeue", _filters(filters, limit)))

    def job_events(
        self,
        after: str | None = None,
        wait: float = 0,
        *,
        task: str | None = None,
        queue: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> R:
        """GET /jobs/events: `{"events", "cursor"}`, job ends after `after`, waiting up to `wait` s for one."""
        return self._send(api.job_events(after, wait, limit, task=task, queue=queue, status=status))

    def list_schedules(self) -> R:
        return self._send(api.list_schedules())

    def get_schedule(self, name: str) -> R:
        return self._send(api.get_schedule(name))

    def put_schedule(self, name: str, body: dict[str, Any]) -> R:
        """Create or replace (the same body twice changes nothing); `callback_url` in `body` reaches every run."""
        return self._send(api.put_schedule(name, body))

    def delete_schedule(self, name: str) -> R:
        return self._send(api.delete_schedule(name))

    def pause_schedule(self, name: str) -> R:
        return self._send(api.schedule_action(name, "pause"))

    def resume_schedule(self, name: str) -> R:
        return self._send(api.schedule_action(name, "resume"))

    def trigger_schedule(self, name: str) -> R:
        """One run now; answers the accepted job."""
        return self._send(api.schedule_action(name, "trigger"))

    def schedule_runs(self, name: str, limit: int = 50) -> R:
        return self._send(api.schedule_runs(name, limit))

    def queues(self) -> R:
        return self._send(api.simple_get("/queues"))

    def workers(self) -> R:
        return self._send(api.simple_get("/workers"))

    def tasks(self) -> R:
        return self._send(api.simple_get("/tasks"))

    def health(self) -> R:
        return self._send(api.simple_get("/healthz"))


def _iso(moment: datetime | str | None) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else moment


def _filters(filters: dict[str, Any], limit: int | None) -> dict[str, Any]:
    return {name: _iso(value) for name, value in {**filters, "limit": limit}.items()}
