"""/healthz: liveness of the API and its Redis, without auth; /metrics for Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client.exposition import choose_encoder
from redis.exceptions import RedisError

from service.deps import ReadKey, RedisDep
from service.errors import RETRY_AFTER
from service.guarded_route import GuardedRoute
from service.schemas import Health

router = APIRouter(tags=["operations"], route_class=GuardedRoute)


@router.get(
    "/healthz",
    responses={200: {"model": Health}, 503: {"model": Health, "description": "Redis cannot be reached"}},
)
def healthz(redis: RedisDep) -> JSONResponse:
    """200 when Redis answers a PING, else 503 (within the client's short timeout)."""
    try:
        redis.ping()
    except RedisError:
        return JSONResponse(
            {"status": "degraded", "redis": "down"}, status_code=503, headers={"Retry-After": RETRY_AFTER}
        )
    return JSONResponse({"status": "ok", "redis": "ok"})


@router.get("/metrics", response_class=PlainTextResponse, responses={503: {"description": "Redis cannot be reached"}})
def metrics(request: Request, key: ReadKey) -> Response:
    """Prometheus text format: queues, workers, tasks and schedules from Redis, HTTP traffic of this instance."""
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(request.app.state.metrics), media_type=content_type)
