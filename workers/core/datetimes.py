"""Datetimes every part of the system can represent: aware, and inside Python's range once in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def check_representable(value: datetime, where: str) -> datetime:
    """`value` in UTC; ValueError naming `where` when it has no zone or falls outside year 1-9999 in UTC.

    `9999-12-31T23:59:59-14:00` is a valid ISO time whose UTC form overflows: refusing it
    here stops it failing later, half-way through a write.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{where} must carry a timezone")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{where} {value.isoformat()} is outside year 1-9999 once in UTC") from None
