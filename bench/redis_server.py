"""A private redis-server for one benchmark, and the command counts read off it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from bench.procs import ProcessStack, free_port, wait_until


@dataclass
class RedisServer:
    """A redis-server on a free 127.0.0.1 port, without persistence, owned by a ProcessStack."""

    port: int
    client: Redis

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def flush(self) -> None:
        """Empty it between runs, so no run pays for the jobs an earlier one left behind."""
        self.client.flushall()

    def command_calls(self) -> dict[str, int]:
        """Calls per command since start (INFO commandstats), to count round trips per job."""
        stats = self.client.info("commandstats")
        return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def start_redis(stack: ProcessStack, workdir: Path, timeout: float) -> RedisServer:
    """Start redis-server under `stack` and return once it answers PING."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    stack.start("redis", [*argv, "--dir", str(workdir)])
    client = Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5, socket_timeout=5)
    wait_until(lambda: _answers(client), timeout, what=f"redis-server on port {port}")
    return RedisServer(port=port, client=client)


def command_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Calls made between two `command_calls()` readings, busiest first, zeros left out."""
    delta = {name: after[name] - before.get(name, 0) for name in after}
    return dict(sorted(((n, c) for n, c in delta.items() if c > 0), key=lambda item: -item[1]))


def _answers(client: Redis) -> bool:
    try:
        return bool(client.ping())
    except RedisError:
        return False
