"""Due-time maths with `now` as an argument: no clock, no freezing."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

from workers.core.datetimes import EARLIEST, LATEST, RepresentableDatetime, as_datetime
from workers.schedules.timing import (
    check_cron,
    check_timezone,
    last_interval_due,
    next_cron_due,
    next_interval_due,
)

NEW_YORK = check_timezone("America/New_York")


def ts(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def local(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, NEW_YORK).strftime("%m-%d %H:%M %Z")


def test_interval_never_drifts_over_thousands_of_periods() -> None:
    start, interval = 1_700_000_000.123, 7.3
    due = start
    for n in range(1, 5001):
        late = due + (n % 7) * 0.9  # fired late by up to 5.4 s each time
        due = next_interval_due(start, interval, late if late < due + interval else due)
        assert due == pytest.approx(start + n * interval, abs=1e-6)


def test_interval_edges() -> None:
    assert next_interval_due(100.0, 10, 50.0) == 100.0  # before the start: the start itself
    assert next_interval_due(100.0, 10, 100.0) == 110.0  # strictly after
    assert next_interval_due(100.0, 10, 109.999) == 110.0
    assert last_interval_due(100.0, 10, 125.0) == 120.0
    assert last_interval_due(100.0, 10, 99.0) is None


def walk(expression: str, start: float, count: int) -> list[str]:
    times, cursor = [], start
    for _ in range(count):
        cursor = next_cron_due(expression, NEW_YORK, cursor)
        times.append(local(cursor))
    return times


def test_cron_spring_forward_gap_fires_once_at_next_valid_time() -> None:
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist.
    assert walk("30 2 * * *", ts(2026, 3, 7, 0, 0), 3) == ["03-07 02:30 EST", "03-08 03:00 EDT", "03-09 02:30 EDT"]
    assert walk("*/30 * * * *", ts(2026, 3, 8, 6, 0), 4) == [
        "03-08 01:30 EST",
        "03-08 03:00 EDT",
        "03-08 03:30 EDT",
        "03-08 04:00 EDT",
    ]


def test_cron_fall_back_repeated_hour_fires_once() -> None:
    # 2026-11-01: 02:00 EDT goes back to 01:00 EST; 01:30 happens twice.
    assert walk("30 1 * * *", ts(2026, 10, 31, 12, 0), 3) == ["11-01 01:30 EDT", "11-02 01:30 EST", "11-03 01:30 EST"]
    hourly = walk("0 * * * *", ts(2026, 11, 1, 4, 30), 3)
    assert hourly == ["11-01 01:00 EDT", "11-01 02:00 EST", "11-01 03:00 EST"]
    # Asked from inside the repeated hour, the next run is still after `now`.
    inside = ts(2026, 11, 1, 6, 10)  # 01:10 EST, the second 01:10
    assert next_cron_due("*/15 * * * *", NEW_YORK, inside) == ts(2026, 11, 1, 7, 0)


def test_cron_in_a_far_timezone() -> None:
    shanghai = check_timezone("Asia/Shanghai")
    due = next_cron_due("0 3 * * *", shanghai, ts(2026, 12, 1, 0, 0))
    assert due == ts(2026, 12, 1, 19, 0)  # 03:00 in Shanghai is 19:00 UTC the day before


def test_validation() -> None:
    with pytest.raises(ValueError):
        check_cron("* * * *")
    with pytest.raises(ValueError):
        check_cron("61 * * * *")
    with pytest.raises(ValueError):
        check_timezone("Mars/Olympus")
    assert check_cron("0 3 * * 1-5") == "0 3 * * 1-5"


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_a_datetime_no_zone_can_show_is_refused(moment: str) -> None:
    with pytest.raises(ValidationError, match="out of range"):
        TypeAdapter(RepresentableDatetime).validate_json(f'"{moment}"')


def test_the_widest_offsets_still_show_at_the_ends_of_the_range() -> None:
    for edge in (EARLIEST, LATEST):
        assert {as_datetime(edge, ZoneInfo(zone)) is None for zone in ("Etc/GMT+12", "Pacific/Kiritimati")} == {False}


def test_a_time_out_of_range_shows_as_none() -> None:
    assert as_datetime(LATEST + 86_400) is None
