"""/healthz: liveness of the API and its Redis, without auth."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from service.deps import RedisDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", responses={503: {"description": "Redis cannot be reached"}})
def healthz(redis: RedisDep) -> JSONResponse:
    """200 when Redis answers a PING, else 503 (within the client's short timeout)."""
    try:
        redis.ping()
    except RedisError:
        return JSONResponse({"status": "degraded", "redis": "down"}, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"status": "ok", "redis": "ok"})
