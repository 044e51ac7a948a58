"""The queue side of rq-service, shared by the web, worker and scheduler processes."""

from workers.tasks.progress import progress
from workers.tasks.registry import task

__all__ = ["progress", "task"]
