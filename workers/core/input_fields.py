"""Field types shared by every input: the API's job and schedule bodies and SCHEDULES_FILE entries.

They live in `workers` so the file a scheduler reads is checked by the very models the API uses.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from workers.callbacks.hosts import URL_MAX
from workers.core.datetimes import RepresentableDatetime
from workers.core.keys import QUEUE_NAME_PATTERN
from workers.tasks.registry import RetryPolicy

__all__ = ["QUEUE_PATTERN", "CallbackUrl", "JsonArgs", "JsonKwargs", "RepresentableDatetime", "RetrySpec"]
QUEUE_PATTERN = QUEUE_NAME_PATTERN

# Free-form values: the limits are checked by workers.core.json_values (JSON Schema cannot state them).
JsonArgs = Annotated[list[Any], Field(description="positional arguments: JSON values, at most 32 deep, 64 KiB")]
JsonKwargs = Annotated[dict[str, Any], Field(description="keyword arguments: JSON values, at most 32 deep, 64 KiB")]
CallbackUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=URL_MAX,
        description=(
            "http(s) URL POSTed the job body, signed (X-RQS-Signature), once the run reaches its final status;"
            " its host must be listed in CALLBACK_HOSTS"
        ),
        examples=["https://hooks.example.com/rqs/done"],
    ),
]


class RetrySpec(BaseModel):
    """`max` attempts after the first; `backoff` seconds before each (a list, or one for all)."""

    model_config = ConfigDict(extra="forbid")

    max: int = Field(ge=0, le=100)
    backoff: (
        Annotated[list[Annotated[int, Field(ge=0, le=86_400)]], Field(max_length=100)]
        | Annotated[int, Field(ge=0, le=86_400)]
    ) = 0

    def policy(self) -> RetryPolicy | None:
        return RetryPolicy.parse(self.model_dump())
