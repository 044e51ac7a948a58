"""Scheduler benchmark: ours against plain rq-scheduler and RQ cron (drift, scale, herd, failover, side by side)."""
