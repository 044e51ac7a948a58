"""The worker process (`python -m workers.worker`) and what its RQ worker class calls.

metering, heartbeat, shutdown (stop and grace) and lifecycle (a fresh worker after a Redis outage).
"""
