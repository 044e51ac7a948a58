"""Who may do what on the dashboard, decided on the route Flask itself matched.

A guard that reads the raw path can be walked past: `//requeue/q`, `/./`, `%2F` and a
trailing slash all reach the same view, and rq-dashboard serves `/requeue/<queue>` on
GET too. So the decision is taken inside Flask, after its own routing, on the endpoint
it is about to call; and the classes come from the app's URL map: an endpoint with any
state-changing method is an action whatever method asks for it, an endpoint reviewed
as read-only is a read, and anything else (a route an upgrade adds) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol
from urllib.parse import urlsplit

from werkzeug.routing import Map

from service.auth import ApiKey
from service.auth import Scope as KeyScope

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# rq-dashboard 0.9.0's read-only endpoints, each read in its source: pages, data, static files.
READ_ENDPOINTS = frozenset(
    {
        "static",
        "rq_dashboard.static",
        "rq_dashboard.favicon",
        "rq_dashboard.queues_overview",
        "rq_dashboard.workers_overview",
        "rq_dashboard.jobs_overview",
        "rq_dashboard.job_view",
        "rq_dashboard.list_queues",
        "rq_dashboard.list_jobs",
        "rq_dashboard.job_info",
        "rq_dashboard.list_workers",
    }
)


class Access(Enum):
    READ = "read"
    ACTION = "action"
    REFUSED = "refused"


@dataclass(frozen=True)
class RouteAccess:
    """The class of every endpoint in one Flask URL map."""

    actions: frozenset[str]
    reads: frozenset[str]

    @classmethod
    def of(cls, url_map: Map) -> RouteAccess:
        methods: dict[str, set[str]] = {}
        for rule in url_map.iter_rules():
            methods.setdefault(rule.endpoint, set()).update(rule.methods or ())
        actions = frozenset(endpoint for endpoint, allowed in methods.items() if allowed - SAFE_METHODS)
        return cls(actions=actions, reads=frozenset(READ_ENDPOINTS - actions))

    def of_endpoint(self, endpoint: str) -> Access:
        if endpoint in self.actions:
            return Access.ACTION
        return Access.READ if endpoint in self.reads else Access.REFUSED


class HeaderLookup(Protocol):
    """Starlette's and Werkzeug's headers alike."""

    def get(self, key: str, default: str | None = None) -> str | None: ...


def origin_of(headers: HeaderLookup) -> str:
    """Where a request says it comes from: `Origin`, else `Referer`."""
    return headers.get("origin") or headers.get("referer") or ""


def action_refusal(key: ApiKey, host: str, origin: str) -> str | None:
    """Why a state-changing request is refused, or None: admin keys, from the dashboard's own pages.

    `origin` is the `Origin` header, else the `Referer`; `host` the `Host` header.
    """
    if key.scope < KeyScope.admin:
        return f"key {key.name!r} has scope {key.scope.name!r}; dashboard actions need 'admin'"
    if not same_origin(host, origin):
        return "cross-site request refused: dashboard actions must come from the dashboard's own pages"
    return None


def same_origin(host: str, origin: str) -> bool:
    """`origin` names exactly this host: no look-alike, no `null`, no host hidden in a path or user part."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return bool(host) and parts.scheme in {"http", "https"} and parts.netloc == host
