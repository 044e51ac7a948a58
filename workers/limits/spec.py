"""What a task's limits are, parsed and checked when the task is registered (so a bad one fails at import)."""

from __future__ import annotations

import re
from dataclasses import dataclass

PERIODS = {"s": 1, "m": 60, "h": 3600}
RATE_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*([smh])\s*$")


@dataclass(frozen=True)
class Rate:
    """At most `count` starts in any `seconds`-long window, across every worker."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """`"100/m"`, `"5/s"` or `"1000/h"`; anything else is a ValueError that says what is accepted."""
        match = RATE_PATTERN.match(text) if isinstance(text, str) else None
        if match is None or int(match.group(1)) < 1:
            raise ValueError(f"invalid rate {text!r}: use N/s, N/m or N/h with N >= 1, e.g. '100/m'")
        return cls(count=int(match.group(1)), seconds=PERIODS[match.group(2)])

    def __str__(self) -> str:
        unit = {v: k for k, v in PERIODS.items()}[self.seconds]
        return f"{self.count}/{unit}"


@dataclass(frozen=True)
class Limits:
    """A task's cluster-wide limits; both None means the task is not limited."""

    concurrency: int | None = None
    rate: Rate | None = None

    @classmethod
    def parse(cls, concurrency: int | None, rate: str | None) -> Limits | None:
        if concurrency is not None and (isinstance(concurrency, bool) or not isinstance(concurrency, int)):
            raise ValueError(f"invalid concurrency {concurrency!r}: use a whole number >= 1")
        if concurrency is not None and concurrency < 1:
            raise ValueError(f"invalid concurrency {concurrency!r}: use a whole number >= 1")
        parsed = None if rate is None else Rate.parse(rate)
        if concurrency is None and parsed is None:
            return None
        return cls(concurrency=concurrency, rate=parsed)
