"""The audit trail in Redis: recording, reading, capping and the per-schedule filter."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from redis import Redis

from bench.harness.ports import free_port
from tests.support.round_trips import CountingConnection, counting_client
from workers.core import keys
from workers.core.connection import connect
from workers.core.settings import Settings
from workers.observability import audit
from workers.schedules import store as schedule_store
from workers.schedules.spec import ScheduleSpec

SPEC = {"name": "nightly", "task": "tests.echo", "cron": "0 3 * * *"}


MAX_ENTRIES = 10_000


def dead_redis() -> Redis:
    """A client of a port nothing listens on, without redis-py's retries."""
    return connect(Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))


def entry(action: str, target: str, **fields: Any) -> audit.AuditEntry:
    return audit.new_entry("ci", action, target, **fields)


def test_record_and_read_newest_first(redis: Redis) -> None:
    for number in range(3):
        assert audit.record(redis, entry("job.submit", f"job-{number}"), MAX_ENTRIES)
    entries = audit.read(redis, 10)
    assert [e.target for e in entries] == ["job-2", "job-1", "job-0"]
    first = entries[0]
    assert (first.key, first.action, first.before, first.after) == ("ci", "job.submit", None, None)
    assert first.at.endswith("+00:00")
    assert [e.target for e in audit.read(redis, 2)] == ["job-2", "job-1"]


def test_keys_live_under_our_prefix(redis: Redis) -> None:
    audit.record(redis, entry("schedule.create", "nightly"), MAX_ENTRIES)
    stored = sorted(k.decode() for k in redis.keys("*"))
    assert stored == [audit.TRAIL, audit.schedule_trail_key("nightly")]
    assert all(k.startswith(keys.PREFIX) and not k.startswith("rq:") for k in stored)


def test_trail_keeps_the_newest_max_entries(redis: Redis) -> None:
    for number in range(7):
        audit.record(redis, entry("job.submit", f"job-{number}"), max_entries=3)
    assert redis.llen(audit.TRAIL) == 3
    assert [e.target for e in audit.read(redis, 100)] == ["job-6", "job-5", "job-4"]


def test_schedule_filter_reads_only_that_schedule(redis: Redis) -> None:
    audit.record(redis, entry("schedule.create", "nightly", after={"cron": "0 3 * * *"}), MAX_ENTRIES)
    audit.record(
        redis, entry("job.submit", "nightly"), MAX_ENTRIES
    )  # a job id that happens to match: not a schedule entry
    audit.record(redis, entry("schedule.create", "hourly"), MAX_ENTRIES)
    audit.record(redis, entry("schedule.pause", "nightly"), MAX_ENTRIES)
    actions = [(e.action, e.target) for e in audit.read(redis, 10, schedule="nightly")]
    assert actions == [("schedule.pause", "nightly"), ("schedule.create", "nightly")]
    assert audit.read(redis, 10, schedule="never-seen") == []
    assert len(audit.read(redis, 10)) == 4


def test_schedule_list_is_capped(redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "SCHEDULE_ENTRIES_KEPT", 2)
    for action in ("schedule.create", "schedule.pause", "schedule.resume"):
        audit.record(redis, entry(action, "nightly"), MAX_ENTRIES)
    assert [e.action for e in audit.read(redis, 10, schedule="nightly")] == ["schedule.resume", "schedule.pause"]


def test_deleted_schedule_history_expires_unless_recreated(redis: Redis) -> None:
    own = audit.schedule_trail_key("nightly")
    audit.record(redis, entry("schedule.create", "nightly"), MAX_ENTRIES)
    assert redis.ttl(own) == -1
    audit.record(redis, entry("schedule.delete", "nightly"), MAX_ENTRIES)
    assert 0 < redis.ttl(own) <= audit.DELETED_SCHEDULE_KEPT_FOR
    audit.record(redis, entry("schedule.create", "nightly"), MAX_ENTRIES)
    assert redis.ttl(own) == -1


def test_recording_is_one_round_trip(redis: Redis, settings: Settings) -> None:
    """Counted on the socket: the entry and its trims go to Redis in one send."""
    with counting_client(settings.redis_url) as counted:
        stored = audit.record(
            counted, entry("schedule.replace", "nightly", before={"a": 1}, after={"a": 2}), MAX_ENTRIES
        )
        sends = CountingConnection.sends
    assert stored is True
    assert sends == 1
    assert [e.action for e in audit.read(redis, 10, None)] == ["schedule.replace"]
    assert [e.action for e in audit.read(redis, 10, "nightly")] == ["schedule.replace"]


def test_recording_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="workers.observability.audit"):
        assert audit.record(dead_redis(), entry("job.cancel", "job-1"), MAX_ENTRIES) is False
    assert "audit entry not stored" in caplog.text
    assert '"target":"job-1"' in caplog.text


def test_recording_refused_by_redis_is_logged(redis: Redis, caplog: pytest.LogCaptureFixture) -> None:
    redis.set(audit.TRAIL, "not a list")
    with caplog.at_level(logging.ERROR, logger="workers.observability.audit"):
        assert audit.record(redis, entry("job.cancel", "job-1"), MAX_ENTRIES) is False
    assert "WRONGTYPE" in caplog.text


def test_unreadable_entries_are_skipped(redis: Redis) -> None:
    audit.record(redis, entry("job.submit", "job-1"), MAX_ENTRIES)
    redis.lpush(audit.TRAIL, b"{not json", b"[1, 2]")
    assert [e.target for e in audit.read(redis, 10)] == ["job-1"]


def test_schedule_state_and_stored_schedule(redis: Redis) -> None:
    spec = ScheduleSpec(name="once", task="tests.echo", at=1_800_000_000.0)
    assert audit.schedule_state(spec)["at"] == "2027-01-15T08:00:00+00:00"  # type: ignore[index]
    assert audit.schedule_state(None) is None
    assert audit.stored_schedule(redis, "nightly") is None
    schedule_store.upsert(redis, ScheduleSpec.from_mapping(SPEC), 1_700_000_000.0)
    stored = audit.stored_schedule(redis, "nightly")
    assert stored is not None
    assert stored["cron"] == "0 3 * * *"
    assert stored["start_at"] == "2023-11-14T22:13:20+00:00"


def test_stored_schedule_tolerates_a_dead_redis() -> None:
    assert audit.stored_schedule(dead_redis(), "nightly") is None


def test_max_entries_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_MAX_ENTRIES", "50")
    assert Settings().audit_max_entries == 50
