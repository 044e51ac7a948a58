"""All API routers, included by `create_app`, with the error answers every route may give."""

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict

from service.routes import audit, bulk, catalog, events, jobs, ops, schedules


class ValidationIssue(BaseModel):
    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every error body: a message, or FastAPI's list of what failed validation."""

    detail: str | list[ValidationIssue]


def _error(description: str, **headers: str) -> dict[str, Any]:
    declared = {name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()}
    return {"model": ErrorOut, "description": description, **({"headers": declared} if declared else {})}


# Declared once for every route, so the OpenAPI document lists every answer a client can get.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _error("missing or invalid API key", **{"WWW-Authenticate": "`Bearer`"}),
    403: _error("the key's scope is too small"),
    404: _error("no such job or schedule"),
    409: _error("state conflict: the schedule exists, the job has ended or is not failed"),
    413: _error("request body larger than MAX_BODY_BYTES"),
    422: _error("invalid request: malformed JSON, wrong types, unknown task, bad cron or timezone..."),
    503: _error(
        "Redis cannot be reached or refused the write, or REDIS_MIN_REPLICAS_ACK replicas did not confirm it in time"
        " (the detail then says the write may still exist); try again",
        **{"Retry-After": "seconds"},
    ),
}

ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router
    for module in (bulk, events, jobs, schedules, catalog, ops, audit)  # before jobs: not job ids
)


HOT = {("/jobs", "POST"), ("/jobs/batch", "POST")}  # submissions: most of a busy service's requests


def include_api(app: FastAPI) -> None:
    """Every API router, each included in `app` itself: one level of routers to match a request through, not two.

    This FastAPI matches a request through an included router twice (to pick it, then inside
    it), route by route: a tenth of a submission's CPU. So the submission routes are also
    registered first in the app's own routes, hidden from the OpenAPI document (which
    keeps documenting them where they were): the same endpoint, route class and status.
    """
    for router in ROUTERS:
        app.include_router(router, responses=ERROR_RESPONSES)
    for route in jobs.router.routes:
        if isinstance(route, APIRoute) and any((route.path, method) in HOT for method in route.methods):
            app.router.add_api_route(
                route.path,
                route.endpoint,
                methods=list(route.methods),
                status_code=route.status_code,
                name=route.name,
                include_in_schema=False,
                route_class_override=type(route),
            )
            app.router.routes.insert(0, app.router.routes.pop())
