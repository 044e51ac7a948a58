"""Crash-recovery benchmark: kill -9 of workers mid-job, SIGTERM of every Procfile process, Redis faults under load."""
