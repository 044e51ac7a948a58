"""Benchmarks for rq-service: `python -m bench [http|worker] [--quick]` (or `make bench`).

Each run starts its own redis-server, API and worker processes on free local
ports and stops them all at the end, so it never touches a Redis in use.
Figures are printed as a table and written to bench/results/latest.json.
"""
