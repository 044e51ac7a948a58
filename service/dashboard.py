"""rq-dashboard served by the web process at /dashboard, behind the API keys.

The Flask app reads with the JSON serializer and our own Redis client (not one
it builds from a URL per request), and is wrapped by an ASGI guard that checks
the key (basic auth's password, so a browser can log in), refuses cross-site
state changes and sets a Content-Security-Policy that keeps job data inert.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import rq_dashboard
import rq_dashboard.web
from a2wsgi import WSGIMiddleware
from flask import Flask, current_app
from redis import Redis
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.auth import ApiKey, find_key, presented_key
from service.auth import Scope as KeyScope
from service.dashboard_headers import SecuredAnswer
from service.routes.audit import AnswerStatus, record_dashboard_action
from workers.serialization import SERIALIZER

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def build_flask_app(get_redis: Callable[[], Redis], redis_url: str) -> Flask:
    """rq-dashboard's blueprint on a Flask app that uses our client and JSON."""
    # The app's /static route shadows the blueprint's, so it must serve rq-dashboard's files
    # (jQuery, CSS, favicon); by default it points at a missing folder and every page lacks them.
    app = Flask("rq_service_dashboard", static_folder=str(Path(rq_dashboard.__file__).parent / "static"))
    app.config.from_object(rq_dashboard.default_settings)
    app.config["RQ_DASHBOARD_REDIS_URL"] = (redis_url,)
    rq_dashboard.web.config.serializer = SERIALIZER
    app.register_blueprint(rq_dashboard.blueprint)

    def use_our_client() -> None:
        current_app.redis_conn = get_redis()  # type: ignore[attr-defined]

    # Replace rq-dashboard's per-request client built from the URL (no TLS options, no timeouts).
    app.before_request_funcs[rq_dashboard.blueprint.name] = [use_our_client]
    return app


class DashboardGuard:
    """ASGI wrapper: key check, same-origin writes, and security headers on every answer."""

    def __init__(self, app: ASGIApp, keys: list[ApiKey]) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = find_key(self.keys, presented_key(dict(headers), allow_basic=True))
        if key is None:
            response = JSONResponse(
                {"detail": "missing or invalid API key"},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="rq-service dashboard"'},
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["key"] = key  # for the mutation log, as the API's auth does
        action = is_action(scope["method"], scope["path"][len(scope.get("root_path", "")) :])
        if action:
            refusal = _refuse_write(key, headers)
            if refusal is not None:
                await JSONResponse({"detail": refusal}, status_code=403)(scope, receive, send)
                return
        answer = AnswerStatus(SecuredAnswer(send).send)
        await self.app(scope, receive, answer.send)
        if action:
            await record_dashboard_action(scope, key, answer.status)  # the audit trail, once it went through


def is_action(method: str, path: str) -> bool:
    """A request that changes state; rq-dashboard's `/requeue/<queue>` does so even on GET."""
    return method not in SAFE_METHODS or path.startswith("/requeue/")


def _refuse_write(key: ApiKey, headers: Headers) -> str | None:
    """Why a state-changing request is refused, or None to let it through."""
    if key.scope < KeyScope.admin:
        return f"key {key.name!r} has scope {key.scope.name!r}; dashboard actions need 'admin'"
    host = headers.get("host", "")
    origin = headers.get("origin") or headers.get("referer") or ""
    if not host or origin.split("://", 1)[-1].split("/", 1)[0] != host:
        return "cross-site request refused: dashboard actions must come from the dashboard's own pages"
    return None


def dashboard_app(get_redis: Callable[[], Redis], redis_url: str, keys: list[ApiKey]) -> ASGIApp:
    """The dashboard as one ASGI app, ready to mount at /dashboard."""
    return DashboardGuard(WSGIMiddleware(build_flask_app(get_redis, redis_url)), keys)  # type: ignore[arg-type]
