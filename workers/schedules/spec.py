"""Schedules: the definition users send, its validation and its next due times."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from workers.callbacks.hosts import check_url, parse_url
from workers.core import datetimes
from workers.core.errors import InvalidJobError
from workers.core.json_values import check_json_value
from workers.core.keys import check_queue_name
from workers.core.settings import Settings
from workers.schedules import timing
from workers.tasks.arguments import check_arguments
from workers.tasks.registry import RetryPolicy, registry

NAME_PATTERN = r"^[A-Za-z0-9_-]{1,100}$"
DEFAULT_GRACE = 60.0
UPCOMING = 5  # due times a read shows, and so the ones a schedule must be able to compute


@dataclass
class ScheduleSpec:
    """What a user declares; `start_at` is filled in (now) when the user leaves it out."""

    name: str
    task: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    cron: str | None = None
    timezone: str = "UTC"
    interval: float | None = None
    at: float | None = None
    start_at: float | None = None
    queue: str | None = None
    timeout: int | None = None
    retry: dict[str, Any] | None = None
    result_ttl: int | None = None  # seconds each run's result is kept (None: RESULT_TTL); -1: for ever
    misfire_grace_time: float = DEFAULT_GRACE
    overlap: Literal["allow", "skip"] = "allow"
    repeat: int | None = None
    paused: bool = False
    callback_url: str | None = None  # each run's job carries it (workers/callbacks/)

    def validate(self) -> ScheduleSpec:
        """Raise InvalidJobError (422) or TaskNotFoundError for what can never fire."""
        if not re.match(NAME_PATTERN, self.name):
            raise InvalidJobError(f"invalid schedule name {self.name!r}: use 1-100 of A-Z a-z 0-9 _ -")
        task = registry.get(self.task)
        timings = [k for k in ("cron", "interval", "at") if getattr(self, k) is not None]
        if len(timings) != 1:
            raise InvalidJobError("give exactly one of cron, interval, at")
        try:
            timing.check_timezone(self.timezone)
            if self.cron is not None:
                timing.check_cron(self.cron)
        except ValueError as error:
            raise InvalidJobError(str(error)) from None
        if self.interval is not None and self.interval < 1:
            raise InvalidJobError("interval must be at least 1 second")
        if self.result_ttl is not None and self.result_ttl < -1:
            raise InvalidJobError("result_ttl must be -1 (for ever), 0 (not kept) or a number of seconds")
        try:
            check_json_value(self.args, "args")
            check_json_value(self.kwargs, "kwargs")
            if self.queue is not None:
                check_queue_name(self.queue)
        except ValueError as error:
            raise InvalidJobError(str(error)) from None
        check_arguments(task, self.args, self.kwargs)
        if self.callback_url is not None:
            parse_url(self.callback_url)  # its host is checked against the settings where they are at hand
        return self

    def check_due_times(self, now: float) -> ScheduleSpec:
        """Refuse (InvalidJobError naming the field) a schedule whose next due times cannot be computed
        or shown, so no read of it can ever fail; `start_at` defaults to `now`, as when it is stored."""
        for name in ("at", "start_at"):
            _check_time(name, getattr(self, name))
        spec = self if self.start_at is not None else replace(self, start_at=now)
        try:
            for due in spec.upcoming(now, UPCOMING):
                datetimes.check_timestamp(due)
        except (ValueError, ArithmeticError) as error:
            raise InvalidJobError(f"{spec._timing_words()} {error}") from None
        return self

    def _timing_words(self) -> str:
        if self.cron is not None:
            return f"cron: {self.cron!r} in {self.timezone} has no next due time:"
        if self.interval is not None:
            return f"interval: runs every {self.interval:g} s from start_at {iso(self.start_at)} leave the range:"
        return "at:"

    def shown_upcoming(self, now: float, count: int, runs_total: int) -> list[float]:
        """The due times a read shows: none when paused, or when they cannot be computed or shown
        (a definition stored by an older version), so one schedule never fails a whole list."""
        if self.paused:
            return []
        try:
            timing.check_timezone(self.timezone)
            return [datetimes.check_timestamp(due) for due in self.upcoming(now, count, runs_total)]
        except Exception:  # noqa: BLE001 - whatever is wrong with it, it is shown without due times
            return []

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ScheduleSpec:
        """Build from a plain mapping (an API body or a SCHEDULES_FILE entry), times as ISO or datetime."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidJobError(f"unknown schedule fields: {', '.join(sorted(unknown))}")
        values = {k: v for k, v in data.items() if v is not None or k == "repeat"}
        for name in ("at", "start_at"):
            if name in values:
                values[name] = _timestamp(values[name])
        if isinstance(values.get("retry"), int):
            values["retry"] = {"max": values["retry"]}
        try:
            return cls(**values).validate()
        except TypeError as error:
            raise InvalidJobError(str(error)) from None

    def retry_policy(self) -> RetryPolicy | None:
        return RetryPolicy.parse(self.retry)

    def to_json(self) -> str:
        data = asdict(self)
        if data["callback_url"] is None:
            del data["callback_url"]  # a definition stored before callbacks existed reads as unchanged
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> ScheduleSpec:
        return cls(**json.loads(raw))

    def next_due(self, after: float) -> float | None:
        """The first due time strictly after `after`, or None when there is none."""
        if self.at is not None:
            return self.at if self.at > after else None
        if self.interval is not None:
            return timing.next_interval_due(self._start(), self.interval, after)
        assert self.cron is not None
        return timing.next_cron_due(self.cron, timing.check_timezone(self.timezone), after)

    def _start(self) -> float:
        assert self.start_at is not None, "start_at is set when a schedule is stored"
        return self.start_at

    def upcoming(self, now: float, count: int = 5, runs_total: int = 0) -> list[float]:
        """The next `count` due times after `now` (fewer when `repeat` or `at` ends them)."""
        times: list[float] = []
        cursor = now
        left = None if self.repeat is None else max(0, self.repeat - runs_total)
        while len(times) < count and (left is None or len(times) < left):
            due = self.next_due(cursor)
            if due is None:
                break
            times.append(due)
            cursor = due
        return times


