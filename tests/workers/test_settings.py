import pytest
from pydantic import ValidationError

from service.settings import ServiceSettings
from workers.core.settings import Settings


def test_comma_separated_lists_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUES", "high, default ,low")
    monkeypatch.setenv("TASK_MODULES", "a.b,c")
    settings = Settings()
    assert settings.queues == ["high", "default", "low"]
    assert settings.task_modules == ["a.b", "c"]


def test_defaults() -> None:
    settings = Settings()
    assert settings.queues == ["high", "default", "low"]
    assert settings.redis_tls_verify is True


def test_api_keys_and_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEYS", "k1,ci:write:k2")
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    settings = ServiceSettings()
    assert settings.api_keys == ["k1", "ci:write:k2"]
    assert settings.max_body_bytes == 2048


def test_bad_values_fail_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUES", " , ")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setenv("QUEUES", "default")
    monkeypatch.setenv("REDIS_TLS_VERIFY", "maybe")
    with pytest.raises(ValidationError):
        Settings()


def test_worker_concurrency_is_at_least_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_CONCURRENCY", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_worker_concurrency_reaches_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_CONCURRENCY", "16")
    assert Settings().worker_concurrency == 16


def test_schedule_runs_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().schedule_runs_kept == 10
    monkeypatch.setenv("SCHEDULE_RUNS_KEPT", "3")
    assert Settings().schedule_runs_kept == 3
    monkeypatch.setenv("SCHEDULE_RUNS_KEPT", "0")  # a run must at least be readable once it has ended
    with pytest.raises(ValidationError):
        Settings()
