"""/jobs: submit, read, wait for, cancel and requeue jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from service.audit import AuditDep
from service.auth import ApiKey
from service.deps import AdminKey, AsyncRedisDep, JobWaitsDep, ReadKey, RedisDep, SettingsDep, WriteKey
from service.direct import direct, json_body
from service.guarded_route import GuardedRoute
from service.job_answers import accepted_write, job_out
from service.schemas import (
    JOB_ID_PATTERN,
    QUEUE_PATTERN,
    JobAccepted,
    JobBatch,
    JobBatchAccepted,
    JobList,
    JobOut,
    JobRequest,
)
from workers.jobs import submit as jobs
from workers.jobs.listing import list_jobs
from workers.jobs.search import JobFilter
from workers.jobs.submit_async import first_job, submit_async, submit_many_async
from workers.schedules.spec import NAME_PATTERN as SCHEDULE_NAME

router = APIRouter(tags=["jobs"], route_class=GuardedRoute)
JobIdPath = Annotated[str, Path(pattern=JOB_ID_PATTERN, description="job id")]
JOB_STATUSES = "^(queued|scheduled|deferred|started|finished|failed|canceled|stopped)$"
STOP_WAIT_SECONDS = 5.0
TIME = {"min_length": 1, "max_length": 64, "json_schema_extra": {"format": "date-time"}}
IDEMPOTENCY_KEY_MAX = 200


def to_spec(request: JobRequest, key: ApiKey) -> jobs.JobSpec:
    return jobs.JobSpec(
        task=request.task,
        args=request.args,
        kwargs=request.kwargs,
        queue=request.queue,
        delay=request.delay,
        at=request.at,
        timeout=request.timeout,
        retry=request.retry_policy(),
        result_ttl=request.result_ttl,
        depends_on=request.depends_on,
        at_front=request.at_front,
        callback_url=request.callback_url,
        submitted_by=key.name,
    )


async def submission(request: Request, response: Response) -> dict[str, Any] | None:
    """`submit_job`'s arguments, read directly (service/direct.py); None leaves the request to FastAPI."""
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is not None and not 0 < len(idempotency_key) <= IDEMPOTENCY_KEY_MAX:
        return None
    body = await json_body(request, JobRequest)
    if body is None:
        return None
    state = request.app.state
    return {
        "body": body,
        "response": response,
        "async_redis": state.async_redis,
        "settings": state.settings,
        "key": request.state.key,  # GuardedRoute checked it has the write scope
        "idempotency_key": idempotency_key,
    }


async def batch(request: Request, response: Response) -> dict[str, Any] | None:
    """`submit_batch`'s arguments, read directly (service/direct.py); None leaves the request to FastAPI."""
    body = await json_body(request, JobBatch)
    if body is None:
        return None
    state = request.app.state
    return {"body": body, "async_redis": state.async_redis, "settings": state.settings, "key": request.state.key}


@router.post("/jobs", status_code=202, responses={200: {"model": JobAccepted}})
@direct(submission)
async def submit_job(
    body: JobRequest,
    response: Response,
    async_redis: AsyncRedisDep,
    settings: SettingsDep,
    key: WriteKey,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=IDEMPOTENCY_KEY_MAX)] = None,
) -> JobAccepted:
    """Submit a job; a repeated `Idempotency-Key` answers 200 with the first job."""
    submission = await submit_async(async_redis, settings, to_spec(body, key), idempotency_key)
    if submission.written is not None:
        return accepted_write(submission.written)
    response.status_code = 200
    return accepted_write(await first_job(async_redis, submission.replay_of or ""))


@router.post("/jobs/batch", status_code=202)
@direct(batch)
async def submit_batch(
    body: JobBatch, async_redis: AsyncRedisDep, settings: SettingsDep, key: WriteKey
) -> JobBatchAccepted:
    """Submit up to 1000 jobs; one invalid item refuses them all."""
    written = await submit_many_async(async_redis, settings, [to_spec(item, key) for item in body.jobs])
    return JobBatchAccepted(jobs=[accepted_write(write) for write in written])


