"""SCHEDULES_FILE: schedules declared in YAML or TOML, applied at start with the PUT upsert.

Each entry goes through the API's own model (`ScheduleCreate`), so a file cannot declare
what the API would refuse, and every entry is checked before the first is written.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from redis import Redis

from workers.callbacks.hosts import AllowedHost, check_url
from workers.core.errors import JobServiceError
from workers.observability import audit
from workers.schedules.model import ScheduleCreate
from workers.schedules.spec import ScheduleSpec
from workers.schedules.store import Upsert

log = logging.getLogger(__name__)


def read_schedules_file(
    path: Path, now: float, callback_hosts: Collection[AllowedHost] = frozenset()
) -> list[ScheduleSpec]:
    """Parse and validate every entry; one bad entry fails the whole file, naming it and its field.

    A `callback_url` must name one of `callback_hosts` (CALLBACK_HOSTS), as in the API.
    """
    text = path.read_text()
    data: Any = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    entries = data.get("schedules", []) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of schedules (or a 'schedules' key holding one)")
    return [_entry(path, index, entry, now, callback_hosts) for index, entry in enumerate(entries)]


def _entry(path: Path, index: int, entry: object, now: float, callback_hosts: Collection[AllowedHost]) -> ScheduleSpec:
    name = entry.get("name") if isinstance(entry, dict) else None
    where = f"{path}: schedule #{index + 1}" + (f" ({name!r})" if name is not None else "")
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected a mapping of schedule fields, got {type(entry).__name__}")
    try:
        spec = ScheduleCreate.model_validate(entry).to_spec().check_due_times(now)
        if spec.callback_url is not None:
            check_url(spec.callback_url, callback_hosts)
        return spec
    except ValidationError as error:
        raise ValueError(f"{where}: {_fields(error)}") from None
    except JobServiceError as error:
        raise ValueError(f"{where}: {error}") from None


def _fields(error: ValidationError) -> str:
    """Each problem as `field: message`, the way the API's 422 locates it."""
    return "; ".join(f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors())


def apply_schedules_file(
    connection: Redis,
    path: Path,
    now: float,
    audit_max_entries: int,
    callback_hosts: Collection[AllowedHost] = frozenset(),
) -> None:
    """Upsert each declared schedule by name: applying the same file twice changes nothing.

    A change is audited like a `PUT`, under the key name `schedules-file:<file name>`;
    processes starting together race on the watched upsert, so one of them records it.
    """
    specs = read_schedules_file(path, now, callback_hosts)  # all of them, before the first write
    key_name = f"schedules-file:{path.name}"

    def record(action: str, target: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        audit.record(connection, audit.new_entry(key_name, action, target, before, after), audit_max_entries)

    for spec in specs:
        result = audit.audited_upsert(connection, spec, now, record)
        log.info("schedule %s from %s: %s", spec.name, path.name, _change(result), extra={"schedule": spec.name})


def _change(result: Upsert) -> str:
    if result.created:
        return "created"
    return "updated" if result.changed else "unchanged"
