"""The job the baselines schedule: a plain module-level function, as rq-scheduler and rq cron users write."""


def noop() -> None:
    """Do nothing: only when it is enqueued matters."""
