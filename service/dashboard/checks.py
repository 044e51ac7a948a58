"""rq-dashboard's URL values checked, and its failures answered as 4xx or 503, never 500.

rq-dashboard trusts its URLs (an unknown registry is a NameError, `per_page` 0 a
ZeroDivisionError) and the job hashes it reads; a hash that was not written by rq
(by hand, or by an attacker with Redis access) breaks rq's parsing in a dozen ways.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, jsonify, request
from redis import Redis
from werkzeug.exceptions import HTTPException

from service.errors import REDIS_OUTAGES, REDIS_REFUSALS, RETRY_AFTER
from workers.rq_seam.dashboard import REGISTRIES, NoSuchJobError, queue_is_known, queued_count

log = logging.getLogger(__name__)
MAX_PER_PAGE = 1000
ORDERS = frozenset({"asc", "dsc"})
HOME = "rq_dashboard.queues_overview"
REDIS_UNAVAILABLE = REDIS_OUTAGES + REDIS_REFUSALS


def check_url_values(app: Flask, get_redis: Callable[[], Redis], queues: list[str]) -> None:
    """Answer 404 or 422 for values rq-dashboard would choke on, before its view runs."""

    @app.before_request
    def check_values() -> Response | None:
        if request.endpoint == HOME:  # rq-dashboard answers 200 with its own error page when Redis is away
            get_redis().ping()  # so ask first: an outage raises here and is answered 503 (answer_errors)
        problem = _problem(request.view_args or {}, get_redis(), queues)
        if problem is None and request.endpoint == "rq_dashboard.compact_queue":
            problem = _nothing_to_compact(get_redis(), str((request.view_args or {})["queue_name"]))
        return None if problem is None else _answer(*problem)


def _nothing_to_compact(redis: Redis, queue: str) -> tuple[int, str] | None:
    return (422, f"queue {queue!r} is empty: nothing to compact") if queued_count(redis, queue) == 0 else None


def _problem(values: dict[str, object], redis: Redis, queues: list[str]) -> tuple[int, str] | None:
    if values.get("instance_number", 0) != 0:
        return 404, f"no Redis instance {values['instance_number']}: this dashboard has one, number 0"
    queue = values.get("queue_name")
    if isinstance(queue, str) and not queue_is_known(redis, queue, queues):
        return 404, f"no queue {queue!r}"
    registry = values.get("registry_name")
    if registry is not None and registry not in REGISTRIES:
        return 404, f"no registry {registry!r}: one of {', '.join(sorted(REGISTRIES))}"
    if "order" in values and values["order"] not in ORDERS:
        return 422, "order must be 'asc' or 'dsc'"
    for name, low, high in (("per_page", 1, MAX_PER_PAGE), ("page", 1, None)):
        if name in values and not _whole_in(values[name], low, high):
            return 422, f"{name} must be a whole number from {low}" + (f" to {high}" if high else " up")
    return None


def _whole_in(value: object, low: int, high: int | None) -> bool:
    try:
        number = int(str(value))
    except ValueError:
        return False
    return number >= low and (high is None or number <= high)


def answer_errors(app: Flask) -> None:
    """Unknown jobs are 404, Redis outages 503, and unreadable job data 422, with the reason."""

    @app.errorhandler(Exception)
    def answer(error: Exception) -> Response | HTTPException:
        if isinstance(error, HTTPException):
            return error
        if isinstance(error, NoSuchJobError):
            return _answer(404, "no such job")
        if isinstance(error, REDIS_UNAVAILABLE):
            response = _answer(503, "Redis is unavailable; try again shortly")
            response.headers["Retry-After"] = RETRY_AFTER
            return response
        log.warning("dashboard %s %s: unreadable data in Redis", request.method, request.path, exc_info=error)
        return _answer(422, f"the data in Redis for this page cannot be read ({type(error).__name__})")


def _answer(status: int, detail: str) -> Response:
    response = jsonify(detail=detail)
    response.status_code = status
    return response
