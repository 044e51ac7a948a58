"""The queue side of rq-service, shared by the web, worker and scheduler processes."""

from workers.tasks.registry import task

__all__ = ["task"]
