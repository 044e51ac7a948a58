"""The schedules pages at /dashboard/schedules, server-rendered beside rq-dashboard.

rq-dashboard knows nothing of our schedules, so this small ASGI app lists them, shows
one with its next due times and run ledger, and offers pause, resume and trigger as
plain POST forms. There is no script at all: the dashboard's CSP allows no inline
script, and a form works without JavaScript. The app sits behind the same
`DashboardGuard` as rq-dashboard, so it takes the same key (basic auth in a browser),
refuses cross-site and non-admin actions, and sends the same security headers.
Every read and write goes through `workers.schedules.store` and `workers.schedules.firing`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from redis import Redis
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Match, Mount, Route, Router
from starlette.types import Scope

from service.audit import Auditor
from service.auth import ApiKey
from service.auth import Scope as KeyScope
from service.dashboard.guard import DashboardGuard
from service.schedule_actions import set_paused, trigger_now
from workers.core import datetimes
from workers.core.errors import ScheduleNotFoundError, ScheduleUnreadableError
from workers.core.settings import Settings
from workers.jobs.view import describe
from workers.rq_seam.job import SERIALIZER, TaskJob
from workers.schedules import store as schedule_store
from workers.schedules import timing as timing_maths
from workers.schedules.spec import ScheduleSpec

PATH = "/dashboard/schedules"
RUNS_SHOWN = 50
UPCOMING_SHOWN = 5
ACTIONS = {"pause": "Paused", "resume": "Resumed", "trigger": "Triggered"}
STATUS_STYLES = {
    "finished": "success",
    "failed": "danger",
    "stopped": "danger",
    "started": "primary",
    "queued": "info",
    "scheduled": "info",
    "deferred": "info",
    "missed": "warning",
    "skipped": "secondary",
    "error": "danger",  # the run could not be fired (task gone, queue refused)
}


def when(timestamp: float | None, zone: str = "UTC") -> str:
    """A due or run time as a person reads it, in `zone` (UTC unless the schedule's own)."""
    moment = _as_datetime(timestamp, zone)
    if moment is None:
        return "—"
    suffix = "UTC" if zone == "UTC" else f"{moment.strftime('%z')} {zone}"
    return f"{moment.strftime('%Y-%m-%d %H:%M:%S')} {suffix}"


def _as_datetime(timestamp: float | None, zone: str = "UTC") -> datetime | None:
    """None for no time, and for one stored by an older version that no datetime can show."""
    try:
        return datetimes.as_datetime(timestamp, timing_maths.check_timezone(zone))
    except ValueError:
        return None


def relative(timestamp: float | None, now: float) -> str:
    """'in 4 min' or '2 h ago': the distance a glance at the list needs."""
    if _as_datetime(timestamp) is None:
        return ""
    seconds = abs(timestamp - now)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            amount = f"{int(seconds // size)} {unit}"
            break
    else:
        amount = f"{int(seconds)} s"
    return f"in {amount}" if timestamp >= now else f"{amount} ago"


def timing(spec: ScheduleSpec) -> str:
    """The schedule's one timing field, in words."""
    if spec.cron is not None:
        return f"cron {spec.cron} ({spec.timezone})"
    if spec.interval is not None:
        return f"every {spec.interval:g} s"
    return f"once at {when(spec.at)}"


def call(spec: ScheduleSpec) -> str:
    """The arguments a run passes, as JSON; shown as text, never as markup."""
    parts = [json.dumps(spec.args)[1:-1]] if spec.args else []
    parts += [f"{key}={json.dumps(value)}" for key, value in spec.kwargs.items()]
    return f"({', '.join(parts)})"


def progress_of(connection: Redis, job_ids: list[str | None]) -> list[tuple[float, str | None] | None]:
    """Each run's job's progress and message (None: no job, or it reported none), read in one round trip."""
    wanted = [job_id for job_id in job_ids if job_id]
    jobs = TaskJob.fetch_many(wanted, connection=connection, serializer=SERIALIZER) if wanted else []
    found = {job.id: describe(job) for job in jobs if job is not None}
    shown: list[tuple[float, str | None] | None] = []
    for job_id in job_ids:
        view = found.get(job_id or "")
        shown.append((view.progress, view.progress_message) if view and view.progress is not None else None)
    return shown


def build_templates() -> Environment:
    """Jinja with autoescape on for every template, so any schedule value stays text."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
    )
    env.filters.update(when=when, timing=timing, call=call)
    env.globals.update(relative=relative, status_style=lambda status: STATUS_STYLES.get(status or "", "light"))
    return env


class SchedulesView:
    """The pages and actions; the Redis client is fetched per request (it opens in the app's lifespan)."""

    def __init__(self, get_redis: Callable[[], Redis], settings: Settings) -> None:
        self.get_redis = get_redis
        self.settings = settings
        self.templates = build_templates()

    def routes(self) -> list[Route]:
        return [
            Route("/", self.list_page, methods=["GET"]),
            Route("/{name}", self.detail_page, methods=["GET"]),
            Route("/{name}/{action}", self.act, methods=["POST"]),
        ]

    def list_page(self, request: Request) -> Response:
        """Every schedule with its timing, next and last run, counts and state."""
        return self.render(request, "schedules/list.html", schedules=schedule_store.list_all(self.get_redis()))

    def detail_page(self, request: Request) -> Response:
        """One schedule: its fields, its next due times (UTC and local) and its recent runs."""
        name = request.path_params["name"]
        now = time.time()
        try:
            info = schedule_store.get(self.get_redis(), name)
            runs = schedule_store.runs(self.get_redis(), name, RUNS_SHOWN)
        except ScheduleNotFoundError as error:
            return self.not_found(request, name, error)
        upcoming = info.spec.shown_upcoming(now, UPCOMING_SHOWN, info.runs_total)
        for run, shown in zip(runs, progress_of(self.get_redis(), [run.get("job_id") for run in runs]), strict=True):
            run["progress"] = shown
        return self.render(request, "schedules/detail.html", info=info, upcoming=upcoming, runs=runs, now=now)

    def act(self, request: Request) -> Response:
        """Pause, resume or trigger, then back (303) to the page the form was on."""
        name, action = request.path_params["name"], request.path_params["action"]
        if action not in ACTIONS:
            return self.render(request, "schedules/error.html", status_code=404, message=f"No action {action!r}.")
        try:
            job_id = self.apply(request, name, action)
        except ScheduleNotFoundError as error:
            return self.not_found(request, name, error)
        back = f"{request.scope['root_path']}/" if request.query_params.get("back") == "list" else page(request, name)
        notice = {"done": action, "name": name, **({"job": job_id} if job_id else {})}
        return RedirectResponse(f"{back}?{urlencode(notice)}", status_code=303)

    def apply(self, request: Request, name: str, action: str) -> str | None:
        """Do `action` as the API does, audit entry included; the id of the job a trigger fired."""
        redis, now = self.get_redis(), time.time()
        audit = Auditor(redis, request)  # the guard put the key on the request, as the API's auth does
        if action == "trigger":
            return trigger_now(redis, self.settings, audit, name, now)
        set_paused(redis, audit, name, action == "pause", now)
        return None

    def not_found(self, request: Request, name: str, error: ScheduleNotFoundError) -> Response:
        """404, saying why when the schedule exists but this version cannot read it."""
        unreadable = isinstance(error, ScheduleUnreadableError)
        message = f"{error}." if unreadable else f"No schedule named {name!r}."
        return self.render(request, "schedules/error.html", status_code=404, message=message)

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
        """A page with the links and the notice every page shows."""
        base = request.scope["root_path"]
        html = self.templates.get_template(template).render(
            base=base,
            dashboard=base.rsplit("/", 1)[0],  # rq-dashboard is mounted one level up
            can_act=_can_act(request),
            notice=_notice(request),
            now=context.pop("now", time.time()),
            **context,
        )
        return HTMLResponse(html, status_code=status_code)


def page(request: Request, name: str) -> str:
    return f"{request.scope['root_path']}/{name}"


def _can_act(request: Request) -> bool:
    """Whether to offer the buttons: the guard refuses actions to keys below admin anyway."""
    key: ApiKey | None = request.scope.get("state", {}).get("key")
    return key is not None and key.scope >= KeyScope.admin


def _notice(request: Request) -> dict[str, str] | None:
    """What the last action did, from the redirect's query (only known actions are shown)."""
    done = request.query_params.get("done", "")
    if done not in ACTIONS:
        return None
    return {
        "verb": ACTIONS[done],
        "name": request.query_params.get("name", ""),
        "job": request.query_params.get("job", ""),
    }


class IndexMount(Mount):
    """A Mount that also serves its bare path (`/dashboard/schedules`, no slash) as its index page.

    A plain Mount only matches `/dashboard/schedules/...`, so the bare path would fall
    through to the `/dashboard` mount and reach rq-dashboard's 404.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if scope["type"] != "http" or path[len(scope.get("root_path", "")) :] != self.path:
            return super().matches(scope)
        match, child = super().matches({**scope, "path": path + "/"})
        return match, {**child, "path": path + "/"}


def schedules_view(get_redis: Callable[[], Redis], settings: Settings, keys: list[ApiKey]) -> Mount:
    """The view as one route; it must come before the `/dashboard` mount, which would take its paths."""
    view = SchedulesView(get_redis, settings)
    return IndexMount(PATH, app=DashboardGuard(Router(view.routes()), keys, method_actions=True), name="schedules_view")
