"""The job raw RQ runs in the worker benchmark: a plain module-level function, as RQ users write."""


def noop() -> None:
    """Do nothing, so the figure is RQ's own cost per job."""
