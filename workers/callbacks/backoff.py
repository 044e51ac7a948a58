"""When a failed callback is tried again: exponential backoff with jitter, so receivers that fail together
do not get every retry at the same instant."""

from __future__ import annotations

import random

CAP_SECONDS = 6 * 3600


def retry_delay(attempt: int, base: float, rand: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): half of base * 2^(attempt-1) plus up to as
    much again at random; so the first retry is due within `base` seconds."""
    full = min(base * 2 ** (attempt - 1), CAP_SECONDS)
    return full / 2 + (rand or random).random() * full / 2
