"""`rqs schedules list|get|put|delete|pause|resume|trigger|runs`."""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from rqs.cli_common import UsageError, read_text
from rqs.sync import Client


def put_schedule(client: Client, args: argparse.Namespace) -> Any:
    try:
        body = yaml.safe_load(read_text(args.file))
    except yaml.YAMLError as error:
        raise UsageError(f"{args.file} is not YAML: {error}") from error
    if not isinstance(body, dict):
        raise UsageError(f"{args.file} must hold one schedule (a mapping)")
    return client.put_schedule(args.name, body)


def add(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("schedules", help="recurring schedules").add_subparsers(dest="action", required=True)
    group.add_parser("list", help="every schedule").set_defaults(run=lambda client, args: client.list_schedules())
    put = group.add_parser("put", help="create or replace a schedule from a YAML file")
    put.add_argument("name")
    put.add_argument("file", metavar="FILE.yaml", help="the body PUT /schedules/NAME takes, as YAML")
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
