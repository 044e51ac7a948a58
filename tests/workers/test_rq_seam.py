"""Every rq, rq-scheduler and rq-dashboard name the seam overrides or calls, pinned at the installed versions.

The seam (workers/rq_seam/) subclasses through these methods and reads these
attributes; an upgrade that renames one or changes its parameters fails here, in
one place, instead of silently bypassing an override.
"""

from __future__ import annotations

import inspect
import logging
import pathlib
import re

import pytest
import rq.serializers
import rq_dashboard.web
from redis import Redis
from rq import Queue, SimpleWorker, worker_registration
from rq.defaults import UNSERIALIZABLE_RETURN_VALUE_PAYLOAD
from rq.executions import Execution, ExecutionRegistry
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.registry import StartedJobRegistry, clean_registries
from rq.results import Result
from rq.scheduler import RQScheduler
from rq.suspension import WORKERS_SUSPENDED, suspend
from rq.worker import Worker
from rq_scheduler import Scheduler

from workers.rq_seam.queue import get_queue
from workers.rq_seam.reaper import EXECUTION_PREFIX, STARTED_PREFIX
from workers.rq_seam.start_step import EXECUTION_REGISTRY_PREFIX
from workers.rq_seam.worker import ServiceWorker

WORKERS = pathlib.Path(__file__).parents[2] / "workers"

# (class, method name, rq's parameter names at the pinned version)
METHODS: list[tuple[type, str, list[str]]] = [
    (SimpleWorker, "request_stop", ["self", "signum", "frame"]),
    (SimpleWorker, "kill_horse", ["self", "sig"]),
    (SimpleWorker, "handle_warm_shutdown_request", ["self"]),
    (SimpleWorker, "handle_payload", ["self", "message"]),
    (SimpleWorker, "request_stop_execution", ["self", "execution_id"]),
    (SimpleWorker, "teardown", ["self"]),
    (SimpleWorker, "dequeue_job_and_maintain_ttl", ["self", "timeout", "max_idle_time"]),
    (SimpleWorker, "execute_job", ["self", "job", "queue"]),
    (SimpleWorker, "prepare_execution", ["self", "job"]),
    (SimpleWorker, "heartbeat", ["self", "timeout", "pipeline"]),
    (SimpleWorker, "get_heartbeat_ttl", ["self", "job", "working_time"]),
    (SimpleWorker, "prepare_job_execution", ["self", "job", "remove_from_intermediate_queue"]),
    (SimpleWorker, "perform_job", ["self", "job", "queue", "execution"]),
    (SimpleWorker, "handle_job_success", ["self", "job", "queue", "started_job_registry", "execution"]),
    (SimpleWorker, "handle_job_failure", ["self", "job", "queue", "started_job_registry", "exc_string", "execution"]),
    (SimpleWorker, "handle_job_retry", ["self", "job", "queue", "retry", "started_job_registry", "execution"]),
    (SimpleWorker, "increment_successful_job_count", ["self", "pipeline"]),
    (SimpleWorker, "increment_failed_job_count", ["self", "pipeline"]),
    (SimpleWorker, "push_exc_handler", ["self", "handler_func"]),
    (SimpleWorker, "get_current_job_id", ["self"]),
    (Queue, "acquire_maintenance_lock", ["self"]),
    (Job, "restore", ["self", "raw_data"]),
    (Job, "prepare_for_execution", ["self", "worker_name", "pipeline"]),
    (Execution, "create", ["job", "ttl", "pipeline", "worker_name"]),
    (Execution, "__init__", ["self", "id", "job_id", "connection", "worker_name"]),
    (SimpleWorker, "handle_execution_ended", ["self", "job", "queue", "heartbeat_ttl"]),
    (SimpleWorker, "set_state", ["self", "state", "pipeline"]),
    (SimpleWorker, "check_for_suspension", ["self", "burst"]),
    (SimpleWorker, "_shutdown", ["self"]),
    (SimpleWorker, "set_shutdown_requested_date", ["self"]),
    (SimpleWorker, "stop_scheduler", ["self"]),
    (IntermediateQueue, "should_be_cleaned_up", ["self", "job_id"]),
    (IntermediateQueue, "get_first_seen", ["self", "job_id"]),
    (Job, "__init__", ["self", "id", "connection", "serializer"]),
    (Job, "key_for", ["job_id"]),
    (Job, "heartbeat", ["self", "timestamp", "ttl", "pipeline", "xx"]),
    (Execution, "heartbeat", ["self", "started_job_registry", "ttl", "pipeline"]),
    (
        Scheduler,
        "__init__",
        ["self", "queue_name", "queue", "interval", "connection", "job_class", "queue_class", "name"],
    ),
    (RQScheduler, "release_locks", ["self"]),
    (Scheduler, "acquire_lock", ["self"]),
    (Scheduler, "remove_lock", ["self"]),
    (Scheduler, "run", ["self", "burst"]),
    (Scheduler, "register_birth", ["self"]),
    (Scheduler, "register_death", ["self"]),
    (Scheduler, "heartbeat", ["self"]),
    (Scheduler, "_install_signal_handlers", ["self"]),
    (SimpleWorker, "serialize", ["self"]),
    (SimpleWorker, "clean_registries", ["self"]),
    (Queue, "release_maintenance_lock", ["self"]),
    (StartedJobRegistry, "cleanup", ["self", "timestamp", "exception_handlers"]),
    (IntermediateQueue, "cleanup", ["self", "worker", "queue"]),
    (Queue, "schedule_job", ["self", "job", "datetime", "pipeline", "unique"]),
    # workers/rq_seam/fast_end.py builds what these write at a success end
    (Job, "to_dict", ["self", "include_meta", "include_result"]),
    (Job, "get_result_ttl", ["self", "default_ttl"]),
    (
        Job,
        "_handle_success",
        ["self", "result_ttl", "pipeline", "worker_name", "execution_id", "execution_started_at", "execution_ended_at"],
    ),
    (Job, "cleanup", ["self", "ttl", "pipeline", "remove_from_queue"]),
    (Result, "save", ["self", "ttl", "pipeline"]),
    (Result, "serialize", ["self"]),
    (Execution, "delete", ["self", "job", "pipeline"]),
    (SimpleWorker, "increment_total_working_time", ["self", "job_execution_time", "pipeline"]),
]

