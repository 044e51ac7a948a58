"""What every `rqs` command group shares: input errors, JSON arguments, files, and the job filters."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

FILTERS = ("queue", "status", "task", "schedule", "submitted_by", "since", "until")


class UsageError(Exception):
    """Input to the command (not to the server) that cannot be used: exit status 2."""


def json_arg(text: str, kind: type, what: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise UsageError(f"{what} is not JSON: {error}") from error
    if not isinstance(value, kind):
        raise UsageError(f"{what} must be a JSON {kind.__name__}")
    return value


def read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from error


def add_filters(command: argparse.ArgumentParser) -> None:
    """GET /jobs's filters as options (the bulk actions take the same)."""
    group = command.add_argument_group("filters (as GET /jobs)")
    group.add_argument("--queue")
    group.add_argument("--status", help="queued, scheduled, deferred, started, finished, failed, canceled, stopped")
    group.add_argument("--task", help="the task's name")
    group.add_argument("--schedule", help="jobs this schedule fired")
    group.add_argument("--submitted-by", dest="submitted_by", metavar="KEY_NAME", help="the submitting key's name")
    group.add_argument("--since", metavar="ISO_TIME", help="enqueued at or after, e.g. 2026-12-01T00:00:00Z")
    group.add_argument("--until", metavar="ISO_TIME", help="enqueued at or before")


def filters_of(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in FILTERS if getattr(args, name, None) is not None}
