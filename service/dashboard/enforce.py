"""Access rules applied inside rq-dashboard's Flask app, after Flask has routed the request."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, g, jsonify, request
from redis import Redis

from service.auth import ApiKey, find_key, presented_key
from service.dashboard.access import Access, RouteAccess, action_refusal, origin_of
from workers.observability import audit


def enforce_access(app: Flask, keys: list[ApiKey], get_redis: Callable[[], Redis], max_entries: int) -> None:
    """Refuse unclassified routes and unauthorised actions; audit the actions that went through."""
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
        return response


def _refused(detail: str) -> Response:
    response = jsonify(detail=detail)
    response.status_code = 403
    return response
