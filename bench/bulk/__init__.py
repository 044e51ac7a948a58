"""`python -m bench.bulk`: bulk cancel and requeue of N jobs, against the same jobs one call at a time."""
