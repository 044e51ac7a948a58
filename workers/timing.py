"""Due-time maths for schedules, as pure functions of `now` (no clock inside).

Times are float seconds since the epoch (UTC). Interval runs are due at
`start_at + n * interval`, so they never drift. Cron expressions are evaluated
on the wall clock of the schedule's IANA timezone: a wall time that occurs
twice (clocks going back) fires once, at its first occurrence; one that does
not exist (clocks going forward) fires at the first valid time after the gap.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import AfterValidator, AwareDatetime

MAX_CRON_STEPS = 100_000
# Every time we keep must be shown as a datetime in UTC and in any zone (offsets reach
# about +-16 h in old LMT rules): a day inside years 1..9999 leaves room for all of them.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC).timestamp()
LATEST = datetime(9999, 12, 30, tzinfo=UTC).timestamp()
RANGE = "between 0001-01-02 and 9999-12-30 (UTC)"


def check_representable(timestamp: float) -> float:
    """The timestamp when a datetime can show it in every zone; ValueError (NaN too) otherwise."""
    if not EARLIEST <= timestamp <= LATEST:
        raise ValueError(f"time out of range: it must lie {RANGE}")
    return timestamp


def as_datetime(timestamp: float | None, zone: tzinfo = UTC) -> datetime | None:
    """The time in `zone`; None when there is none, or it cannot be shown (one stored by an older version)."""
    if timestamp is None:
        return None
    try:
        return datetime.fromtimestamp(check_representable(timestamp), zone)
    except (ValueError, ArithmeticError, TypeError):
        return None


def _representable(value: datetime) -> datetime:
    check_representable(value.timestamp())
    return value


RepresentableDatetime = Annotated[AwareDatetime, AfterValidator(_representable)]
"""An aware datetime every zone can show: for any input time the service keeps (schedules, job `at`)."""


def check_timezone(name: str) -> ZoneInfo:
    """The zone for an IANA name; ValueError for anything else."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown timezone {name!r}") from error


def check_cron(expression: str) -> str:
    """A five-field cron expression, or ValueError."""
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise ValueError(f"invalid cron expression {expression!r}: five fields expected, e.g. '0 3 * * *'")
    return expression


def next_interval_due(start_at: float, interval: float, after: float) -> float:
    """The first `start_at + n * interval` (n >= 0) strictly after `after`."""
    if after < start_at:
        return start_at
    n = math.floor((after - start_at) / interval) + 1
    due = start_at + n * interval
    return due if due > after else start_at + (n + 1) * interval


def last_interval_due(start_at: float, interval: float, now: float) -> float | None:
    """The latest `start_at + n * interval` at or before `now`, if any."""
    if now < start_at:
        return None
    return start_at + math.floor((now - start_at) / interval) * interval


@functools.lru_cache(maxsize=4096)
def next_cron_due(expression: str, zone: ZoneInfo, after: float) -> float:
    """The first cron time strictly after `after`, on `zone`'s wall clock.

    Cached: croniter takes about 100 us a call, and schedules sharing an expression
    and zone (thousands on "0 * * * *", say) fall due together and ask the same question.
    """
    wall = datetime.fromtimestamp(after, zone).replace(tzinfo=None)
    iterator = croniter(expression, wall)
    for _ in range(MAX_CRON_STEPS):
        candidate = iterator.get_next(datetime)
        due = _wall_to_instant(candidate, zone)
        if due > after:
            return due
    raise ValueError(f"cron expression {expression!r} has no time after {after}")


def _wall_to_instant(wall: datetime, zone: ZoneInfo) -> float:
    """The instant a wall time means: its first occurrence, or the end of a gap it falls in."""
    first = wall.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return first.timestamp()
    # The wall time does not exist: walk forward from before the gap to its end.
    instant = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    while instant.astimezone(zone).replace(tzinfo=None) < wall:
        instant += timedelta(minutes=1)
    return instant.replace(second=0, microsecond=0).timestamp()
