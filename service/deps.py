"""Dependencies routes share: settings, the Redis clients, and the caller's key.

All `async def`: none does I/O, and a sync dependency costs a thread-pool hop per request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from service.auth import ApiKey, Scope, find_key
from service.settings import ServiceSettings
from workers.jobs.wait import JobWaits

bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: <key>`")


async def get_app_settings(request: Request) -> ServiceSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_redis(request: Request) -> Redis:
    return request.app.state.redis  # type: ignore[no-any-return]


async def get_async_redis(request: Request) -> AsyncRedis:
    return request.app.state.async_redis  # type: ignore[no-any-return]


async def get_job_waits(request: Request) -> JobWaits:
    return request.app.state.job_waits  # type: ignore[no-any-return]


SettingsDep = Annotated[ServiceSettings, Depends(get_app_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]
AsyncRedisDep = Annotated[AsyncRedis, Depends(get_async_redis)]  # for routes on the event loop, no thread hop
JobWaitsDep = Annotated[JobWaits, Depends(get_job_waits)]


def authorize(request: Request, presented: str | None, scope: Scope) -> ApiKey:
    """The caller's key if it has at least `scope`: else 401 (no valid key) or 403 (too small)."""
    key = find_key(request.app.state.keys, presented)
    if key is None:
        raise HTTPException(401, "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"})
    if key.scope < scope:
        raise HTTPException(403, f"key {key.name!r} has scope {key.scope.name!r}; this needs {scope.name!r}")
    request.state.key = key
    return key


def require(scope: Scope) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency that lets through keys of at least `scope`, from `X-API-Key` or `Authorization: Bearer`.

    It carries `required_scope`, so GuardedRoute can check the key before the body is read.
    """

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
        header_key: Annotated[str | None, Security(api_key_header)],
    ) -> ApiKey:
        # GuardedRoute already authorized this request's key (read from the same headers, in the same order)
        checked: ApiKey | None = getattr(request.state, "key", None)
        if checked is not None and checked.scope >= scope:
            return checked
        return authorize(request, header_key or (credentials.credentials if credentials else None), scope)

    check.required_scope = scope  # type: ignore[attr-defined]
    return check


ReadKey = Annotated[ApiKey, Depends(require(Scope.read))]
WriteKey = Annotated[ApiKey, Depends(require(Scope.write))]
AdminKey = Annotated[ApiKey, Depends(require(Scope.admin))]
