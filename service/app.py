"""The FastAPI application: `uvicorn --factory service.app:create_app`."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.api_docs import serve_api_docs
from service.auth import ApiKey, parse_keys
from service.dashboard import dashboard_app
from service.dashboard.mount import DashboardConfig
from service.dashboard.schedules_view import schedules_view
from service.errors import install_error_handlers
from service.limits import BodySizeLimit
from service.metrics import instrument
from service.routes import api_router
from service.settings import ServiceSettings, get_settings
from workers.core.banner import log_banner
from workers.core.connection import connect, connect_async
from workers.core.logs import configure_logging
from workers.core.redis_checks import check_redis
from workers.core.replication import confirm, confirm_or_warn
from workers.jobs.wait import WAIT_STEP, JobWaits
from workers.rq_seam.serializer import make_json_the_only_serializer, refuse_unpickling
from workers.schedules.file import apply_schedules_file
from workers.tasks.registry import load_task_modules

log = logging.getLogger(__name__)
WAIT_CONNECTIONS = 2  # every long-poll shares the watcher and the joiner, one connection each
ASYNC_CONNECTIONS = 64  # requests on the event loop at once with a Redis call in flight; more wait for one


def serving(settings: ServiceSettings, keys: list[ApiKey]) -> str:
    count = f"{len(keys)} API key" if len(keys) == 1 else f"{len(keys)} API keys"
    return f"the HTTP API, /docs and /dashboard for queues {', '.join(settings.queues)}, {count}"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """Build the app from `settings` (the environment when None)."""
    make_json_the_only_serializer()
    if settings is None:  # the web process itself (tests pass settings, and keep pickle for their own tools)
        refuse_unpickling()
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_format)
    load_task_modules(settings.task_modules)
    keys = parse_keys(settings.api_keys)
    if not keys:
        log.warning("API_KEYS is empty: every request but /healthz will be refused")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = connect(settings)
        log_banner("web", serving(settings, keys), settings)
        check_redis(app.state.redis)
        wait_timeout = settings.redis_timeout + WAIT_STEP + 1  # above the longest XREAD BLOCK step
        app.state.job_waits = JobWaits(connect_async(settings, wait_timeout, max_connections=WAIT_CONNECTIONS))
        app.state.async_redis = connect_async(settings, settings.redis_timeout, max_connections=ASYNC_CONNECTIONS)
        if settings.schedules_file is not None:
            apply_schedules_file(
                app.state.redis,
                settings.schedules_file,
                time.time(),
                settings.audit_max_entries,
                settings.allowed_callback_hosts,
            )
            confirm_or_warn(app.state.redis, settings, "SCHEDULES_FILE applied")
        yield
        app.state.redis.close()
        await app.state.job_waits.close()
        await app.state.async_redis.aclose()

    app = FastAPI(
        title="rq-service",
        description="Background jobs on Redis and RQ: submit, watch and manage jobs over HTTP.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from local assets: serve_api_docs
        redoc_url=None,
    )
    serve_api_docs(app)
    app.state.settings = settings
    app.state.keys = keys
    install_error_handlers(app)
    app.include_router(api_router)
    app.router.routes.append(schedules_view(lambda: app.state.redis, settings, keys))  # before /dashboard
    dashboard = DashboardConfig(
        get_redis=lambda: app.state.redis,
        shown_url=settings.redis_url,
        queues=settings.queues,
        keys=keys,
        audit_max_entries=settings.audit_max_entries,
        confirm_writes=lambda: confirm(app.state.redis, settings),
    )
    app.mount("/dashboard", dashboard_app(dashboard))
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    instrument(app, settings.queues)  # last: its middleware sees every answer, 413s included
    return app