FUNCTIONS = [
    (clean_registries, ["queue", "exception_handlers"]),
    (worker_registration.clean_worker_registry, ["queue"]),
]


@pytest.mark.parametrize(("function", "parameters"), FUNCTIONS, ids=[f.__name__ for f, _ in FUNCTIONS])
def test_rq_function_has_the_pinned_signature(function: object, parameters: list[str]) -> None:
    assert list(inspect.signature(function).parameters) == parameters  # type: ignore[arg-type]


def test_keys_the_reap_script_builds_are_rqs(redis: Redis) -> None:
    """The reap step (Lua) builds started-registry, execution and worker keys from these prefixes."""
    queue = get_queue("default", redis)
    assert StartedJobRegistry(queue.name, connection=redis).key == STARTED_PREFIX + queue.name
    execution = Execution(id="e", job_id="j", connection=redis, worker_name="w")
    assert execution.key == EXECUTION_PREFIX + execution.composite_key
    assert "worker_name" in execution.serialize()
    assert ServiceWorker([queue], connection=redis, name="w").key == Worker.redis_worker_namespace_prefix + "w"
    assert queue.key == Queue.redis_queue_namespace_prefix + queue.name


@pytest.mark.parametrize(("cls", "name", "parameters"), METHODS, ids=[f"{c.__name__}.{n}" for c, n, _ in METHODS])
def test_rq_method_has_the_pinned_signature(cls: type, name: str, parameters: list[str]) -> None:
    assert list(inspect.signature(getattr(cls, name)).parameters) == parameters


def test_rqs_stop_request_goes_through_the_shutdown_step_the_worker_overrides() -> None:
    """ServiceWorker._shutdown notes a stop instead of raising: RQ's signal handler must still call it."""
    assert "self._shutdown()" in inspect.getsource(SimpleWorker.request_stop)


def test_worker_attributes_the_seam_reads_exist(redis: Redis) -> None:
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    for attribute in (
        "_stopped_job_id",
        "_ordered_queues",
        "executions",
        "pubsub",
        "pubsub_thread",
        "_exc_handlers",
        "last_cleaned_at",
        "_state",
        "_stop_requested",
    ):
        assert hasattr(worker, attribute), attribute


def test_queue_and_scheduler_attributes_the_seam_reads_exist() -> None:
    for attribute in ("intermediate_queue", "intermediate_queue_key", "registry_cleaning_key", "redis_queues_keys"):
        assert hasattr(Queue, attribute), attribute
    for attribute in ("redis_scheduler_namespace_prefix", "scheduler_lock_key", "scheduled_jobs_key"):
        assert hasattr(Scheduler, attribute), attribute


def test_rq_scheduler_keeps_its_child_process_where_the_seam_reads_it(redis: Redis) -> None:
    assert RQScheduler(["default"], connection=redis)._process is None


def test_names_the_late_end_guard_reads_exist(redis: Redis) -> None:
    """workers/rq_seam/owned_end.py: a run's entry in the started registry, and the job's hash it watches."""
    job = get_queue("default", redis).enqueue_call("workers.runner.run_task", args=["tests.echo", [], {}])
    execution = Execution(id="e1", job_id=job.id, connection=redis)
    assert execution.composite_key == f"{job.id}:e1"
    assert job.started_job_registry.key == get_queue("default", redis).started_job_registry.key
    assert job.key.endswith(job.id)


def test_names_the_take_and_start_step_writes_exist(redis: Redis) -> None:
    """workers/rq_seam/start_step.py: the execution's job kept as `Execution.create` keeps it, the keys it builds."""
    job = get_queue("default", redis).enqueue_call("workers.runner.run_task", args=["tests.echo", [], {}])
    with redis.pipeline() as pipeline:
        execution = Execution.create(job, 15, pipeline=pipeline, worker_name="w")
        pipeline.execute()
    assert execution._job is job
    assert redis.exists(f"{EXECUTION_PREFIX}{execution.composite_key}")
    assert redis.exists(f"{EXECUTION_REGISTRY_PREFIX}{job.id}")
    suspend(redis)
    assert redis.exists(WORKERS_SUSPENDED)


