"""Every Redis key this service owns, built in one place under one prefix (never `rq:`)."""

PREFIX = "rqs:"


def idempotency_key(digest: str) -> str:
    return f"{PREFIX}idem:{digest}"


def schedule_key(name: str) -> str:
    """Hash: the schedule's definition (`spec`) and its state (counters, last run)."""
    return f"{PREFIX}schedule:{name}"


def schedule_runs_key(name: str) -> str:
    """List: the schedule's run ledger, newest first, capped."""
    return f"{PREFIX}schedule-runs:{name}"


SCHEDULE_NAMES = f"{PREFIX}schedules"  # set of every schedule name
SCHEDULES_DUE = f"{PREFIX}schedules:due"  # sorted set: name -> next due time (float seconds)
SCHEDULER_LOCK = f"{PREFIX}scheduler:lock"
SCHEDULER_WAKE = f"{PREFIX}scheduler:wake"  # pub/sub channel: a schedule changed
SCHEDULER_INSTANCE_PREFIX = f"{PREFIX}scheduler:instance:"


def metrics_key(family: str) -> str:
    """The hash holding every series of one metric family (see workers/observability/metrics.py)."""
    return f"{PREFIX}metrics:{family}"
