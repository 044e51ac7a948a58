"""Every API route checks the caller's key before it reads the body, and the body before FastAPI does."""

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute

from service.app import create_app
from service.guarded_route import GuardedRoute
from service.settings import ServiceSettings


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """The app's APIRoutes, through included routers (which this FastAPI keeps as `_IncludedRouter`)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def test_every_api_route_is_guarded(settings: ServiceSettings) -> None:
    # /docs, /redoc and their redirect are pages about the API, public by contract, not in its schema
    routes = [route for route in api_routes(create_app(settings).routes) if route.include_in_schema]
    unguarded = [route.path for route in routes if not isinstance(route, GuardedRoute)]
    assert len(routes) > 20
    assert unguarded == []
