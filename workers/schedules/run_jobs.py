"""A timed run's job: planned once per schedule definition, stamped with its id and times per run.

Every run of a schedule writes the same job hash but for its id and two timestamps, so the
hash (its compressed call, description, meta, timeouts) is planned by `workers.jobs.planning`
the first time a definition fires and reused afterwards. The schedule's name is in the
job's meta only, so schedules that run the same job (a herd: thousands of copies of one
job on "0 * * * *", or interval schedules that differ in their timing only) share one
template and cost the scheduler a dict lookup per run instead of RQ-style job building.
The templates are keyed by the run's whole JobSpec but its id and schedule name, and by
the settings and task they were planned with; at most TEMPLATES_MAX are kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from workers.core.settings import Settings
from workers.jobs import writer
from workers.jobs.planning import plan
from workers.jobs.submit import JobSpec
from workers.rq_seam.job import TaskJob
from workers.schedules.fire_script import Packed, packed
from workers.tasks.registry import Task, registry

TEMPLATES_MAX = 100_000  # about 1 KB each: one per schedule of a 100,000-schedule scheduler
STAMPED = ("created_at", "enqueued_at", "meta")
META_HEAD = b'{"schedule": '  # a run's meta starts with its schedule's name (firing._job_spec)


@dataclass(frozen=True)
class Template:
    """Everything of a run's job write but its id and times."""

    settings: Settings
    task: Task
    queue: str
    queue_key: str
    push: str
    fields: Packed  # RESP, packed once
    meta_tail: bytes  # the meta after the schedule's name


@dataclass(frozen=True)
class RunPlan:
    """A definition's run job but for its id, with what looking up its template takes: built once per definition.

    Building the key (a repr of the whole spec) and the name's JSON cost more than the rest of a run's
    planning, so the fire step keeps one RunPlan per parsed definition and passes each run's id alone.
    """

    spec: JobSpec  # its job_id is not used: each run passes its own
    key: str
    name: bytes  # the schedule's name as JSON, as the run's meta starts with it


_templates: dict[str, Template] = {}


def _key(spec: JobSpec) -> str:
    """Every field of the run's JobSpec but its id and its schedule's name: what its job hash depends on.

    The whole spec, so a field added to JobSpec later is part of the key without anyone remembering to.
    """
    values = [getattr(spec, name) for name in _KEYED]
    return repr((*values, {**spec.meta, "schedule": None}))


_KEYED = tuple(item.name for item in fields(JobSpec) if item.name not in ("job_id", "meta"))


def run_plan(spec: JobSpec) -> RunPlan:
    return RunPlan(spec, _key(spec), json.dumps(spec.meta["schedule"]).encode())


def run_job(settings: Settings, run: RunPlan, job_id: str) -> tuple[str, list[tuple[str, str, tuple[Any, ...]]]]:
    """The queue and the commands for the run `job_id` of `run`.

    The job hash is an HSETT: the template's fields, then the run's own (`fire_script`).
    """
    template = template_of(settings, run)
    stamp = writer.rq_time(datetime.now(UTC))
    fields = (("template", template.fields), "created_at", stamp, "enqueued_at", stamp, "meta", meta_of(template, run))
    return template.queue, [
        ("SADD", writer.QUEUES_KEY, (template.queue_key,)),
        ("HSETT", TaskJob.key_for(job_id), fields),
        (template.push, template.queue_key, (job_id,)),
    ]


def staged_job(settings: Settings, run: RunPlan, job_id: str) -> tuple[Template, tuple[Any, ...]]:
    """The template and HSETT fields of the run `job_id` written ahead of its due time (workers/schedules/herds.py).

    Status `scheduled` and no `enqueued_at`, as RQ writes a job that waits for its time; the
    release sets both as RQ's enqueue of it would.
    """
    template = template_of(settings, run)
    stamp = writer.rq_time(datetime.now(UTC))
    meta = meta_of(template, run)
    return template, (("template", template.fields), "created_at", stamp, "status", "scheduled", "meta", meta)


def template_of(settings: Settings, run: RunPlan) -> Template:
    """The run's job template, planned on first use; raises for a task no longer registered, every run."""
    task = registry.get(run.spec.task)
    template = _templates.get(run.key)
    if template is None or template.settings is not settings or template.task is not task:
        template = _template(settings, run.spec, task, run.name)
        if len(_templates) >= TEMPLATES_MAX:
            _templates.clear()
        _templates[run.key] = template
    return template


def meta_of(template: Template, run: RunPlan) -> bytes:
    return META_HEAD + run.name + template.meta_tail


def _template(settings: Settings, spec: JobSpec, task: Task, name: bytes) -> Template:
    written = plan(settings, spec, task, waits=False)
    (_, _, (queue_key,)), _, (push, _, _) = written.commands
    fields = tuple(part for field, value in written.mapping.items() if field not in STAMPED for part in (field, value))
    meta = written.mapping["meta"]
    if not meta.startswith(META_HEAD + name):
        raise ValueError(f"a run's meta must start with its schedule's name: {meta[:60]!r}")
    return Template(settings, task, written.queue, queue_key, push, packed(fields), meta[len(META_HEAD + name) :])