def test_scheduler_sets_its_private_lock_flag(redis: Redis) -> None:
    assert Scheduler(connection=redis)._lock_acquired is False


def test_serializer_names_the_seam_rebinds_exist() -> None:
    assert rq.serializers.SERIALIZER_ALIASES["pickle"] is not None
    assert callable(rq.serializers.DefaultSerializer.loads)
    assert hasattr(rq_dashboard.web, "config")


@pytest.mark.parametrize("path", sorted(p for p in WORKERS.rglob("*.py") if "rq_seam" not in p.parts), ids=str)
def test_no_module_outside_the_seam_subclasses_rq_or_uses_its_private_names(path: pathlib.Path) -> None:
    text = path.read_text()
    rq_classes = r"(Worker|SimpleWorker|Queue|Job|Scheduler|IntermediateQueue|\w*Registry|\w*Serializer)"
    assert re.search(rf"^class \w+\((\w+, )*{rq_classes}\b", text, re.M) is None
    private = {
        "_install_signal_handlers",
        "_stopped_job_id",
        "_fetch_dequeued_job",
        "_lock_acquired",
        "_ordered_queues",
    }
    assert {name for name in private if name in text} == set()


def test_service_imports_no_rq_module() -> None:
    service = pathlib.Path(__file__).parents[2] / "service"
    imports = [
        line
        for path in service.rglob("*.py")
        for line in path.read_text().splitlines()
        if re.match(r"\s*(from|import) (rq|rq_scheduler|rq_dashboard)\b", line)
    ]
    assert imports == []


def test_worker_logs_through_its_log_attribute(redis: Redis) -> None:
    """workers/rq_seam/worker_log.py wraps `worker.log`, the logger RQ's per-job lines go through."""
    assert SimpleWorker([Queue("default", connection=redis)], connection=redis).log is logging.getLogger("rq.worker")
    assert ServiceWorker([get_queue("default", redis)], connection=redis).log.logger is logging.getLogger("rq.worker")


@pytest.mark.parametrize("name", ["started_job_registry", "failed_job_registry", "finished_job_registry"])
def test_job_registries_the_task_job_caches_are_rq_properties(redis: Redis, name: str) -> None:
    """TaskJob builds each of these once per job object; each stays the registry RQ's own property builds."""
    assert isinstance(getattr(Job, name), property)
    job = get_queue("default", redis).enqueue_call("workers.runner.run_task", args=["tests.echo", [], {}])
    ours = getattr(job, name)
    assert ours is getattr(job, name)
    assert type(ours) is type(getattr(Job, name).fget(job))
    assert ours == getattr(Job, name).fget(job)
    assert (ours.key, ours.job_class, ours.serializer) == (
        getattr(Job, name).fget(job).key,
        type(job),
        job.serializer,
    )
    job.origin = "other"
    assert getattr(job, name).key.endswith(":other")


def test_prepare_for_execution_writes_the_jobs_heartbeat(redis: Redis) -> None:
    """`_start_batch` (limited jobs) relies on it instead of a `Job.heartbeat` of its own."""
    job = get_queue("default", redis).enqueue_call("workers.runner.run_task", args=["tests.echo", [], {}])
    assert redis.hget(job.key, "last_heartbeat") in (None, b"")
    with redis.pipeline() as pipeline:
        job.prepare_for_execution("w", pipeline=pipeline)
        pipeline.execute()
    assert redis.hget(job.key, "last_heartbeat") not in (None, b"")
    assert job.last_heartbeat is not None


def test_names_the_fast_end_mirrors_exist(redis: Redis) -> None:
    """workers/rq_seam/fast_end.py writes what RQ's success end writes, from these names and values."""
    job = get_queue("default", redis).enqueue_call("workers.runner.run_task", args=["tests.echo", [], {}])
    assert Result.Type.SUCCESSFUL.value == 1
    assert Result.get_key(job.id) == f"rq:results:{job.id}"
    assert ExecutionRegistry(job_id=job.id, connection=redis).key == ExecutionRegistry.key_template.format(job.id)
    assert UNSERIALIZABLE_RETURN_VALUE_PAYLOAD == "Unserializable return value"
    for attribute in ("_result", "_status", "repeats_left", "rate_limit_key", "dependents_key", "dependencies_key"):
        assert hasattr(job, attribute), attribute
    assert job._dependency_ids == []  # a job without dependencies: fast_end.py expires no dependencies key
    dependent = get_queue("default", redis).enqueue_call("workers.runner.run_task", args=["tests.echo"], depends_on=job)
    assert dependent._dependency_ids == [job.id] and redis.exists(dependent.dependencies_key)
    execution = Execution(id="e1", job_id=job.id, connection=redis, worker_name="w")
    assert execution.worker_executions_key.endswith("w:executions")
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    assert isinstance(worker.default_result_ttl, int)
    assert isinstance(worker.executions, dict)
