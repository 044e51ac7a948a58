"""/audit: the trail of every change people make (service/audit.py records them)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from service.deps import AdminKey, RedisDep
from service.guarded_route import GuardedRoute
from workers.observability import audit
from workers.schedules.spec import NAME_PATTERN

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
