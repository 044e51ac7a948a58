"""/audit: the trail of every change, and how routes and the dashboard add to it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from redis import Redis
from starlette.types import Message, Scope, Send

from service.auth import ApiKey
from service.deps import AdminKey, RedisDep
from service.guarded_route import GuardedRoute
from workers import audit
from workers.schedules import NAME_PATTERN

router = APIRouter(tags=["operations"], route_class=GuardedRoute)


class AuditEntryOut(BaseModel):
    at: datetime
    key: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditList(BaseModel):
    entries: list[AuditEntryOut]


@router.get("/audit")
def get_audit(
    redis: RedisDep,
    key: AdminKey,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    schedule: Annotated[str | None, Query(pattern=NAME_PATTERN, description="only this schedule's entries")] = None,
) -> AuditList:
    """Every change, newest first: which key (by name) did what to which job or schedule."""
    return AuditList(entries=[AuditEntryOut(**asdict(e)) for e in audit.read(redis, limit, schedule)])


def audit_settings(app: FastAPI) -> audit.AuditSettings:
    """Read once per app, from the environment (`AUDIT_MAX_ENTRIES`)."""
    if not hasattr(app.state, "audit_settings"):
        app.state.audit_settings = audit.AuditSettings()
    return app.state.audit_settings  # type: ignore[no-any-return]


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
        audit.record(self.redis, entry, audit_settings(self.request.app).audit_max_entries)
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
    await run_in_threadpool(audit.record, redis, entry, audit_settings(app).audit_max_entries)
