"""What a job listing may be narrowed by, beyond queue and status: who and what made the job, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workers.rq_seam.job import TaskJob


@dataclass(frozen=True)
class JobFilter:
    """Every field left None matches any job; `since` and `until` bound `enqueued_at`, both inclusive."""

    task: str | None = None
    schedule: str | None = None
    submitted_by: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def is_empty(self) -> bool:
        return all(value is None for value in vars(self).values())

    def matches(self, job: TaskJob) -> bool:
        """Whether `job` passes every given field (a job never enqueued passes no time bound)."""
        found = {"schedule": job.meta.get("schedule"), "submitted_by": job.meta.get("submitted_by")}
        wanted = {"schedule": self.schedule, "submitted_by": self.submitted_by}
        if any(value is not None and found[key] != value for key, value in wanted.items()):
            return False
        if self.task is not None and job.task_name != self.task:
            return False
        return self._in_window(job.enqueued_at)

    def _in_window(self, enqueued_at: datetime | None) -> bool:
        if self.since is None and self.until is None:
            return True
        if enqueued_at is None:
            return False
        after_start = self.since is None or enqueued_at >= self.since
        return after_start and (self.until is None or enqueued_at <= self.until)
