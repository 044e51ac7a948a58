"""Cluster-wide task limits: `@task(concurrency=N)` and `@task(rate="100/m")`, enforced in Redis."""
