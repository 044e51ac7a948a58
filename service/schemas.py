"""Request and response bodies of the HTTP contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from workers.core.input_fields import QUEUE_PATTERN, CallbackUrl, JsonArgs, JsonKwargs, RepresentableDatetime, RetrySpec
from workers.tasks.registry import RetryPolicy

JOB_ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
JobId = Annotated[str, Field(pattern=JOB_ID_PATTERN)]


class JobRequest(BaseModel):
    """One job to run: only `task` is required."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1, max_length=200)
    args: JsonArgs = Field(default_factory=list)
    kwargs: JsonKwargs = Field(default_factory=dict)
    queue: str | None = Field(default=None, pattern=QUEUE_PATTERN)
    delay: float | None = Field(default=None, ge=0, le=366 * 86_400)
    at: RepresentableDatetime | None = None
    timeout: int | None = Field(default=None, ge=1, le=7 * 86_400)
    retry: Annotated[int, Field(ge=0, le=100)] | RetrySpec | None = None
    result_ttl: int | None = Field(default=None, ge=-1, le=366 * 86_400)
    depends_on: Annotated[list[JobId], Field(max_length=100, description="a repeated id is one dependency")] = Field(
        default_factory=list
    )
    at_front: bool = False
    callback_url: CallbackUrl | None = None

    def retry_policy(self) -> RetryPolicy | None:
        if isinstance(self.retry, RetrySpec):
            return self.retry.policy()
        return RetryPolicy.parse(self.retry)


class JobBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jobs: list[JobRequest] = Field(min_length=1, max_length=1000)


class JobAccepted(BaseModel):
    id: str
    status: str
    task: str | None
    queue: str
    enqueued_at: datetime | None
    scheduled_for: datetime | None


class JobBatchAccepted(BaseModel):
    jobs: list[JobAccepted]


class JobErrorOut(BaseModel):
    type: str
    message: str
    traceback: str | None = Field(description="null in GET /jobs items unless full=true")


class CallbackOut(BaseModel):
    """The delivery of a job's completion callback."""

    url: str
    status: str = Field(
        description="pending (the job has not ended yet, or an attempt is due at next_attempt_at), delivered, failed",
        examples=["delivered"],
    )
    attempts: int = Field(description="attempts made so far", examples=[3])
    last_error: str | None = Field(
        description="why the last attempt failed", examples=["HTTP 500 Internal Server Error"]
    )
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    last_response_status: int | None = Field(default=None, description="the receiver's last HTTP status")


class JobOut(JobAccepted):
    args: list[Any]
    kwargs: dict[str, Any]
    result: Any
    error: JobErrorOut | None
    started_at: datetime | None
    ended_at: datetime | None
    attempts: int
    retries_left: int | None
    worker: str | None
    schedule: str | None
    submitted_by: str | None = Field(default=None, description="the name of the API key that submitted the job")
    progress: float | None = Field(
        default=None,
        description="how far the task says it has got, 0 to 1 (`workers.progress`); null until it reports",
        examples=[0.4],
    )
    progress_message: str | None = Field(
        default=None, description="the task's last progress message, at most 200 characters", examples=["page 4 of 10"]
    )
    callback: CallbackOut | None = Field(default=None, description="null when the job has no callback_url")


class JobList(BaseModel):
    jobs: list[JobOut]
    total: int


class TaskOut(BaseModel):
    name: str
    queue: str
    timeout: int
    retry: dict[str, Any]
    description: str
    parameters: list[dict[str, str]]
    concurrency: int | None = Field(
        default=None, description="at most this many runs at once across all workers (`@task(concurrency=N)`)"
    )
    rate: str | None = Field(
        default=None,
        description="at most this many starts per window, cluster-wide (`@task(rate=...)`)",
        examples=["100/m"],
    )


class TaskList(BaseModel):
    tasks: list[TaskOut]


class QueueOut(BaseModel):
    name: str
    queued: int
    started: int
    scheduled: int
    deferred: int
    finished: int
    failed: int
    canceled: int
    workers: int


class QueueList(BaseModel):
    queues: list[QueueOut]


class WorkerOut(BaseModel):
    name: str
    state: str
    queues: list[str]
    current_job: str | None = Field(description="The first of `current_jobs` (oldest), or null when idle.")
    current_jobs: list[str] = Field(description="Every job the worker is running now (up to WORKER_CONCURRENCY).")
    successful_jobs: int
    failed_jobs: int
    birth: datetime | None
    last_heartbeat: datetime | None


class WorkerList(BaseModel):
    workers: list[WorkerOut]


class Health(BaseModel):
    status: str
    redis: str
