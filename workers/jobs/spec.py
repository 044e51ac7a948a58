"""What a caller asks to run, before any default is applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workers.tasks.registry import RetryPolicy


@dataclass
class JobSpec:
    """What a caller asks to run; options left None take the task's, then the service's defaults."""

    task: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str | None = None
    delay: float | None = None
    at: datetime | None = None
    timeout: int | None = None
    retry: RetryPolicy | None = None
    result_ttl: int | None = None
    depends_on: list[str] = field(default_factory=list)
    at_front: bool = False
    job_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    callback_url: str | None = None  # POSTed the job body once its run reaches a final status (workers/callbacks/)
    submitted_by: str | None = None  # the API key's name; recorded on the job instead of in the audit trail

    def __post_init__(self) -> None:
        self.depends_on = list(dict.fromkeys(self.depends_on))  # a repeated id is one dependency
