"""Every Redis key this service owns, built in one place under one prefix (never `rq:`)."""

PREFIX = "rqs:"


def idempotency_key(digest: str) -> str:
    return f"{PREFIX}idem:{digest}"
