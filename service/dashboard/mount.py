"""rq-dashboard served by the web process at /dashboard, behind the API keys.

The Flask app reads with the JSON serializer and our own Redis client (not one it
builds from a URL per request). Inside it, after Flask's own routing, the access
rules and URL checks run; every JSON answer leaves escaped. Around it, the ASGI
guard checks the key and sets a Content-Security-Policy that keeps job data inert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from a2wsgi import WSGIMiddleware
from flask import Flask, current_app
from redis import Redis
from starlette.types import ASGIApp

from service.auth import ApiKey
from service.dashboard.checks import answer_errors, check_url_values
from service.dashboard.enforce import enforce_access
from service.dashboard.escape import escape_json_answers
from service.dashboard.guard import DashboardGuard
from workers.core.redact import mask_url
from workers.rq_seam import dashboard as rq_dashboard

# Looked up before rq-dashboard's own templates: `rq_dashboard/navbar.html` there links to the schedules view.
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class DashboardConfig:
    """What the dashboard needs from the web process."""

    get_redis: Callable[[], Redis]
    shown_url: str  # the instance selector shows it, credentials masked here
    queues: list[str]
    keys: list[ApiKey]
    audit_max_entries: int
    # Returns once REDIS_MIN_REPLICAS_ACK replicas have every write so far; raises ReplicasNotConfirmed if not.
    confirm_writes: Callable[[], None] = lambda: None


def build_flask_app(config: DashboardConfig) -> Flask:
    """rq-dashboard's blueprint on a Flask app that uses our client, JSON and our rules."""
    # The app's /static route shadows the blueprint's, so it must serve rq-dashboard's files
    # (jQuery, CSS, favicon); by default it points at a missing folder and every page lacks them.
    app = Flask("rq_service_dashboard", static_folder=rq_dashboard.STATIC_FOLDER, template_folder=TEMPLATES)
    app.config.from_object(rq_dashboard.DEFAULT_SETTINGS)
    app.config["RQ_DASHBOARD_REDIS_URL"] = (mask_url(config.shown_url),)
    app.config[rq_dashboard.CONFIGURED_QUEUES] = list(config.queues)
    rq_dashboard.use_json()
    rq_dashboard.list_configured_queues()
    app.register_blueprint(rq_dashboard.blueprint())

    def use_our_client() -> None:
        current_app.redis_conn = config.get_redis()  # type: ignore[attr-defined]

    # Replace rq-dashboard's per-request client built from the URL (no TLS options, no timeouts).
    app.before_request_funcs[rq_dashboard.blueprint().name] = [use_our_client]
    enforce_access(app, config)  # first: before any other hook
    check_url_values(app, config.get_redis, config.queues)
    escape_json_answers(app)
    answer_errors(app)
    return app


def dashboard_app(config: DashboardConfig) -> ASGIApp:
    """The dashboard as one ASGI app, ready to mount at /dashboard."""
    return DashboardGuard(WSGIMiddleware(build_flask_app(config)), config.keys)  # type: ignore[arg-type]
