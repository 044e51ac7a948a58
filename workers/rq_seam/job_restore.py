"""RQ's `Job.restore` in one pass over the hash: the same attributes from the same fields.

A worker restores every job it takes from the hash the take step returns. RQ's restore
(rq 3.0) copies the hash into a dict with text keys, then reads each field through
`as_text`, `str_to_date` (strptime, ~8 µs a date) and friends; with the seam's earlier
wrapper around it (dates by `fromisoformat`) that was a tenth of a no-op job's CPU. This
is the same function, line for line in its decisions (a field read when set, or when
present where RQ reads it when present), with direct decoding.
tests/workers/test_rq_seam_restore.py compares every attribute it sets with RQ's own
restore, for hashes that hold each field RQ reads.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import rq.job
from rq.defaults import UNSERIALIZABLE_RETURN_VALUE_PAYLOAD
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.utils import as_text, now, parse_timeout, str_to_date
from rq.webhook import Webhook

RQ_DATE_LENGTH = len("2026-01-01T00:00:00.000000Z")  # rq.utils.utcformat's form


def restore_job(job: Job, raw_data: Any) -> dict[str, Any]:
    """Set `job`'s attributes from its stored hash as `Job.restore` does; returns the hash with text keys."""
    obj = {key.decode() if type(key) is bytes else as_text(key): value for key, value in raw_data.items()}
    try:
        raw = obj["data"]
    except KeyError:
        raise NoSuchJobError(f"Unexpected job format: {obj}") from None
    try:
        job.data = rq.job.zlib.decompress(raw)
    except rq.job.zlib.error:
        job.data = raw  # RQ's fallback: stored uncompressed
    for part in (_times, _outcome, _callbacks, _dependencies_and_meta, _retries_and_limits):
        part(job, obj)
    return obj


def _times(job: Job, obj: dict[str, Any]) -> None:
    get = obj.get
    job.created_at = parse_rq_date(v) if (v := get("created_at")) else now()
    job.origin = as_text(v) if (v := get("origin")) else ""
    job.worker_name = v.decode() if (v := get("worker_name")) else None
    job.description = as_text(v) if (v := get("description")) else None
    job.enqueued_at = parse_rq_date(v) if (v := get("enqueued_at")) else None
    job.started_at = parse_rq_date(v) if (v := get("started_at")) else None
    job.ended_at = parse_rq_date(v) if (v := get("ended_at")) else None
    job.last_heartbeat = parse_rq_date(v) if (v := get("last_heartbeat")) else None
    job.group_id = as_text(v) if (v := get("group_id")) else None


def _outcome(job: Job, obj: dict[str, Any]) -> None:
    get = obj.get
    if v := get("result"):
        try:
            job._result = job.serializer.loads(v)
        except Exception:  # noqa: BLE001 - as RQ: a result it cannot read becomes its placeholder
            job._result = UNSERIALIZABLE_RETURN_VALUE_PAYLOAD
    job.timeout = parse_timeout(v) if (v := get("timeout")) else None
    job.result_ttl = int(v) if (v := get("result_ttl")) else None
    job.failure_ttl = int(v) if (v := get("failure_ttl")) else None
    job._status = JobStatus(as_text(v)) if (v := get("status")) else JobStatus.CREATED
    if v := get("exc_info"):
        try:
            job._exc_info = as_text(rq.job.zlib.decompress(v))
        except rq.job.zlib.error:
            job._exc_info = as_text(v)


def _callbacks(job: Job, obj: dict[str, Any]) -> None:
    get = obj.get
    if v := get("success_callback_name"):
        job._success_callback_name = v.decode()
    if "success_callback_timeout" in obj:
        job._success_callback_timeout = int(obj["success_callback_timeout"])
    if v := get("failure_callback_name"):
        job._failure_callback_name = v.decode()
    if "failure_callback_timeout" in obj:
        job._failure_callback_timeout = int(obj["failure_callback_timeout"])
    if v := get("stopped_callback_name"):
        job._stopped_callback_name = v.decode()
    if "stopped_callback_timeout" in obj:
        job._stopped_callback_timeout = int(obj["stopped_callback_timeout"])
    if v := get("webhooks"):
        try:
            job.webhooks = [Webhook.from_dict(data) for data in json.loads(v.decode())]
        except Exception:  # noqa: BLE001 - as RQ: logged, and the job keeps no webhooks
            job.log.warning("Job %s: failed to deserialize webhooks", job.id, exc_info=True)
            job.webhooks = []


def _dependencies_and_meta(job: Job, obj: dict[str, Any]) -> None:
    get = obj.get
    dep_ids, dep_id = get("dependency_ids"), get("dependency_id")  # dependency_id: RQ's older form
    job._dependency_ids = json.loads(dep_ids.decode()) if dep_ids else [dep_id.decode()] if dep_id else []
    job.allow_dependency_failures = bool(int(v)) if (v := get("allow_dependency_failures")) else None
    job.enqueue_at_front = bool(int(obj["enqueue_at_front"])) if "enqueue_at_front" in obj else None
    job.ttl = int(v) if (v := get("ttl")) else None
    job._unreadable_meta = None
    try:
        job.meta = job.serializer.loads(v) if (v := get("meta")) else {}
    except Exception:  # noqa: BLE001 - as RQ: kept as it was stored, written back unchanged
        job.meta = {"unserialized": obj.get("meta", {})}
        job._unreadable_meta = obj["meta"]


def _retries_and_limits(job: Job, obj: dict[str, Any]) -> None:
    get = obj.get
    job.number_of_retries = int(v) if (v := get("number_of_retries")) else None
    job.retries_left = int(v) if (v := get("retries_left")) else None
    if v := get("retry_intervals"):
        job.retry_intervals = json.loads(v.decode())
    job.enqueue_at_front_on_retry = bool(int(v)) if (v := get("enqueue_at_front_on_retry")) else False
    job.repeats_left = int(v) if (v := get("repeats_left")) else None
    if v := get("repeat_intervals"):
        job.repeat_intervals = json.loads(v.decode())
    job.rate_limit_key = as_text(v) if (v := get("rate_limit_key")) else None
    job.rate_limit_concurrency = int(v) if (v := get("rate_limit_concurrency")) else None


def parse_rq_date(value: bytes | str) -> datetime:
    """A date as RQ writes it (`...T..:..:...ffffffZ`), aware UTC, as rq.utils.str_to_date reads it."""
    text = value.decode() if type(value) is bytes else value
    if len(text) == RQ_DATE_LENGTH and text[10] == "T" and text[19] == "." and text[-1] == "Z":
        return datetime.fromisoformat(text)
    return str_to_date(text)