@dataclass
class CatchUp:
    """What one step finds for a schedule due at or before now."""

    missed_total: int  # due times that will not fire
    missed: list[float]  # the newest of them, for the run ledger
    fire: float | None  # the one due time to fire: the latest still within grace


def plan_catch_up(spec: ScheduleSpec, due: float, now: float, keep: int = 50) -> CatchUp:
    """Runs from `due` up to `now`: the latest within grace fires, every other one is missed."""
    skipped_ahead = 0
    if spec.interval is not None and spec.start_at is not None:
        latest = timing.last_interval_due(spec.start_at, spec.interval, now) or due
        jump = max(0, int(round((latest - due) / spec.interval)) - keep)
        skipped_ahead, due = jump, due + jump * spec.interval
    runs = [due]
    total = 1 + skipped_ahead
    while (following := spec.next_due(runs[-1])) is not None and following <= now:
        runs.append(following)
        total += 1
        if len(runs) > keep + 1:
            runs.pop(0)
    fire = runs[-1] if now - runs[-1] <= spec.misfire_grace_time else None
    missed = runs[:-1] if fire is not None else runs
    return CatchUp(missed_total=total - (1 if fire is not None else 0), missed=missed, fire=fire)


def check_callback(spec: ScheduleSpec, settings: Settings) -> ScheduleSpec:
    """`spec`, if its callback_url (if any) names a host CALLBACK_HOSTS lists; InvalidJobError otherwise."""
    if spec.callback_url is not None:
        check_url(spec.callback_url, settings.allowed_callback_hosts)
    return spec


def _check_time(name: str, timestamp: float | None) -> None:
    try:
        if timestamp is not None:
            datetimes.check_timestamp(timestamp)
    except ValueError as error:
        raise InvalidJobError(f"{name}: {error}") from None


def _timestamp(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidJobError("times need a timezone, e.g. 2026-12-01T00:00:00Z")
        return value.timestamp()
    raise InvalidJobError(f"not a time: {value!r}")


def iso(timestamp: float | None) -> str | None:
    """ISO 8601 in UTC; the bare number for a time no datetime can show (one an older version stored)."""
    if timestamp is None:
        return None
    moment = datetimes.as_datetime(timestamp)
    return moment.isoformat() if moment is not None else str(timestamp)
