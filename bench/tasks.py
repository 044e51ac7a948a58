"""The one no-op job of the baselines: a plain module-level function, as RQ, rq-scheduler and rq cron users write.

Raw RQ (worker benchmark), rq-scheduler and `rq cron` (scheduler benchmark)
import it by path; doing nothing makes each figure the tool's own cost per job.
"""

import time


def noop() -> None:
    """Do nothing: only the tool's handling of the job is measured."""


def sleep_50ms() -> None:
    """Wait 50 ms, as `bench.sleep_50ms` does on our side."""
    time.sleep(0.05)
