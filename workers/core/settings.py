"""Settings shared by every process: one env var per field, validated at start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from workers.core.keys import check_queue_name

CsvList = Annotated[list[str], NoDecode]


def split_csv(value: object) -> object:
    """Accept `a,b,c` from the environment as well as a real list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """What the web, worker and scheduler processes all need to know."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_tls_verify: bool = True
    redis_timeout: float = Field(default=1.5, gt=0, le=30)
    queues: CsvList = ["high", "default", "low"]
    task_modules: CsvList = []
    schedules_file: Path | None = None
    default_queue: str = "default"
    job_timeout: int = Field(default=180, ge=1)
    job_retry: int = Field(default=0, ge=0, le=100)
    result_ttl: int = Field(default=86_400, ge=-1)
    failure_ttl: int = Field(default=7 * 86_400, ge=1)
    worker_concurrency: int = Field(default=8, ge=1, le=256)  # jobs at once per worker process
    worker_shutdown_grace: float = Field(default=25.0, ge=0, le=28)
    # `combined`: the schedule metrics' `schedule` label is "*", so 100,000 schedules are not 1.8M series.
    schedule_metrics: Literal["per_schedule", "combined"] = "per_schedule"
    # A schedule's runs keep jobs and results by count (its newest N), not RESULT_TTL; its own result_ttl wins.
    schedule_runs_kept: int = Field(default=10, ge=1, le=10_000)
    audit_max_entries: int = Field(default=10_000, ge=1, le=1_000_000)  # the trail keeps this many, oldest go first
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("queues", "task_modules", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return split_csv(value)

    @field_validator("queues")
    @classmethod
    def _queues_not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("QUEUES must name at least one queue")
        return [check_queue_name(name) for name in value]

    @field_validator("default_queue")
    @classmethod
    def _default_queue_name(cls, value: str) -> str:
        return check_queue_name(value)


def get_settings() -> Settings:
    """Read the environment now; only entry points call this."""
    return Settings()
