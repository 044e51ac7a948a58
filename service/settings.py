"""Settings of the web process: the shared ones plus keys and limits (uvicorn reads PORT itself)."""

from __future__ import annotations

from pydantic import Field, field_validator

from workers.core.settings import CsvList, Settings, split_csv


class ServiceSettings(Settings):
    """`API_KEYS` entries are `KEY` (admin) or `name:scope:KEY`."""

    api_keys: CsvList = []
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        return split_csv(value)


def get_settings() -> ServiceSettings:
    """Read the environment now; only `create_app` and entry points call this."""
    return ServiceSettings()
