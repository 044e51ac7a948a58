"""The schedule definition as users write it, an API body or a SCHEDULES_FILE entry: one model for both.

Every limit lives here, so a file cannot declare what the API would refuse.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from workers.core.errors import InvalidJobError
from workers.core.input_fields import QUEUE_PATTERN, CallbackUrl, JsonArgs, JsonKwargs, RepresentableDatetime, RetrySpec
from workers.schedules.spec import NAME_PATTERN, ScheduleSpec

ScheduleName = Annotated[str, Field(pattern=NAME_PATTERN)]


class ScheduleIn(BaseModel):
    """Exactly one of `cron`, `interval`, `at`; `name` may be left out of a PUT body."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: ScheduleName | None = None
    task: str = Field(min_length=1, max_length=200)
    args: JsonArgs = Field(default_factory=list)
    kwargs: JsonKwargs = Field(default_factory=dict)
    cron: str | None = Field(default=None, max_length=200)
    timezone: str = Field(default="UTC", max_length=100)
    interval: float | None = Field(default=None, ge=1, le=366 * 86_400)
    at: RepresentableDatetime | None = None
    start_at: RepresentableDatetime | None = None
    queue: str | None = Field(default=None, pattern=QUEUE_PATTERN)
    timeout: int | None = Field(default=None, ge=1, le=7 * 86_400)
    retry: Annotated[int, Field(ge=0, le=100)] | RetrySpec | None = None
    result_ttl: int | None = Field(
        default=None,
        ge=-1,
        le=366 * 86_400,
        description="seconds each run's result is kept (default RESULT_TTL; -1: for ever); short for frequent runs",
    )
    misfire_grace_time: float = Field(default=60, ge=0, le=366 * 86_400)
    overlap: Literal["allow", "skip"] = "allow"
    repeat: int | None = Field(default=None, ge=1)
    paused: bool = False
    callback_url: CallbackUrl | None = None

    def to_spec(self, name: str | None = None) -> ScheduleSpec:
        """The definition to store, under `name` (a PUT's path) when given; InvalidJobError when it cannot fire."""
        if name is not None and self.name not in (None, name):
            raise InvalidJobError(f"the body names {self.name!r} but the path names {name!r}")
        data = self.model_dump(exclude={"retry"})
        data["name"] = name or self.name
        if not data["name"]:
            raise InvalidJobError("name is required")
        data["retry"] = self._retry()
        return ScheduleSpec.from_mapping(data)

    def _retry(self) -> dict[str, object] | None:
        if self.retry is None:
            return None
        return {"max": self.retry} if isinstance(self.retry, int) else self.retry.model_dump()


class ScheduleCreate(ScheduleIn):
    """The body of POST /schedules, where the name is not in the path and so is required."""

    name: ScheduleName
