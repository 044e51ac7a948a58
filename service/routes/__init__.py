"""All API routers, included by `create_app`, with the error answers every route may give."""

from typing import Any

from fastapi import APIRouter, FastAPI
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


def include_api(app: FastAPI) -> None:
    """Every API router, each included in `app` itself: one level of routers to match a request through, not two."""
    for router in ROUTERS:
        app.include_router(router, responses=ERROR_RESPONSES)
