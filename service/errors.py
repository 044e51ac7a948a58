"""Domain errors and Redis outages mapped to HTTP statuses, once."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from redis.exceptions import BusyLoadingError, OutOfMemoryError, ReadOnlyError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from workers.core.errors import ConflictError, InvalidError, JobServiceError, NotFoundError

log = logging.getLogger(__name__)
RETRY_AFTER = "5"
# Redis cannot serve the request now (down, loading, full, a read-only replica): 503, try again.
REDIS_OUTAGES = (RedisConnectionError, RedisTimeoutError, BusyLoadingError)
REDIS_REFUSALS = (OutOfMemoryError, ReadOnlyError)
UNPARSABLE_BODY = "There was an error parsing the body"  # FastAPI's own wording

STATUS_BY_ERROR: dict[type[JobServiceError], int] = {
    InvalidError: 422,
    NotFoundError: 404,
    ConflictError: 409,
}


def redis_unavailable(detail: str = "Redis is unavailable; try again shortly") -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": RETRY_AFTER})


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    status = next((STATUS_BY_ERROR[kind] for kind in type(error).__mro__ if kind in STATUS_BY_ERROR), 400)
    return JSONResponse({"detail": str(error)}, status_code=status)


async def _redis_down(request: Request, error: Exception) -> JSONResponse:
    log.warning("redis unavailable during %s %s: %s", request.method, request.url.path, error)
    return redis_unavailable()


async def _redis_refused(request: Request, error: Exception) -> JSONResponse:
    """Out of memory under `noeviction`, or a read-only replica: nothing was written."""
    if isinstance(error, REDIS_REFUSALS) or str(error).startswith("OOM"):
        log.warning("redis refused a write: %s", error)
        return redis_unavailable("Redis refused the write (out of memory or read-only); try again shortly")
    raise error


async def _http_error(request: Request, error: Exception) -> Response:
    """FastAPI answers 400 for a body it cannot decode (not UTF-8); the contract says 422."""
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400 and error.detail == UNPARSABLE_BODY:
        return JSONResponse({"detail": "malformed JSON body: it could not be decoded"}, status_code=422)
    return await http_exception_handler(request, error)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for error_type in STATUS_BY_ERROR:
        app.add_exception_handler(error_type, _domain_error)
    for outage in REDIS_OUTAGES:
        app.add_exception_handler(outage, _redis_down)
    for refusal in (ResponseError, OutOfMemoryError, ReadOnlyError):
        app.add_exception_handler(refusal, _redis_refused)
