"""Hot routes called without FastAPI's dependency solving: their arguments read straight from the request.

On every request FastAPI solves a route's dependencies (settings, Redis clients, the key's
two security schemes, headers, the body) and validates the endpoint's answer again against
its model before dumping it: for `POST /jobs` a quarter of the process's CPU. An endpoint
marked `@direct(reader)` is called with the arguments `reader` reads from the request
itself (the key GuardedRoute already checked, the app's state, the JSON body GuardedRoute
already parsed), and its answer model is dumped to bytes by pydantic in one call.

The endpoint's signature still documents the route: the OpenAPI document is FastAPI's.
When `reader` returns None (a body its model refuses, a header out of bounds, a body that
is not JSON), FastAPI's own handler takes the request, so every refusal is FastAPI's, word
for word.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

Handler = Callable[[Request], Awaitable[Response]]
# The endpoint's arguments, given the request and the response whose status and headers it may set; None: FastAPI's way.
Reader = Callable[[Request, Response], Awaitable[dict[str, Any] | None]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[Any]])
Model = TypeVar("Model", bound=BaseModel)


def direct(reader: Reader) -> Callable[[Endpoint], Endpoint]:
    """Mark an `async def` endpoint returning its response model: called with `reader`'s arguments."""

    def mark(endpoint: Endpoint) -> Endpoint:
        endpoint.direct_reader = reader  # type: ignore[attr-defined]
        return endpoint

    return mark


def direct_handler(route: APIRoute, fallback: Handler) -> Handler:
    """`route`'s handler: the direct call when its endpoint is marked, else FastAPI's own (`fallback`)."""
    reader: Reader | None = getattr(route.endpoint, "direct_reader", None)
    if reader is None:
        return fallback
    endpoint, default_status = route.endpoint, route.status_code or 200

    async def handler(request: Request) -> Response:
        answer = Response()  # as FastAPI's sub-response: the endpoint may set its status or headers
        del answer.headers["content-length"]
        answer.status_code = None  # type: ignore[assignment]
        arguments = await reader(request, answer)
        if arguments is None:
            return await fallback(request)
        result: BaseModel = await endpoint(**arguments)
        body = result.__pydantic_serializer__.to_json(result, by_alias=True)  # bytes, as FastAPI dumps a model
        response = Response(body, answer.status_code or default_status, media_type="application/json")
        response.raw_headers.extend(answer.raw_headers)
        return response

    return handler


async def json_body(request: Request, model: type[Model]) -> Model | None:
    """The body as `model`, or None for anything FastAPI should answer itself.

    FastAPI parses a body as JSON only under a JSON content type; GuardedRoute has already
    parsed it (and refused values no reader could take back), so `request.json()` is cached.
    """
    if request.headers.get("content-type") != "application/json" or not await request.body():
        return None
    try:
        return model.model_validate(await request.json())
    except (ValueError, ValidationError):  # not JSON at all, or refused by the model
        return None
