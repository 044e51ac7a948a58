"""Every Redis key this service owns, built in one place under one prefix (never `rq:`)."""

import re

PREFIX = "rqs:"
# rq builds `rq:queue:<name>` and its own `rq:queue:<name>:intermediate`: a name with `:` or `.`
# could be one of rq's keys (a job sent to `default:intermediate` is never run).
QUEUE_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def check_queue_name(name: str) -> str:
    """`name` if it is a queue name rq keys cannot collide with, else ValueError."""
    if not re.match(QUEUE_NAME_PATTERN, name):
        raise ValueError(f"invalid queue name {name!r}: use 1-64 of A-Z a-z 0-9 _ - (no ':' or '.')")
    return name


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


def limit_slots_key(task: str) -> str:
    """Sorted set: the runs (job id:token) holding one of the task's `concurrency` slots, scored by lease end (ms)."""
    return f"{PREFIX}limit:slots:{task}"


def limit_starts_key(task: str) -> str:
    """Sorted set: the task's starts in the current rate window (ms)."""
    return f"{PREFIX}limit:starts:{task}"


def limit_line_key(task: str) -> str:
    """Sorted set: the task's jobs refused by its rate, each scored by the start it was given (ms)."""
    return f"{PREFIX}limit:line:{task}"


def alive_key(worker_name: str) -> str:
    """String with a short TTL: the worker is alive and beating (see workers/rq_seam/reaper.py)."""
    return f"{ALIVE_PREFIX}{worker_name}"


ALIVE_PREFIX = f"{PREFIX}alive:"
REAPER_LOCK = f"{PREFIX}reaper:lock"


CALLBACKS_DUE = f"{PREFIX}callbacks:due"  # sorted set: job id -> when its callback's next attempt is due


def callback_key(job_id: str) -> str:
    """Hash: the delivery state of a job's callback (workers/callbacks/outbox.py)."""
    return f"{PREFIX}callback:{job_id}"
