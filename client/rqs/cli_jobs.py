"""`rqs submit|batch|get|wait|cancel|requeue|list`: jobs, one at a time or by filter."""

from __future__ import annotations

import argparse
from typing import Any

from rqs import api
from rqs.bar import Bar
from rqs.cli_common import UsageError, add_filters, filters_of, json_arg, read_text
from rqs.sync import Client

POLL = 0.5  # seconds per long-poll while a bar is shown: how often it can move
FINAL = frozenset({"finished", "failed", "stopped", "canceled"})  # event statuses after which a job runs no more
BATCH_MAX = 1000  # the server's limit for one all-or-nothing batch


def follow(client: Client, job_id: str, bar: Bar) -> Any:
    """Wait for the job to end, drawing its progress and message as it reports them."""
    try:
        while True:
            job = client.wait(job_id, timeout=POLL)
            bar.show(job.get("progress"), f"{job['status']} {job.get('progress_message') or ''}")
            if job["status"] in api.ENDED:
                return job
    finally:
        bar.close()


def submit(client: Client, args: argparse.Namespace) -> Any:
    positional = json_arg(args.args, list, "ARGS_JSON")
    kwargs = json_arg(args.kwargs, dict, "--kwargs")
    options = {"queue": args.queue, "delay": args.delay, "callback_url": args.callback_url}
    job = client.submit(args.task, positional, kwargs, idempotency_key=args.key, **options)
    return follow(client, job["id"], Bar(enabled=not args.quiet)) if args.wait else job


def batch(client: Client, args: argparse.Namespace) -> Any:
    lines = [line for line in read_text(args.file).splitlines() if line.strip()]
    if len(lines) > BATCH_MAX:
        raise UsageError(f"{args.file}: {len(lines)} jobs; one batch takes at most {BATCH_MAX} (all or nothing)")
    jobs = [json_arg(line, dict, f"{args.file} line {number}") for number, line in enumerate(lines, 1)]
    start = client.job_events()["cursor"] if args.wait else None  # ends after this are the batch's
    accepted = client.submit_batch(jobs)
    if not args.wait:
        return accepted
    return {"jobs": wait_all(client, [job["id"] for job in accepted["jobs"]], start, Bar(enabled=not args.quiet))}


def wait_all(client: Client, ids: list[str], cursor: str, bar: Bar) -> list[dict[str, str]]:
    """Each job's final status, read from the job-end events (one long-poll for them all), with a bar."""
    ended: dict[str, str] = {}
    wanted = set(ids)
    try:
        while len(ended) < len(ids):
            bar.show(len(ended) / len(ids), f"{len(ended)} of {len(ids)} ended")
            page = client.job_events(cursor, wait=api.TAIL_WAIT, limit=1000)
            cursor = page["cursor"]
            ended |= {
                end["id"]: end["status"] for end in page["events"] if end["id"] in wanted and end["status"] in FINAL
            }
        bar.show(1.0, f"{len(ids)} of {len(ids)} ended")
    finally:
        bar.close()
    return [{"id": job_id, "status": ended[job_id]} for job_id in ids]


def one_or_many(action: str) -> Any:
    """`rqs cancel ID` / `rqs requeue ID`, or the bulk action on every job the filters find."""

    def run(client: Client, args: argparse.Namespace) -> Any:
        filters = filters_of(args)
        if args.id is not None:
            if filters or args.limit is not None:
                raise UsageError(f"give a job id or filters, not both: rqs {action} ID, or rqs {action} --task ...")
            return client.cancel(args.id) if action == "cancel" else client.requeue(args.id)
        if action == "cancel":
            return client.cancel_where(args.limit, **filters)
        return client.requeue_where(args.limit, **filters)

    return run


def wait(client: Client, args: argparse.Namespace) -> Any:
    return follow(client, args.id, Bar(enabled=not args.quiet))


def listing(client: Client, args: argparse.Namespace) -> Any:
    filters = filters_of(args)
    queue, status = filters.pop("queue", None), filters.pop("status", None)
    return client.list_jobs(queue, status, args.limit, args.offset, full=args.full or None, **filters)


def ended_badly(answer: Any) -> int:
    """1 for a waited-for job (or any job of a batch) that ended other than finished, so a script can tell."""
    jobs = answer["jobs"] if "jobs" in answer else [answer]
    return 1 if any(job["status"] != "finished" for job in jobs) else 0


def add(commands: argparse._SubParsersAction) -> None:
    one = commands.add_parser("submit", help="submit a job", description="Submit a job (POST /jobs).")
    one.add_argument("task")
    one.add_argument("args", nargs="?", default="[]", metavar="ARGS_JSON", help="positional arguments, a JSON list")
    one.add_argument("--kwargs", default="{}", help="keyword arguments, a JSON object")
    one.add_argument("--queue")
    one.add_argument("--delay", type=float, help="seconds before it may run")
    one.add_argument("--key", help="Idempotency-Key: the same key twice creates one job")
    one.add_argument(
        "--callback-url", help="POSTed the job, signed, once it ends (its host must be in the server's CALLBACK_HOSTS)"
    )
    one.add_argument("--wait", action="store_true", help="show its progress, then print it with its result")
    one.add_argument("--quiet", action="store_true", help="with --wait: no progress bar")
    one.set_defaults(run=submit, exit_status=lambda answer, args: ended_badly(answer) if args.wait else 0)

    many = commands.add_parser(
        "batch", help="submit a JSON-lines file of jobs, all or nothing", description="POST /jobs/batch."
    )
    many.add_argument("file", metavar="FILE.jsonl", help="one job body (as POST /jobs takes) per line, at most 1000")
    many.add_argument("--wait", action="store_true", help="show a bar of jobs ended, then print each one's status")
    many.add_argument("--quiet", action="store_true", help="with --wait: no progress bar")
    many.set_defaults(run=batch, exit_status=lambda answer, args: ended_badly(answer) if args.wait else 0)

    get = commands.add_parser("get", help="a job's status, result or error")
    get.add_argument("id")
    get.set_defaults(run=lambda client, args: client.get_job(args.id))

    waiting = commands.add_parser("wait", help="wait for a job to end (with a progress bar) and print it")
    waiting.add_argument("id")
    waiting.add_argument("--quiet", action="store_true", help="no progress bar")
    waiting.set_defaults(run=wait, exit_status=lambda answer, args: ended_badly(answer))

    for action, text in [
        ("cancel", "cancel a pending job or stop a running one; with filters instead of ID, every job they find"),
        ("requeue", "run a failed, stopped or canceled job again; with filters instead of ID, every job they find"),
    ]:
        command = commands.add_parser(action, help=text, description=f"{text} (admin).")
        command.add_argument("id", nargs="?", help="one job; leave out to act on every job the filters find")
        add_filters(command)
        command.add_argument("--limit", type=int, help="with filters: at most this many jobs (server default 10000)")
        command.set_defaults(run=one_or_many(action))

    jobs = commands.add_parser("list", help="list jobs, filtered", description="GET /jobs.")
    add_filters(jobs)
    jobs.add_argument("--limit", type=int, default=50)
    jobs.add_argument("--offset", type=int, default=0)
    jobs.add_argument("--full", action="store_true", help="include each error's traceback")
    jobs.set_defaults(run=listing)
