"""`rqs`: the HTTP API from a shell. URL and key from RQS_URL and RQS_KEY; answers as JSON on stdout.

A refused request prints the server's `detail` on stderr and exits 1; bad input to the
command itself (a file that is not JSON lines or YAML) exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
import yaml

from rqs.errors import ApiError
from rqs.sync import DEFAULT_URL, Client

Handler = Callable[[Client, argparse.Namespace], Any]


class UsageError(Exception):
    """Input to the command (not to the server) that cannot be used."""


def json_arg(text: str, kind: type, what: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise UsageError(f"{what} is not JSON: {error}") from error
    if not isinstance(value, kind):
        raise UsageError(f"{what} must be a JSON {kind.__name__}")
    return value


def submit(client: Client, args: argparse.Namespace) -> Any:
    positional = json_arg(args.args, list, "ARGS_JSON")
    kwargs = json_arg(args.kwargs, dict, "--kwargs")
    options = {"queue": args.queue, "delay": args.delay, "callback_url": args.callback_url}
    job = client.submit(args.task, positional, kwargs, idempotency_key=args.key, **options)
    return client.wait(job["id"]) if args.wait else job


def batch(client: Client, args: argparse.Namespace) -> Any:
    lines = [line for line in read_text(args.file).splitlines() if line.strip()]
    jobs = [json_arg(line, dict, f"{args.file} line {number}") for number, line in enumerate(lines, 1)]
    return client.submit_batch(jobs)


def read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from error


def put_schedule(client: Client, args: argparse.Namespace) -> Any:
    try:
        body = yaml.safe_load(read_text(args.file))
    except yaml.YAMLError as error:
        raise UsageError(f"{args.file} is not YAML: {error}") from error
    if not isinstance(body, dict):
        raise UsageError(f"{args.file} must hold one schedule (a mapping)")
    return client.put_schedule(args.name, body)


def job_commands(commands: argparse._SubParsersAction) -> None:
    one = commands.add_parser("submit", help="submit a job")
    one.add_argument("task")
    one.add_argument("args", nargs="?", default="[]", metavar="ARGS_JSON", help="positional arguments, a JSON list")
    one.add_argument("--kwargs", default="{}", help="keyword arguments, a JSON object")
    one.add_argument("--queue")
    one.add_argument("--delay", type=float, help="seconds before it may run")
    one.add_argument("--key", help="Idempotency-Key: the same key twice creates one job")
    one.add_argument(
        "--callback-url", help="POSTed the job, signed, once it ends (its host must be in the server's CALLBACK_HOSTS)"
    )
    one.add_argument("--wait", action="store_true", help="wait for the job to end and print it with its result")
    one.set_defaults(run=submit)
    many = commands.add_parser("batch", help="submit a JSON-lines file of jobs, all or nothing")
    many.add_argument("file", metavar="FILE.jsonl")
    many.set_defaults(run=batch)
    for name, method, text in [
        ("get", Client.get_job, "a job's status, result or error"),
        ("wait", Client.wait, "wait for a job to end and print it"),
        ("cancel", Client.cancel, "cancel a pending job or stop a running one"),
        ("requeue", Client.requeue, "run a failed, stopped or canceled job again"),
    ]:
        command = commands.add_parser(name, help=text)
        command.add_argument("id")
        command.set_defaults(run=lambda client, args, method=method: method(client, args.id))
    listing = commands.add_parser("list", help="list jobs")
    listing.add_argument("--queue")
    listing.add_argument("--status")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(run=lambda client, args: client.list_jobs(args.queue, args.status, args.limit))


def schedule_commands(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("schedules", help="recurring schedules").add_subparsers(dest="action", required=True)
    group.add_parser("list", help="every schedule").set_defaults(run=lambda client, args: client.list_schedules())
    put = group.add_parser("put", help="create or replace a schedule from a YAML file")
    put.add_argument("name")
    put.add_argument("file", metavar="FILE.yaml")
    put.set_defaults(run=put_schedule)
    for name, method, text in [
        ("get", Client.get_schedule, "one schedule and its next due times"),
        ("delete", Client.delete_schedule, "delete a schedule"),
        ("pause", Client.pause_schedule, "nothing fires until resumed"),
        ("resume", Client.resume_schedule, "resume from the next due time"),
        ("trigger", Client.trigger_schedule, "one run now"),
    ]:
        command = group.add_parser(name, help=text)
        command.add_argument("name")
        command.set_defaults(run=lambda client, args, method=method: method(client, args.name))
    runs = group.add_parser("runs", help="the run ledger, newest first")
    runs.add_argument("name")
    runs.add_argument("--limit", type=int, default=50)
    runs.set_defaults(run=lambda client, args: client.schedule_runs(args.name, args.limit))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="rqs", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True)
    job_commands(commands)
    schedule_commands(commands)
    for name, path in [("queues", "/queues"), ("workers", "/workers"), ("tasks", "/tasks"), ("health", "/healthz")]:
        commands.add_parser(name, help=f"GET {path}").set_defaults(
            run=lambda client, args, name=name: getattr(client, name)()
        )
    return top


def exit_status(args: argparse.Namespace, answer: Any) -> int:
    """1 for a waited-for job that ended other than finished (failed, canceled, stopped), so a script can tell."""
    waited = args.command == "wait" or getattr(args, "wait", False)
    return 1 if waited and answer["status"] != "finished" else 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    with Client(os.environ.get("RQS_URL", DEFAULT_URL), os.environ.get("RQS_KEY")) as client:
        try:
            answer = args.run(client, args)
        except ApiError as error:
            print(f"rqs: {error.status}: {json.dumps(error.detail)}", file=sys.stderr)
            return 1
        except httpx.HTTPError as error:
            print(f"rqs: {client.http.base_url}: {error}", file=sys.stderr)
            return 1
        except UsageError as error:
            print(f"rqs: {error}", file=sys.stderr)
            return 2
    if answer is not None:
        print(json.dumps(answer, indent=2))
    return exit_status(args, answer)
