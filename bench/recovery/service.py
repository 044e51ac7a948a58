"""The service as the recovery benchmark runs it: its environment, an API client, what Redis says of jobs.

Every process runs with the service's default settings (whatever our own
environment sets is dropped), the ledger tasks loaded, and one admin key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
from redis import Redis

from bench.harness.ports import free_port
from bench.harness.processes import Process, Processes, child_env
from bench.harness.redis import RedisServer
from bench.harness.wait import wait_until
from service.settings import ServiceSettings

API_KEY = "recovery-bench-admin-key"
TASK_MODULES = "bench.recovery.ledger"
SETTINGS_ENV = {name.upper() for name in ServiceSettings.model_fields}


def service_env(redis_url: str, **extra: str) -> dict[str, str]:
    """Our environment minus any setting of the service (so defaults apply), plus the run's own."""
    env = {k: v for k, v in child_env().items() if k.upper() not in SETTINGS_ENV}
    env.update(REDIS_URL=redis_url, API_KEYS=API_KEY, TASK_MODULES=TASK_MODULES, **extra)
    return env


def api_client(port: int) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": API_KEY}, timeout=10)


def wait_for_api(client: httpx.Client, web: Process, timeout: float) -> None:
    """Until GET /healthz answers below 500; RuntimeError if the web process exits first."""

    def up() -> bool:
        if web.poll() is not None:
            raise RuntimeError(f"web exited early with {web.returncode}")
        try:
            return client.get("/healthz", timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    wait_until(up, timeout, "the web process to answer", interval=0.1)


def job_state(client: Redis, job_id: str) -> tuple[str | None, str | None]:
    """(status, worker name) straight from the job hash; (None, None) when the job is gone."""
    status, worker = client.hmget(f"rq:job:{job_id}", ["status", "worker_name"])
    return (status.decode() if status else None, worker.decode() if worker else None)


def registered_pids(client: Redis, queue: str) -> set[int]:
    """Pids of the workers registered on `queue` whose hash still exists."""
    pids = set()
    for key in client.smembers(f"rq:workers:{queue}"):
        pid = client.hget(key, "pid")
        if pid is not None:
            pids.add(int(pid))
    return pids


@dataclass
class WebOnRedis:
    """A redis-server of its own, the processes on it (the Procfile's `web` first), and an API client."""

    redis: RedisServer
    processes: Processes
    web: Process
    http: httpx.Client


@contextlib.contextmanager
def web_on_private_redis(workdir: Path, startup_timeout: float) -> Iterator[WebOnRedis]:
    """Start both and wait until the API answers; on the way out the processes stop before their Redis."""
    with (
        RedisServer(workdir / "redis", startup_timeout=startup_timeout) as redis,
        Processes(workdir / "logs") as processes,
    ):
        port = free_port()
        http = api_client(port)
        try:
            web = processes.procfile("web", service_env(redis.url, PORT=str(port)))
            wait_for_api(http, web, startup_timeout)
            yield WebOnRedis(redis, processes, web, http)
        finally:
            http.close()
