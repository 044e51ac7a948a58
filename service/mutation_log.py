"""One log line per API mutation: which key (by name, never the key) changed what, and how it went."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import Scope

log = logging.getLogger(__name__)
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
SUBMISSIONS = {"/jobs", "/jobs/batch"}  # accepted ones are recorded on the job (`submitted_by`), not logged at INFO
BODY_LIMIT = 1024 * 1024  # a batch of 1000 job answers fits; anything larger is not read for ids


def is_mutation(method: str) -> bool:
    return method in MUTATING


def log_mutation(scope: Scope, route: str, status: int, body: bytes | None) -> None:
    """Log a finished mutation; `body` is the answer, read for the ids of the jobs it created.

    An accepted submission is a DEBUG line: at thousands a second, a line each would cost
    more than the submission, and the job itself names who submitted it.
    """
    accepted_submission = scope["method"] == "POST" and route in SUBMISSIONS and status < 400
    level = logging.DEBUG if accepted_submission else logging.INFO
    if not log.isEnabledFor(level):
        return
    key = scope.get("state", {}).get("key")  # set by the auth dependency or the dashboard guard
    key_name = key.name if key is not None else None
    fields: dict[str, Any] = {
        "method": scope["method"],
        "route": route,
        "path": scope["path"],
        "status": status,
        "key_name": key_name,
        **_targets(scope.get("path_params", {}), body),
    }
    log.log(level, "%s %s -> %s (key %s)", scope["method"], scope["path"], status, key_name or "none", extra=fields)


def _targets(params: dict[str, Any], body: bytes | None) -> dict[str, Any]:
    """The job and schedule a mutation acted on: from the path, else the jobs its answer names."""
    targets: dict[str, Any] = {}
    if "name" in params:
        targets["schedule"] = params["name"]
    if "job_id" in params:
        targets["job_id"] = params["job_id"]
        return targets
    ids = answered_job_ids(body)
    if len(ids) == 1:
        targets["job_id"] = ids[0]
    elif ids:
        targets["job_ids"] = ids
    return targets


def answered_job_ids(body: bytes | None) -> list[str]:
    """Ids in a job answer (`{"id": ...}`) or a batch answer (`{"jobs": [{"id": ...}, ...]}`)."""
    try:
        answer = json.loads(body) if body else None
    except ValueError:
        return []
    if not isinstance(answer, dict):
        return []
    if isinstance(answer.get("id"), str):
        return [answer["id"]]
    jobs = answer.get("jobs")
    if isinstance(jobs, list):
        return [job["id"] for job in jobs if isinstance(job, dict) and isinstance(job.get("id"), str)]
    return []
