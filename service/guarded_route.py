"""Every API route: the caller's key is checked first, then (GET) the query's names, then the JSON body.

FastAPI decodes the body before it runs any dependency, so without this a malformed body
answers 422 to a caller without a key, and a NaN reaches the models (and then the 422
answer, which cannot encode it, becomes a 500).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from service.auth import Scope, presented_key
from service.deps import authorize
from service.direct import direct_handler
from service.replicas import replicated
from workers.core.json_values import MAX_DEPTH, JsonDepthError, JsonValueError, check_json_value

ENVELOPE_DEPTH = 3  # {"jobs": [{"args": ...}]}: the levels a body adds around a free-form value
BODY_DEPTH = MAX_DEPTH + ENVELOPE_DEPTH


class GuardedRoute(APIRoute):
    """An APIRoute that authorizes, then refuses a body no reader could take back, then runs FastAPI's handler.

    A 2xx to a write waits for REDIS_MIN_REPLICAS_ACK replicas (service/replicas.py) before it leaves.
    An endpoint marked `@direct` is called without FastAPI's dependency solving (service/direct.py).
    """

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = direct_handler(self, super().get_route_handler())
        scope = required_scope(self.dependant)
        known = query_names(self.dependant) if "GET" in self.methods else None

        async def guarded(request: Request) -> Response:
            if scope is not None:
                authorize(request, presented_key(request.headers), scope)
            if known is not None:
                check_query(request, known)
            await check_body(request)
            return await replicated(request, await handler(request))

        return guarded


def required_scope(dependant: Dependant) -> Scope | None:
    """The largest scope any of the route's dependencies requires (None: an open route)."""
    scopes = [getattr(dependant.call, "required_scope", None)]
    scopes += [required_scope(sub) for sub in dependant.dependencies]
    found = [scope for scope in scopes if scope is not None]
    return max(found) if found else None


def query_names(dependant: Dependant) -> frozenset[str]:
    """Every query parameter the route or one of its dependencies reads, by the name a caller sends."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= query_names(sub)
    return frozenset(names)


def check_query(request: Request, known: frozenset[str]) -> None:
    """422 naming a query parameter the route does not read: a misspelt filter is not silently ignored."""
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise HTTPException(422, f"unknown query parameters: {', '.join(unknown)} (this route takes: {allowed})")


async def check_body(request: Request) -> None:
    """422 naming the field for NaN, Infinity, integers beyond 64 bits, lone surrogates or deep nesting.

    A body that is not JSON at all is left to FastAPI, which answers its own 422.
    """
    if not await request.body():
        return
    try:
        body: Any = await request.json()  # cached on the request: FastAPI's own read then parses nothing again
    except RecursionError:
        raise HTTPException(422, f"the body nests deeper than the limit of {BODY_DEPTH} levels") from None
    except ValueError:
        return
    try:
        check_json_value(body, "", max_depth=BODY_DEPTH, max_bytes=None)
    except JsonDepthError as error:
        raise HTTPException(422, f"{error}; free-form values (args, kwargs) may nest {MAX_DEPTH}") from None
    except JsonValueError as error:
        raise HTTPException(422, str(error)) from None
