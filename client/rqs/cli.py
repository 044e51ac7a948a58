"""`rqs`: the HTTP API from a shell. URL and key from RQS_URL and RQS_KEY; answers as JSON on stdout.

A refused request prints the server's `detail` on stderr and exits 1; bad input to the
command itself (a file that is not JSON lines or YAML) exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import httpx2 as httpx

from rqs import cli_jobs, cli_schedules, cli_tail
from rqs.cli_common import UsageError
from rqs.errors import ApiError
from rqs.sync import DEFAULT_URL, Client


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="rqs", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True)
    cli_jobs.add(commands)
    cli_schedules.add(commands)
    cli_tail.add(commands)
    for name, path in [("queues", "/queues"), ("workers", "/workers"), ("tasks", "/tasks"), ("health", "/healthz")]:
        commands.add_parser(name, help=f"GET {path}").set_defaults(
            run=lambda client, args, name=name: getattr(client, name)()
        )
    return top


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
        except KeyboardInterrupt:
            return 130
    if answer is not None:
        print(json.dumps(answer, indent=2))
    status_of: Any = getattr(args, "exit_status", None)
    return int(status_of(answer, args)) if status_of is not None else 0
