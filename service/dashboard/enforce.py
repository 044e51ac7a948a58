"""Access rules applied inside rq-dashboard's Flask app, after Flask has routed the request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, Response, g, jsonify, request

from service.auth import ApiKey, find_key, presented_key
from service.dashboard.access import Access, RouteAccess, action_refusal, origin_of
from service.errors import RETRY_AFTER
from workers.core.replication import ReplicasNotConfirmed
from workers.observability import audit

if TYPE_CHECKING:
    from service.dashboard.mount import DashboardConfig


def enforce_access(app: Flask, config: DashboardConfig) -> None:
    """Refuse unclassified routes and unauthorised actions; audit the actions that went through, and
    answer them only once the replicas have them (REDIS_MIN_REPLICAS_ACK), as the API's writes are."""
    keys, get_redis, max_entries = config.keys, config.get_redis, config.audit_max_entries
    routes = RouteAccess.of(app.url_map)

    @app.before_request
    def check_access() -> Response | None:
        if request.url_rule is None:  # routing failed: Flask answers 404, 405 or a redirect, and runs no view
            return None
        key = find_key(keys, presented_key({k.lower(): v for k, v in request.headers.items()}, allow_basic=True))
        access = routes.of_endpoint(request.url_rule.endpoint)
        if key is None or access is Access.REFUSED:
            return _refused(f"dashboard route {request.url_rule.rule!r} is not open to this key")
        if access is Access.ACTION:
            refusal = action_refusal(key, request.headers.get("host", ""), origin_of(request.headers))
            if refusal is not None:
                return _refused(refusal)
            g.action_key = key
        return None

    @app.after_request
    def audit_action(response: Response) -> Response:
        key: ApiKey | None = g.get("action_key")
        if key is not None and response.status_code < 400:
            path = request.script_root + request.path  # the path Flask routed, not the one asked for
            entry = audit.new_entry(key.name, f"dashboard.{request.method} {path}", path)
            audit.record(get_redis(), entry, max_entries)
            try:
                config.confirm_writes()
            except ReplicasNotConfirmed as error:
                return _unconfirmed(str(error))
        return response


def _refused(detail: str) -> Response:
    response = jsonify(detail=detail)
    response.status_code = 403
    return response


def _unconfirmed(detail: str) -> Response:
    response = jsonify(detail=detail)
    response.status_code = 503
    response.headers["Retry-After"] = RETRY_AFTER
    return response
