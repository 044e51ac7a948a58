"""POST /jobs/cancel and /jobs/requeue: one action on every job a filter finds (admin, audited)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from service.audit import AuditDep
from service.bulk_schemas import FILTERS, BulkFilter, BulkResultOut, CancelFilter, RequeueFilter
from service.deps import AdminKey, RedisDep, SettingsDep
from service.guarded_route import GuardedRoute
from service.routes.jobs import aware
from workers.jobs.bulk import CANCELABLE, REQUEUEABLE, BulkResult, Where, bulk_cancel, bulk_requeue
from workers.jobs.search import JobFilter

router = APIRouter(tags=["jobs"], route_class=GuardedRoute)


def where(body: BulkFilter, applies_to: tuple[str, ...], action: str) -> Where:
    """The jobs `body` selects; 422 for no filter at all, or a status the action cannot apply to."""
    if not body.given():
        raise HTTPException(
            422, f"give at least one filter of {', '.join(FILTERS)}: an empty one would select every job"
        )
    if body.status is not None and body.status not in applies_to:
        raise HTTPException(422, f"status: only {', '.join(applies_to)} jobs can be {action}")
    narrowed = JobFilter(
        body.task, body.schedule, body.submitted_by, aware(body.since, "since"), aware(body.until, "until")
    )
    statuses = (body.status,) if body.status is not None else applies_to
    return Where(body.queue, statuses, narrowed)


def answer(result: BulkResult, body: BulkFilter, action: str, audit: AuditDep) -> BulkResultOut:
    if result.count:  # the trail records changes; a filter that matched nothing changed nothing
        given = body.given()
        target = ",".join(f"{name}={value}" for name, value in given.items())
        audit(action, target, None, {"filter": given, "limit": body.limit, "count": result.count, "more": result.more})
    return BulkResultOut(count=result.count, more=result.more)


@router.post("/jobs/cancel")
def cancel_jobs(
    body: CancelFilter, redis: RedisDep, settings: SettingsDep, key: AdminKey, audit: AuditDep
) -> BulkResultOut:
    """Cancel every queued, scheduled or deferred job the filter finds, and ask started ones to stop.

    Each goes through the same cancel as `DELETE /jobs/{id}` (without waiting for stops).
    At most `limit` jobs per call; `more` says whether others matched.
    """
    result = bulk_cancel(redis, settings.queues, where(body, CANCELABLE, "canceled"), body.limit)
    return answer(result, body, "jobs.cancel", audit)


@router.post("/jobs/requeue")
def requeue_jobs(
    body: RequeueFilter, redis: RedisDep, settings: SettingsDep, key: AdminKey, audit: AuditDep
) -> BulkResultOut:
    """Queue again every failed, stopped or canceled job the filter finds, each under its own id.

    E.g. `{"task": "reports.build", "status": "failed"}` after a fix. At most `limit` jobs
    per call; `more` says whether others matched.
    """
    result = bulk_requeue(redis, settings.queues, where(body, REQUEUEABLE, "requeued"), body.limit)
    return answer(result, body, "jobs.requeue", audit)
