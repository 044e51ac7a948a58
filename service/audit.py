"""The audit trail from the HTTP side: the `AuditDep` routes record changes with, and dashboard actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from redis import Redis
from starlette.types import Message, Scope, Send

from service.auth import ApiKey
from service.deps import RedisDep
from workers.observability import audit


@dataclass
class Auditor:
    """Records a change made by the request's key; call it once the change is made."""

    redis: Redis
    request: Request

    def __call__(
        self, action: str, target: str, before: dict[str, Any] | None = None, after: dict[str, Any] | None = None
    ) -> None:
        key: ApiKey = self.request.state.key  # set by the auth dependency every mutating route has
        entry = audit.new_entry(key.name, action, target, before, after)
        audit.record(self.redis, entry, self.request.app.state.settings.audit_max_entries)
        self.request.state.audited = True  # the dashboard guard then adds no generic entry of its own

    def stored_schedule(self, name: str) -> dict[str, Any] | None:
        """A schedule's definition before the change, for `before`."""
        return audit.stored_schedule(self.redis, name)


async def get_auditor(request: Request, redis: RedisDep) -> Auditor:
    return Auditor(redis, request)


AuditDep = Annotated[Auditor, Depends(get_auditor)]


class AnswerStatus:
    """An ASGI `send` that notes the status of the answer passing through."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self._send(message)


async def record_dashboard_action(scope: Scope, key: ApiKey, status: int) -> None:
    """Record a dashboard action that went through (answered below 400) and was not audited by name already."""
    app = scope.get("app")
    redis = getattr(getattr(app, "state", None), "redis", None)
    if status >= 400 or app is None or redis is None or scope.get("state", {}).get("audited"):
        return
    entry = audit.new_entry(key.name, f"dashboard.{scope['method']} {scope['path']}", scope["path"])
    await run_in_threadpool(audit.record, redis, entry, app.state.settings.audit_max_entries)
