"""All API routers, included by `create_app`, with the error answers every route may give."""

from typing import Any

from fastapi import APIRouter
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
    503: _error("Redis cannot be reached or refused the write; try again", **{"Retry-After": "seconds"}),
}

api_router = APIRouter()
for module in (bulk, events, jobs, schedules, catalog, ops, audit):  # before jobs: their paths are not job ids
    api_router.include_router(module.router, responses=ERROR_RESPONSES)
