"""What `GET /metrics` exposes: Redis-wide job metrics read at scrape time, and this instance's HTTP traffic.

Queue, worker, task and schedule metrics come from Redis when Prometheus scrapes, so
any web instance reports the same totals however many workers and schedulers run, on
however many hosts. HTTP metrics are counted in this process only: scrape every web
instance on its own and sum them in PromQL.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from redis import Redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.mutation_log import BODY_LIMIT, is_mutation, log_mutation
from workers.jobs.listing import STATUS_ORDER, WORKER_STATES, all_workers, head_job_ages, queue_stats
from workers.observability.metrics import FAMILIES, FamilyData, read_families

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
UNMATCHED = "unmatched"  # one label for every path no route knows, so scanners cannot grow the series


def _queue_gauges() -> dict[str, GaugeMetricFamily]:
    return {
        "jobs": GaugeMetricFamily("rqs_queue_jobs", "Jobs per queue and status.", labels=["queue", "status"]),
        "workers": GaugeMetricFamily("rqs_queue_workers", "Workers listening on each queue.", labels=["queue"]),
        "depth": GaugeMetricFamily("rqs_queue_depth", "Jobs waiting on each queue.", labels=["queue"]),
        "age": GaugeMetricFamily(
            "rqs_queue_oldest_job_age_seconds",
            "How long the job at the head of each queue has waited; 0 when the queue is empty.",
            labels=["queue"],
        ),
    }


def _worker_gauge() -> GaugeMetricFamily:
    return GaugeMetricFamily("rqs_workers", "Live workers per state.", labels=["state"])


def _stored_family(data: FamilyData) -> Metric:
    """A family kept in Redis by workers/observability/metrics.py, as prometheus_client wants it."""
    family = data.family
    if family.kind == "counter":
        counter = CounterMetricFamily(family.name, family.help, labels=family.labels)
        for labels, value in sorted(data.counters.items()):
            counter.add_metric(labels, value)
        return counter
    histogram = HistogramMetricFamily(family.name, family.help, labels=family.labels)
    for labels, series in sorted(data.histograms.items()):
        running = 0
        buckets = []
        for bound in sorted({*family.buckets, *series.buckets, math.inf}):
            running += series.buckets.get(bound, 0)
            buckets.append((floatToGoString(bound), running))
        histogram.add_metric(labels, buckets, series.sum)
    return histogram


class RedisCollector(Collector):
    """Reads queues, workers and the stored job and schedule metrics from Redis at each scrape."""

    def __init__(self, get_redis: Callable[[], Redis], queues: list[str]) -> None:
        self.get_redis = get_redis
        self.queues = queues

    def describe(self) -> Iterable[Metric]:
        """The families without samples, so registering never touches Redis (it is not open yet)."""
        return [*_queue_gauges().values(), _worker_gauge(), *(_stored_family(FamilyData(f)) for f in FAMILIES)]

    def collect(self) -> Iterator[Metric]:
        redis = self.get_redis()
        yield from self._queues(redis)
        yield self._workers(redis)
        for data in read_families(redis):
            yield _stored_family(data)

    def _queues(self, redis: Redis) -> Iterable[Metric]:
        gauges = _queue_gauges()
        stats = queue_stats(redis, self.queues)
        ages = head_job_ages(redis, [s.name for s in stats], datetime.now(UTC))
        for stat in stats:
            for status in STATUS_ORDER:
                gauges["jobs"].add_metric([stat.name, status], getattr(stat, status))
            gauges["workers"].add_metric([stat.name], stat.workers)
            gauges["depth"].add_metric([stat.name], stat.queued)
            gauges["age"].add_metric([stat.name], ages[stat.name])
        return gauges.values()

    def _workers(self, redis: Redis) -> Metric:
        counts = dict.fromkeys(WORKER_STATES, 0)
        for worker in all_workers(redis):
            state = str(getattr(worker.get_state(), "value", worker.get_state()))
            counts[state] = counts.get(state, 0) + 1
        gauge = _worker_gauge()
        for state, count in counts.items():
            gauge.add_metric([state], count)
        return gauge


class HttpMetrics:
    """Requests and their latency in this web process, by route template (never the raw path)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "rqs_http_requests",
            "HTTP requests answered by this web instance.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "rqs_http_request_duration_seconds",
            "Time from request to the end of the answer, in this web instance.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        # (method, route, status) -> its counter and histogram: `labels()` takes a lock and builds
        # a key per call. Bounded as the series are: known methods, route templates, statuses.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "other"
        series = self._series.get((method, route, status))
        if series is None:
            series = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._series[(method, route, status)] = series
        series[0].inc()
        series[1].observe(seconds)


def route_template(scope: Scope, root_path: str) -> str:
    """The matched route's path template, or a mount's prefix; `root_path` is the one before routing.

    A request answered before routing (an unknown path, a body refused by its declared size)
    has no template and is labelled `unmatched`.
    """
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    mounted = scope.get("root_path", "")
    return mounted[len(root_path) :] if mounted != root_path else UNMATCHED


class _Answer:
    """What the app sent: the status, and the body of a mutation (for the job ids it names)."""

    def __init__(self, send: Send, keep_body: bool) -> None:
        self._send = send
        self.status: int | None = None
        self.body: bytearray | None = bytearray() if keep_body else None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        elif message["type"] == "http.response.body" and self.body is not None:
            self.body += message.get("body", b"")
            if len(self.body) > BODY_LIMIT:
                self.body = None
        await self._send(message)


class ObserveRequests:
    """ASGI middleware: counts and times every request and logs every mutation."""

    def __init__(self, app: ASGIApp, http: HttpMetrics) -> None:
        self.app = app
        self.http = http

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, root_path = time.perf_counter(), scope.get("root_path", "")
        answer = _Answer(send, keep_body=is_mutation(scope["method"]))
        try:
            await self.app(scope, receive, answer.send)
        except Exception:  # not cancellation: a task cancelled at shutdown answered nobody
            self._observe(scope, root_path, answer, started)
            raise
        self._observe(scope, root_path, answer, started)

    def _observe(self, scope: Scope, root_path: str, answer: _Answer, started: float) -> None:
        route = route_template(scope, root_path)
        status = answer.status if answer.status is not None else 500  # it raised before answering
        self.http.observe(scope["method"], route, status, time.perf_counter() - started)
        if is_mutation(scope["method"]):
            log_mutation(scope, route, status, bytes(answer.body) if answer.body is not None else None)


def instrument(app: FastAPI, queues: list[str]) -> None:
    """Give `app` its metrics registry (`app.state.metrics`) and the request middleware; call last."""
    registry = CollectorRegistry()
    registry.register(RedisCollector(lambda: app.state.redis, queues))
    app.state.metrics = registry
    app.add_middleware(ObserveRequests, http=HttpMetrics(registry))
