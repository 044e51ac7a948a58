"""Job and schedule metrics kept in Redis, so every worker and scheduler, on any host, adds to one total.

Layout: one hash per metric family at `rqs:metrics:<family>`. A field is the JSON list of
the series' label values; a histogram field adds one more item, `"sum"` or the upper bound
of the single bucket an observation fell in (`"+Inf"` for the last). Buckets are stored
non-cumulative and the reader adds them up, so an observation costs one HINCRBY and one
HINCRBYFLOAT. A sample is a few `Step`s, (key, field, amount): the scheduler's and the
callbacks' are queued on a pipeline the caller executes anyway (the scheduler's firing
transaction), adding no round trip; a worker's job runs are summed in memory and written
once per beat (workers/observability/tally.py), through these same steps.
"""

from __future__ import annotations

import functools
import json
import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from redis import Redis
from redis.client import Pipeline

from workers.core.keys import metrics_key

# How a job run ended: every run ends with exactly one of these.
FINISHED, FAILED, RETRIED, STOPPED, INTERRUPTED = "finished", "failed", "retried", "stopped", "interrupted"
ABANDONED = "abandoned"  # its worker died mid-run; RQ's cleanup then retries or fails it
JOB_OUTCOMES = (FINISHED, FAILED, RETRIED, STOPPED, INTERRUPTED, ABANDONED)
# What became of a schedule's due run.
FIRED, MISSED, SKIPPED = "fired", "missed", "skipped"
ERROR = "error"  # the run could not be fired: its task is no longer registered, its queue was refused...
SCHEDULE_OUTCOMES = (FIRED, MISSED, SKIPPED, ERROR)
# What became of one attempt to deliver a completion callback (workers/callbacks/).
DELIVERED, RETRY, GAVE_UP = "delivered", "retry", "failed"
CALLBACK_OUTCOMES = (DELIVERED, RETRY, GAVE_UP)

SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
SUM, INF = "sum", "+Inf"
ALL_SCHEDULES = "*"  # the `schedule` label of every run under SCHEDULE_METRICS=combined


@dataclass(frozen=True)
class Family:
    """One metric family: its Prometheus name (counters without `_total`), labels and buckets."""

    name: str
    kind: Literal["counter", "histogram"]
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()
    outcomes: tuple[str, ...] = ()  # every value of a counter's last label, reported from 0 on

    @property
    def key(self) -> str:
        return metrics_key(self.name.removeprefix("rqs_"))  # rqs:metrics:task_runs, not rqs:metrics:rqs_...


TASK_RUNS = Family(
    "rqs_task_runs",
    "counter",
    "Job runs that ended, by task, queue and outcome (finished, failed, retried, stopped, interrupted, abandoned).",
    ("task", "queue", "outcome"),
    outcomes=JOB_OUTCOMES,
)
TASK_RUN_SECONDS = Family(
    "rqs_task_run_seconds",
    "histogram",
    "Run time of a job run: ended_at - started_at.",
    ("task", "queue"),
    SECONDS_BUCKETS,
)
TASK_WAIT_SECONDS = Family(
    "rqs_task_queue_wait_seconds",
    "histogram",
    "Time a job run waited on its queue: started_at - enqueued_at.",
    ("task", "queue"),
    SECONDS_BUCKETS,
)
SCHEDULE_RUNS = Family(
    "rqs_schedule_runs",
    "counter",
    "Due runs of a schedule, by outcome (fired, missed, skipped, error).",
    ("schedule", "outcome"),
    outcomes=SCHEDULE_OUTCOMES,
)
SCHEDULE_LATENESS = Family(
    "rqs_schedule_lateness_seconds",
    "histogram",
    "How late a fired run was: fired_at - due_at.",
    ("schedule",),
    LATENESS_BUCKETS,
)
CALLBACK_ATTEMPTS = Family(
    "rqs_callback_attempts",
    "counter",
    "Attempts to deliver a completion callback, by outcome (delivered; retry: failed, another due; failed: the last).",
    ("outcome",),
    outcomes=CALLBACK_OUTCOMES,
)
FAMILIES = (TASK_RUNS, TASK_RUN_SECONDS, TASK_WAIT_SECONDS, SCHEDULE_RUNS, SCHEDULE_LATENESS, CALLBACK_ATTEMPTS)


