"""Settings shared by every process: one env var per field, validated at start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from workers.callbacks.hosts import AllowedHost, parse_hosts
from workers.core.keys import check_queue_name

CsvList = Annotated[list[str], NoDecode]
CALLBACK_SECRET_MIN = 16


def split_csv(value: object) -> object:
    """Accept `a,b,c` from the environment as well as a real list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """What the web, worker and scheduler processes all need to know."""

    # hide_input_in_errors: an error message must never print a secret it was given
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, hide_input_in_errors=True)

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_tls_verify: bool = True
    redis_timeout: float = Field(default=1.5, gt=0, le=30)
    redis_sentinel_password: SecretStr | None = None  # for sentinels that require auth (REDIS_URL redis+sentinel://)
    redis_min_replicas_ack: int = Field(default=0, ge=0, le=100)  # a 2xx write waits for this many replicas (WAIT)
    redis_min_replicas_ack_timeout: float = Field(default=1.0, gt=0, le=30)
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
    # Completion webhooks (workers/callbacks/): hosts a callback_url may name; empty refuses every callback_url.
    callback_hosts: CsvList = []
    callback_secret: SecretStr | None = None  # HMAC key of X-RQS-Signature; required (16+ chars) with CALLBACK_HOSTS
    callback_timeout: float = Field(default=10.0, gt=0, le=60)
    callback_max_attempts: int = Field(default=9, ge=1, le=50)
    callback_retry_base_seconds: float = Field(default=15.0, gt=0, le=3600)

    @field_validator("queues", "task_modules", "callback_hosts", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return split_csv(value)

    @field_validator("queues")
    @classmethod
    def _queues_not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("QUEUES must name at least one queue")
        return [check_queue_name(name) for name in value]

    @field_validator("redis_min_replicas_ack_timeout")
    @classmethod
    def _ack_within_socket_timeout(cls, value: float, info: ValidationInfo) -> float:
        """WAIT blocks the connection: past REDIS_TIMEOUT the socket would give up first (a bare timeout)."""
        socket_timeout = info.data.get("redis_timeout")
        if socket_timeout is not None and value >= socket_timeout:
            raise ValueError(f"REDIS_MIN_REPLICAS_ACK_TIMEOUT must be less than REDIS_TIMEOUT ({socket_timeout})")
        return value

    @field_validator("default_queue")
    @classmethod
    def _default_queue_name(cls, value: str) -> str:
        return check_queue_name(value)

    @field_validator("callback_hosts")
    @classmethod
    def _callback_hosts(cls, value: list[str]) -> list[str]:
        parse_hosts(value)
        return value

    @model_validator(mode="after")
    def _callback_secret_with_hosts(self) -> Settings:
        secret = self.callback_secret.get_secret_value() if self.callback_secret is not None else ""
        if self.callback_hosts and len(secret) < CALLBACK_SECRET_MIN:
            raise ValueError(
                f"CALLBACK_SECRET must be set, at least {CALLBACK_SECRET_MIN} characters, when CALLBACK_HOSTS is set:"
                " it signs every callback"
            )
        return self

    @property
    def allowed_callback_hosts(self) -> frozenset[AllowedHost]:
        return parse_hosts(self.callback_hosts)


def get_settings() -> Settings:
    """Read the environment now; only entry points call this."""
    return Settings()
