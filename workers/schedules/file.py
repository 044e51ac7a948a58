"""SCHEDULES_FILE: schedules declared in YAML or TOML, applied at start with the PUT upsert."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

import yaml
from redis import Redis

from workers.core.errors import JobServiceError
from workers.observability import audit
from workers.schedules.spec import ScheduleSpec

log = logging.getLogger(__name__)


def read_schedules_file(path: Path) -> list[ScheduleSpec]:
    """Parse and validate every entry; one bad entry fails the whole file, naming it."""
    text = path.read_text()
    data: Any = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    entries = data.get("schedules", []) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of schedules (or a 'schedules' key holding one)")
    specs = []
    for index, entry in enumerate(entries):
        try:
            specs.append(ScheduleSpec.from_mapping(dict(entry)))
        except (JobServiceError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: schedule #{index + 1}: {error}") from None
    return specs


def apply_schedules_file(connection: Redis, path: Path, now: float, audit_max_entries: int) -> None:
    """Upsert each declared schedule by name: applying the same file twice changes nothing.

    A change is audited like a `PUT`, under the key name `schedules-file:<file name>`;
    processes starting together race on the watched upsert, so one of them records it.
    """
    key_name = f"schedules-file:{path.name}"

    def record(action: str, target: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        audit.record(connection, audit.new_entry(key_name, action, target, before, after), audit_max_entries)

    for spec in read_schedules_file(path):
        result = audit.audited_upsert(connection, spec, now, record)
        state = "created" if result.created else "updated" if result.changed else "unchanged"
        log.info("schedule %s from %s: %s", spec.name, path.name, state, extra={"schedule": spec.name})