@dataclass(frozen=True)
class JobRun:
    """One run of a job as it ended; timings are None when RQ did not record both ends."""

    task: str
    queue: str
    outcome: str
    wait: float | None
    duration: float | None


@functools.lru_cache(maxsize=4096)  # the worker labels every run with the same few fields
def _field(*parts: object) -> str:
    """The JSON array of `parts` (compact), built part by part: a scheduler with 100,000 schedules
    misses the cache on nearly every run, so a miss must be cheap too (no JSONEncoder per call)."""
    return "[" + ",".join([_json_part(part) for part in parts]) + "]"


def _json_part(part: object) -> str:
    """`json.dumps(part)`, without its cost for a plain ASCII string (every schedule name) or a finite number."""
    kind = type(part)
    if kind is str:
        text: str = part  # type: ignore[assignment]
        if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
            return '"' + text + '"'
    elif (kind is float and math.isfinite(part)) or kind is int:  # type: ignore[arg-type]
        return repr(part)
    return json.dumps(part)


Step = tuple[str, str, int | float]  # (hash key, field, amount): an int is a HINCRBY, a float a HINCRBYFLOAT


def counter_step(family: Family, labels: Sequence[str], amount: int = 1) -> Step:
    """A counter increment."""
    return family.key, _field(*labels), amount


def observation_steps(family: Family, labels: Sequence[str], value: float) -> tuple[Step, Step]:
    """One histogram observation: one more in its bucket, and `value` on the running sum."""
    index = bisect_left(family.buckets, value) if value == value else len(family.buckets)  # first bound >= value
    bucket = _field(*labels, family.buckets[index] if index < len(family.buckets) else INF)  # NaN: +Inf
    return (family.key, bucket, 1), (family.key, _field(*labels, SUM), float(value))


def queue_steps(pipeline: Pipeline, steps: Iterable[Step]) -> None:
    """Queue each step on `pipeline`: HINCRBY for a count, HINCRBYFLOAT for a sum."""
    for key, field_, amount in steps:
        if isinstance(amount, float):
            pipeline.hincrbyfloat(key, field_, amount)
        else:
            pipeline.hincrby(key, field_, amount)


def increment(pipeline: Pipeline, family: Family, labels: Sequence[str], amount: int = 1) -> None:
    """Queue a counter increment on `pipeline`."""
    queue_steps(pipeline, (counter_step(family, labels, amount),))


def observe(pipeline: Pipeline, family: Family, labels: Sequence[str], value: float) -> None:
    """Queue one histogram observation on `pipeline`: its bucket and the running sum."""
    queue_steps(pipeline, observation_steps(family, labels, value))


def job_run_steps(run: JobRun) -> list[Step]:
    """A job run's outcome and timings, as steps: the one place a run becomes metric writes."""
    if run.outcome not in JOB_OUTCOMES:
        raise ValueError(f"unknown job outcome {run.outcome!r}")
    labels = (run.task, run.queue)
    steps = [counter_step(TASK_RUNS, (*labels, run.outcome))]
    if run.duration is not None:
        steps += observation_steps(TASK_RUN_SECONDS, labels, max(0.0, run.duration))
    if run.wait is not None:
        steps += observation_steps(TASK_WAIT_SECONDS, labels, max(0.0, run.wait))
    return steps


def record_job_run(pipeline: Pipeline, run: JobRun) -> None:
    """Queue a job run's outcome and timings on `pipeline` at once (a dead worker's run, found by RQ's cleanup)."""
    queue_steps(pipeline, job_run_steps(run))


