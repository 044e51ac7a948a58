"""Benchmarks for rq-service: `python -m bench [all|http|worker|sched|recovery] [--quick]` (or `make bench`).

`harness/` holds what every benchmark shares; `http/`, `worker/`, `sched/` and
`recovery/` one benchmark each, against its baseline in the same run. Each run
starts its own redis-server and processes on free local ports and stops them
all at the end, so it never touches a Redis in use. Figures are printed as a
table and written to bench/results/*.json.
"""