@router.get("/jobs")
def get_jobs(
    redis: RedisDep,
    settings: SettingsDep,
    key: ReadKey,
    queue: Annotated[str | None, Query(pattern=QUEUE_PATTERN)] = None,
    status: Annotated[str | None, Query(pattern=JOB_STATUSES)] = None,
    task: Annotated[str | None, Query(min_length=1, max_length=200, description="the task's name")] = None,
    schedule: Annotated[str | None, Query(pattern=SCHEDULE_NAME, description="jobs a schedule fired")] = None,
    submitted_by: Annotated[str | None, Query(min_length=1, max_length=200, description="an API key's name")] = None,
    since: Annotated[str | None, Query(description="enqueued at or after, ISO 8601 with a timezone", **TIME)] = None,
    until: Annotated[str | None, Query(description="enqueued at or before, ISO 8601 with a timezone", **TIME)] = None,
    full: Annotated[bool, Query(description="include each error's traceback")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JobList:
    """List jobs by queue, status, task, schedule, submitter and enqueue time; `total` counts every match."""
    narrowed = JobFilter(task, schedule, submitted_by, aware(since, "since"), aware(until, "until"))
    page = list_jobs(redis, settings.queues, queue, status, (limit, offset), narrowed)
    return JobList(jobs=[listed_job(job, full) for job in page.jobs], total=page.total)


def aware(text: str | None, name: str) -> datetime | None:
    """An ISO 8601 time the caller gave; 422 for anything else (a bare number is not a time here),
    and for one without a timezone, rather than a guess."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        raise HTTPException(422, f"{name}: not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise HTTPException(422, f"{name}: give a timezone, e.g. 2026-12-01T00:00:00Z")
    return moment


def listed_job(job: jobs.TaskJob, full: bool) -> JobOut:
    """A list item: its error's traceback only when asked for, so a page of failures stays small."""
    answer = job_out(job)
    if answer.error is not None and not full:
        answer.error.traceback = None
    return answer


@router.get("/jobs/{job_id}")
async def get_job(job_id: JobIdPath, redis: RedisDep, key: ReadKey) -> JobOut:
    """A job's status, result or error."""
    return await run_in_threadpool(lambda: job_out(jobs.fetch(redis, job_id)))


@router.get("/jobs/{job_id}/result")
async def get_job_result(
    job_id: JobIdPath,
    redis: RedisDep,
    waits: JobWaitsDep,
    key: ReadKey,
    wait: Annotated[float, Query(ge=0, le=60)] = 0,
) -> JobOut:
    """The job once it has ended, waiting up to `wait` seconds for that (on the event loop, holding no thread)."""
    if wait > 0:  # an unknown job ends the wait at once, and the read answers 404
        await waits.wait(job_id, wait)
    return await run_in_threadpool(lambda: job_out(jobs.fetch(redis, job_id)))


@router.delete("/jobs/{job_id}")
async def cancel_job(job_id: JobIdPath, redis: RedisDep, waits: JobWaitsDep, key: AdminKey, audit: AuditDep) -> JobOut:
    """Cancel a pending job, or stop a started one (waiting, holding no thread, for it to stop)."""

    def cancel() -> bool:
        job = jobs.cancel(redis, job_id)
        audit("job.cancel", job_id)
        return job.get_status(refresh=False).value == "started"

    if await run_in_threadpool(cancel):
        await waits.wait(job_id, STOP_WAIT_SECONDS)
    return await run_in_threadpool(lambda: job_out(jobs.fetch(redis, job_id)))


@router.post("/jobs/{job_id}/requeue", status_code=202)
def requeue_job(job_id: JobIdPath, redis: RedisDep, key: AdminKey, audit: AuditDep) -> JobOut:
    """Queue a failed, stopped or canceled job again under the same id."""
    job = jobs.requeue(redis, job_id)
    audit("job.requeue", job_id)
    return job_out(job)
