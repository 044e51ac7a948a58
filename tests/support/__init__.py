"""Helpers the tests import: the Redis servers, the Procfile stack, waits, and what to do when a tool is missing.

The redis-server launcher, the process owner and the wait loop are the benchmark
harness's own (bench/harness/), so tests, benchmarks and `make run` start and stop
processes one way.
"""
