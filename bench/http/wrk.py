"""Drive an HTTP endpoint with wrk and read its figures back as numbers, not scraped text.

wrk rather than a Python client: a Python load generator on the same two cores
would be slower than the server it measures.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MARKER = "BENCH_JSON "

# setup/init/response/done are wrk's hooks; `non2xx` is per thread and summed in done().
LUA_TEMPLATE = """\
wrk.method = "POST"
wrk.body = {body}
{headers}

local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    '{marker}{{"requests":%.0f,"duration_us":%.0f,"non_2xx":%.0f,"connect_errors":%.0f,' ..
    '"read_errors":%.0f,"write_errors":%.0f,"timeouts":%.0f,' ..
    '"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f,"mean_us":%.1f}}\\n',
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: its rate, latency percentiles (ms) and what went wrong."""

    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    timeouts: int


def write_post_script(path: Path, body: str, headers: dict[str, str]) -> Path:
    """A Lua script that POSTs `body` with `headers` and reports figures as one JSON line."""
    header_lines = "\n".join(f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
    path.write_text(LUA_TEMPLATE.format(body=_lua_string(body), headers=header_lines, marker=MARKER))
    return path


def wrk_command(url: str, script: Path, threads: int, connections: int, seconds: int) -> list[str]:
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    return [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]


def run_wrk(command: list[str], seconds: int) -> tuple[WrkResult, str]:
    """Run wrk (killed if it overruns by 30 s) and return its figures and its full output."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=False)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited {done.returncode}:\n{output}")
    for line in done.stdout.splitlines():
        if line.startswith(MARKER):
            return _parse(json.loads(line.removeprefix(MARKER))), output
    raise RuntimeError(f"wrk printed no {MARKER.strip()} line:\n{output}")


def _parse(raw: dict[str, float]) -> WrkResult:
    seconds = raw["duration_us"] / 1e6
    return WrkResult(
        requests=int(raw["requests"]),
        seconds=round(seconds, 3),
        rate=round(raw["requests"] / seconds, 1) if seconds else 0.0,
        p50_ms=round(raw["p50_us"] / 1000, 2),
        p90_ms=round(raw["p90_us"] / 1000, 2),
        p99_ms=round(raw["p99_us"] / 1000, 2),
        max_ms=round(raw["max_us"] / 1000, 2),
        non_2xx=int(raw["non_2xx"]),
        socket_errors=int(raw["connect_errors"] + raw["read_errors"] + raw["write_errors"]),
        timeouts=int(raw["timeouts"]),
    )


def _lua_string(text: str) -> str:
    """A Lua long-bracket literal: no escaping rules to get wrong for JSON or keys."""
    level = "=" * 3
    if f"]{level}]" in text or "\n" in text:
        raise ValueError(f"cannot quote {text!r} for Lua")
    return f"[{level}[{text}]{level}]"
