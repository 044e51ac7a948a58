"""Redis on a host of its own, the web on another, workers and schedulers on two more: one machine.

The hosts are network namespaces (bench/harness/hosts.py); every process is the
Procfile's command, started inside its host through the one process owner. The
caller (the root namespace) reaches the web and Redis over the bridge. Everything
is stopped on exit, pass or fail: the processes, then Redis, then the namespaces.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path
from types import TracebackType

import httpx2 as httpx
from redis import Redis

from bench.harness.hosts import Hosts
from bench.harness.processes import Process, Processes, child_env
from bench.harness.redis import RedisServer
from bench.harness.wait import poll_until
from bench.hosts.tasks import HOST_ENV

HOSTS = ["redis", "web", "w1", "w2"]
WEB_PORT = 8000
REDIS_PORT = 6400  # each host has ports of its own: nothing else listens in these namespaces
TASK_MODULES = "bench.hosts.tasks"
PROCESS_GRACE = 35.0


class Cluster:
    """`start(kind, host)` runs a Procfile process on a host; `hosts.partition(host)` cuts it off."""

    def __init__(self, workdir: Path, api_keys: list[str], **env: str) -> None:
        self.workdir = workdir
        self.hosts = Hosts(HOSTS)
        self.api_keys = api_keys
        self.extra_env = env
        self.owner = Processes(workdir / "logs", grace=PROCESS_GRACE)
        self.redis: RedisServer | None = None
        self.processes: list[tuple[str, Process]] = []

    @property
    def redis_url(self) -> str:
        return f"redis://{self.hosts.address('redis')}:{REDIS_PORT}/0"

    @property
    def web_url(self) -> str:
        return f"http://{self.hosts.address('web')}:{WEB_PORT}"

    def client(self) -> Redis:
        """A client from the root namespace (the observer), with short timeouts."""
        return Redis.from_url(self.redis_url, socket_connect_timeout=2, socket_timeout=5)

    def __enter__(self) -> Cluster:
        self.hosts.start()
        try:
            self.redis = RedisServer(
                self.workdir / "redis", port=REDIS_PORT, host=self.hosts.address("redis"), wrap=self.hosts.wrap("redis")
            ).start()
        except BaseException:
            self.hosts.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            for host in HOSTS:  # a process still cut off would wait out its timeouts before it stops
                with contextlib.suppress(RuntimeError):
                    self.hosts.heal(host)
            self.owner.stop_all()
        finally:
            try:
                if self.redis is not None:
                    self.redis.stop()
            finally:
                self.hosts.stop()

    def env(self, host: str, **extra: str) -> dict[str, str]:
        inherited = {k: v for k, v in child_env().items() if not k.startswith(("API_KEYS", "REDIS_URL", "QUEUES"))}
        settings = {
            "REDIS_URL": self.redis_url,
            "PORT": str(WEB_PORT),
            "API_KEYS": ",".join(self.api_keys),
            "TASK_MODULES": TASK_MODULES,
            HOST_ENV: host,
        }
        return {**inherited, **settings, **self.extra_env, **extra}

    def start(self, kind: str, host: str, **env: str) -> Process:
        """The Procfile's `kind` inside `host`; the web is waited for until it answers /healthz."""
        process = self.owner.procfile(kind, self.env(host, **env), wrap=self.hosts.wrap(host))
        self.processes.append((host, process))
        if kind == "web":
            self._wait_for_web(process)
        return process

    def python(self, name: str, args: list[str], host: str | None = None) -> Process:
        """The venv's Python with `args`, inside `host` or (None) in the root namespace, as an outside client."""
        wrap = self.hosts.wrap(host) if host is not None else None
        return self.owner.start(name, [sys.executable, *args], env=self.env(host or "outside"), wrap=wrap)

    def reaches_redis(self, host: str) -> bool:
        """Whether a TCP connection from `host` to Redis succeeds now (after a heal, ARP may take a moment)."""
        connect = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()"
        command = [*self.hosts.wrap(host), sys.executable, "-c", connect, self.hosts.address("redis"), str(REDIS_PORT)]
        return subprocess.run(command, capture_output=True, check=False, timeout=30).returncode == 0

    def alive(self) -> list[Process]:
        return [process for _, process in self.processes if process.poll() is None]

    def log(self, process: Process) -> str:
        return self.owner.log_text(process)

    def _wait_for_web(self, process: Process) -> None:
        def up() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"web exited early:\n{self.owner.log_tail(process)}")
            try:
                return httpx.get(f"{self.web_url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        if not poll_until(up, 30, "the web on its host"):
            raise RuntimeError(f"the web did not answer:\n{self.owner.log_tail(process)}")
