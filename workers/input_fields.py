"""Field types shared by every input: the API's job and schedule bodies and SCHEDULES_FILE entries.

They live in `workers` so the file a scheduler reads is checked by the very models the API uses.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from workers.queues import QUEUE_NAME
from workers.registry import RetryPolicy

QUEUE_PATTERN = QUEUE_NAME.pattern


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
