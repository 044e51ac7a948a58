"""The scheduler process (`python -m workers.scheduler`): its loop steps and start-up checks."""
