"""`python -m bench.hosts.load URL KEY OUT STOP_FILE [--rate N] [--timeout S]`: steady job submissions, each logged.

Run from outside the web's host (the root namespace) or inside it (through its
`ip netns exec` prefix), so a partition shows what both kinds of client see.
Each request is one JSON line in OUT: when it was sent and answered, the status
(None when no answer came: a timeout or a refused connection), the job id of an
accepted one. Stops once STOP_FILE exists.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx

MAX_SECONDS = 600.0


def one(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    sent = time.time()
    try:
        response = client.post("/jobs", json=body)
    except httpx.HTTPError as error:
        return {"sent": sent, "done": time.time(), "status": None, "error": type(error).__name__, "id": None}
    job_id = response.json().get("id") if response.is_success else None
    return {"sent": sent, "done": time.time(), "status": response.status_code, "error": None, "id": job_id}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hosts.load", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("key")
    parser.add_argument("out", type=Path)
    parser.add_argument("stop_file", type=Path)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second, one at a time")
    parser.add_argument("--timeout", type=float, default=2.0, help="the client's timeout, seconds")
    args = parser.parse_args()
    body = {"task": "bench.hosts.run", "args": [str(args.out.with_suffix(".ran")), "load"]}
    deadline = time.monotonic() + MAX_SECONDS
    with httpx.Client(base_url=args.url, headers={"X-API-Key": args.key}, timeout=args.timeout) as client:
        with args.out.open("a") as out:
            while not args.stop_file.exists() and time.monotonic() < deadline:
                started = time.monotonic()
                out.write(json.dumps(one(client, body)) + "\n")
                out.flush()
                time.sleep(max(0.0, 1 / args.rate - (time.monotonic() - started)))


def read(out: Path) -> list[dict[str, Any]]:
    """The lines written so far (the last one may be cut short while it runs: left out)."""
    if not out.exists():
        return []
    lines = []
    for line in out.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return lines


if __name__ == "__main__":
    main()
