"""`rqs tail`: one line per job end as it happens, until Ctrl-C (exit status 0)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rqs.sync import Client


def line(end: dict[str, Any]) -> str:
    """`<at> <status> <task> <id> <queue> <duration>s`: what a terminal or grep wants."""
    took = f" {end['duration']:.3f}s" if end.get("duration") is not None else ""
    return f"{end['at']} {end['status']:<9} {end['task']} {end['id']} {end['queue']}{took}"


def tail(client: Client, args: argparse.Namespace) -> None:
    filters = {"task": args.task, "queue": args.queue, "status": args.status}
    try:
        for end in client.tail(args.after, **filters):
            print(json.dumps(end) if args.json else line(end), flush=True)
    except KeyboardInterrupt:
        sys.stdout.flush()


def add(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "tail",
        help="follow job ends as they happen",
        description="Print one line per job end (GET /jobs/events) until Ctrl-C.",
    )
    command.add_argument("--task", help="only this task's jobs")
    command.add_argument("--queue", help="only this queue's jobs")
    command.add_argument(
        "--status",
        help="only ends of this status: finished, failed, retried, stopped, canceled, interrupted, abandoned",
    )
    command.add_argument("--after", metavar="CURSOR", help="resume after this cursor (`0`: every end still kept)")
    command.add_argument("--json", action="store_true", help="one JSON object per line, with its cursor")
    command.set_defaults(run=tail)
