"""The worker process (`python -m workers.worker`) and what its RQ worker class calls.

engine (jobs at once on worker threads: deadlines, stops, shutdown grace), metering, heartbeat and
lifecycle (a fresh worker after a Redis outage).
"""
