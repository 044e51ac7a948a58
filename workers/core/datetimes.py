"""Times every part of the system can represent: aware, and inside a range every zone can show.

`9999-12-31T23:59:59-14:00` is a valid ISO time whose UTC form overflows; a due time past
year 9999 cannot be shown at all. Refusing such times where they come in stops them
failing later, half-way through a write, or on every read of what was accepted.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

# Every time we keep must be shown as a datetime in UTC and in any zone (offsets reach
# about +-16 h in old LMT rules): a day inside years 1..9999 leaves room for all of them.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC).timestamp()
LATEST = datetime(9999, 12, 30, tzinfo=UTC).timestamp()
RANGE = "between 0001-01-02 and 9999-12-30 (UTC)"


def check_timestamp(timestamp: float) -> float:
    """The timestamp when a datetime can show it in every zone; ValueError (NaN too) otherwise."""
    if not EARLIEST <= timestamp <= LATEST:
        raise ValueError(f"time out of range: it must lie {RANGE}")
    return timestamp


def check_representable(value: datetime, where: str) -> datetime:
    """`value` in UTC; ValueError naming `where` when it has no zone or falls outside the range."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{where} must carry a timezone")
    try:
        check_timestamp(value.timestamp())
    except (ValueError, OverflowError):
        raise ValueError(f"{where} {value.isoformat()} is out of range: it must lie {RANGE}") from None
    return value.astimezone(UTC)


def as_datetime(timestamp: float | None, zone: tzinfo = UTC) -> datetime | None:
    """The time in `zone`; None when there is none, or it cannot be shown (one stored by an older version)."""
    if timestamp is None:
        return None
    try:
        return datetime.fromtimestamp(check_timestamp(timestamp), zone)
    except (ValueError, ArithmeticError, TypeError):
        return None


def _representable(value: datetime) -> datetime:
    check_representable(value, "the time")
    return value


RepresentableDatetime = Annotated[AwareDatetime, AfterValidator(_representable)]
"""An aware datetime every zone can show: for any input time the service keeps (schedules, job `at`)."""
