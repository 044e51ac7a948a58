"""The one plan shape: every benchmark package has a `Plan` subclass and a quick/full pair of it.

A plan holds every size and time limit of one benchmark, so `--quick` is one
switch and every wait is bounded by a figure from the plan: a stuck process
ends the run with an error instead of hanging it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What every plan has: its name (`quick` or `full`) and the bound on waiting for a process to come up."""

    name: str
    startup_timeout: float = 20.0


P = TypeVar("P", bound=Plan)


@dataclass(frozen=True)
class Plans(Generic[P]):
    """A benchmark's two plans; `--quick` picks the first."""

    quick: P
    full: P

    def pick(self, quick: bool) -> P:
        return self.quick if quick else self.full
