"""The ASGI guard in front of every dashboard app: the key, and security headers on every answer."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.audit import AnswerStatus, record_dashboard_action
from service.auth import ApiKey, find_key, presented_key
from service.dashboard.access import SAFE_METHODS, action_refusal, origin_of
from service.dashboard.headers import SecuredAnswer


class DashboardGuard:
    """Key check (basic auth's password, so a browser can log in) and security headers.

    `method_actions=True` is for an app whose every route is ours and listed (the
    schedules view): there, any method but GET/HEAD/OPTIONS is an action, checked
    here and audited. rq-dashboard's Flask app instead decides after its own routing
    (`service.dashboard.access`), since the path alone does not say which view runs.
    """

    def __init__(self, app: ASGIApp, keys: list[ApiKey], method_actions: bool = False) -> None:
        self.app = app
        self.keys = keys
        self.method_actions = method_actions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = find_key(self.keys, presented_key(dict(headers), allow_basic=True))
        if key is None:
            await _unauthorized()(scope, receive, send)
            return
        scope.setdefault("state", {})["key"] = key  # for the mutation log, as the API's auth does
        action = self.method_actions and scope["method"] not in SAFE_METHODS
        refusal = action_refusal(key, headers.get("host", ""), origin_of(headers)) if action else None
        if refusal is not None:
            await JSONResponse({"detail": refusal}, status_code=403)(scope, receive, send)
            return
        answer = AnswerStatus(SecuredAnswer(send).send)
        await self.app(scope, receive, answer.send)
        if action:
            await record_dashboard_action(scope, key, answer.status)  # the audit trail, once it went through


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"detail": "missing or invalid API key"},
        status_code=401,
        headers={"WWW-Authenticate": 'Basic realm="rq-service dashboard"'},
    )
