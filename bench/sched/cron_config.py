"""`rq cron bench.sched.cron_config`: RQ 3's own cron running one job every second (the smallest interval)."""

from rq import cron

from bench.tasks import noop

NAME = "sched-bench-cron"
QUEUE = "sched-cron"
INTERVAL = 1

cron.register(noop, queue_name=QUEUE, interval=INTERVAL, name=NAME)
