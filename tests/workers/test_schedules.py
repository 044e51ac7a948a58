"""Schedule specs: validation, upcoming times, misfire grace, repeat."""

import pytest

from workers.core.errors import InvalidJobError, TaskNotFoundError
from workers.schedules.spec import ScheduleSpec, plan_catch_up


def interval_spec(**fields: object) -> ScheduleSpec:
    return ScheduleSpec.from_mapping({"name": "s", "task": "tests.echo", "interval": 10, "start_at": 1000.0, **fields})


def test_validation() -> None:
    with pytest.raises(InvalidJobError):
        ScheduleSpec.from_mapping({"name": "s", "task": "tests.echo"})  # no timing
    with pytest.raises(InvalidJobError):
        ScheduleSpec.from_mapping({"name": "s", "task": "tests.echo", "cron": "* * * * *", "interval": 5})
    with pytest.raises(InvalidJobError):
        ScheduleSpec.from_mapping({"name": "s", "task": "tests.echo", "cron": "bad"})
    with pytest.raises(InvalidJobError):
        ScheduleSpec.from_mapping({"name": "s", "task": "tests.echo", "cron": "* * * * *", "timezone": "No/Where"})
    with pytest.raises(InvalidJobError):
        ScheduleSpec.from_mapping({"name": "bad name", "task": "tests.echo", "interval": 5})
    with pytest.raises(InvalidJobError):
        ScheduleSpec.from_mapping({"name": "s", "task": "tests.echo", "at": "2026-01-01T00:00:00"})
    with pytest.raises(InvalidJobError):
        ScheduleSpec.from_mapping({"name": "s", "task": "tests.echo", "interval": 5, "bogus": 1})
    with pytest.raises(TaskNotFoundError):
        ScheduleSpec.from_mapping({"name": "s", "task": "os.system", "interval": 5})


def test_upcoming_and_repeat() -> None:
    assert interval_spec().upcoming(now=1005.0, count=3) == [1010.0, 1020.0, 1030.0]
    assert interval_spec(repeat=2).upcoming(now=1005.0, count=5) == [1010.0, 1020.0]
    assert interval_spec(repeat=2).upcoming(now=1005.0, count=5, runs_total=2) == []
    at = ScheduleSpec.from_mapping({"name": "s", "task": "tests.echo", "at": "2030-01-01T00:00:00Z"})
    assert len(at.upcoming(now=0.0)) == 1
    assert at.upcoming(now=2e9) == []


def test_on_time_run_fires() -> None:
    plan = plan_catch_up(interval_spec(), due=1010.0, now=1010.002)
    assert plan.fire == 1010.0
    assert plan.missed == []
    assert plan.missed_total == 0


def test_misfire_grace() -> None:
    spec = interval_spec(misfire_grace_time=5)
    assert plan_catch_up(spec, due=1010.0, now=1014.0).fire == 1010.0
    late = plan_catch_up(spec, due=1010.0, now=1016.0)
    assert late.fire is None
    assert late.missed == [1010.0]
    assert late.missed_total == 1


def test_long_outage_fires_at_most_one_catch_up() -> None:
    spec = interval_spec(misfire_grace_time=5)
    plan = plan_catch_up(spec, due=1010.0, now=1072.0)  # due 1010..1070: six missed, 1070 within grace
    assert plan.fire == 1070.0
    assert plan.missed_total == 6
    assert plan.missed[-1] == 1060.0
    none_in_grace = plan_catch_up(spec, due=1010.0, now=1077.0)
    assert none_in_grace.fire is None
    assert none_in_grace.missed_total == 7
    huge = plan_catch_up(spec, due=1010.0, now=1010.0 + 10 * 1_000_000 + 1)
    assert huge.fire == 1010.0 + 10 * 1_000_000
    assert huge.missed_total == 1_000_000
    assert len(huge.missed) == 50


def test_cron_catch_up_counts_each_missed_run() -> None:
    spec = ScheduleSpec.from_mapping({"name": "c", "task": "tests.echo", "cron": "* * * * *"})
    plan = plan_catch_up(spec, due=60.0 * 100, now=60.0 * 110 + 30)
    assert plan.fire == 60.0 * 110
    assert plan.missed_total == 10
