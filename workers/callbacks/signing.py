"""Signing a callback body: HMAC-SHA256 of the exact bytes sent, keyed by `CALLBACK_SECRET`.

A receiver recomputes it over the raw body it read (before any JSON parsing) and compares
in constant time; `verify` is that check, as the README's receiver example writes it.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-RQS-Signature"
DELIVERY_HEADER = "X-RQS-Delivery"  # the same for every attempt of one delivery: receivers dedupe on it
ATTEMPT_HEADER = "X-RQS-Attempt"
PREFIX = "sha256="


def signature(body: bytes, secret: str) -> str:
    """`sha256=<hex>`: the value of the signature header for `body`."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    """Whether `header` is the signature of `body` under `secret` (constant-time)."""
    return hmac.compare_digest(signature(body, secret), header)


def headers(body: bytes, secret: str, delivery_id: str, attempt: int) -> dict[str, str]:
    """Every header of one attempt."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "rq-service-callbacks/1",
        SIGNATURE_HEADER: signature(body, secret),
        DELIVERY_HEADER: delivery_id,
        ATTEMPT_HEADER: str(attempt),
    }