def record_schedule_run(
    pipeline: Pipeline, schedule: str, outcome: str, lateness: float | None, count: int = 1
) -> None:
    """Queue one due run of `schedule` on the scheduler's own transaction.

    Args:
        pipeline: the pipeline (or MULTI transaction) that records the run; the caller executes it.
        schedule: the schedule's name.
        outcome: `fired`, `missed`, `skipped` or `error`.
        lateness: fired_at - due_at in seconds, for a fired run; None otherwise.
        count: how many runs this is (an outage can miss many in one step).

    Raises:
        ValueError: `outcome` is not one of these.
    """
    if outcome not in SCHEDULE_OUTCOMES:
        raise ValueError(f"unknown schedule outcome {outcome!r}")
    increment(pipeline, SCHEDULE_RUNS, (schedule, outcome), count)
    if lateness is not None:
        observe(pipeline, SCHEDULE_LATENESS, (schedule,), lateness)


def record_callback_attempt(pipeline: Pipeline, outcome: str) -> None:
    """Queue one callback attempt's outcome on `pipeline`."""
    if outcome not in CALLBACK_OUTCOMES:
        raise ValueError(f"unknown callback outcome {outcome!r}")
    increment(pipeline, CALLBACK_ATTEMPTS, (outcome,))


@dataclass
class HistogramData:
    """One histogram series as stored: non-cumulative bucket counts and the sum."""

    buckets: dict[float, int] = field(default_factory=dict)
    sum: float = 0.0


@dataclass
class FamilyData:
    """Every stored series of one family, keyed by label values."""

    family: Family
    counters: dict[tuple[str, ...], float] = field(default_factory=dict)
    histograms: dict[tuple[str, ...], HistogramData] = field(default_factory=dict)


def read_families(connection: Redis) -> list[FamilyData]:
    """Every family with all its series, read in one round trip."""
    with connection.pipeline(transaction=False) as pipeline:
        for family in FAMILIES:
            pipeline.hgetall(family.key)
        stored = pipeline.execute()
    return [_parse(family, fields) for family, fields in zip(FAMILIES, stored, strict=True)]


def _parse(family: Family, fields: dict[bytes, bytes]) -> FamilyData:
    data = FamilyData(family)
    width = len(family.labels)
    for raw_field, raw_value in fields.items():
        parts = json.loads(raw_field)
        labels = tuple(str(p) for p in parts[:width])
        if family.kind == "counter" and len(parts) == width:
            data.counters[labels] = float(raw_value)
        elif family.kind == "histogram" and len(parts) == width + 1:
            series = data.histograms.setdefault(labels, HistogramData())
            part = parts[width]
            if part == SUM:
                series.sum = float(raw_value)
            else:
                series.buckets[math.inf if part == INF else float(part)] = int(raw_value)
    _fill_outcomes(data)
    return data


def _fill_outcomes(data: FamilyData) -> None:
    """Report every outcome of a known series from 0, so the first failure is an increase PromQL sees."""
    for labels in list(data.counters):
        for outcome in data.family.outcomes:
            data.counters.setdefault((*labels[:-1], outcome), 0.0)


def fired_run_fields(schedule: str) -> tuple[str, str]:
    """For a fired run recorded in Lua (workers/schedules/release_script.py): its SCHEDULE_RUNS field, and the
    start of its SCHEDULE_LATENESS fields (the script adds a bucket's text, or `"sum"`, and the closing bracket)."""
    return _field(schedule, FIRED), _field(schedule)[:-1] + ","


def lateness_buckets() -> tuple[tuple[float, ...], tuple[str, ...]]:
    """SCHEDULE_LATENESS's bounds, and each bucket's text in a field (one more: `+Inf`), as `observe` writes them."""
    bounds = SCHEDULE_LATENESS.buckets
    return bounds, (*(_json_part(bound) for bound in bounds), _json_part(INF))
