"""The real Procfile processes for the recovery benchmark, each in its own process group, all stopped at the end.

`Fleet` wraps `bench.procs.ProcessStack` (which stops every child it started)
and also kills whatever a child leaves behind in its process group: a worker
killed with -9 can leave rq's scheduler child running as an orphan.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx2 as httpx
from redis import Redis

from bench.procs import ProcessStack, bench_env, free_port
from bench.redis_server import RedisServer, start_redis
from service.settings import ServiceSettings

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
API_KEY = "recovery-bench-admin-key"
TASK_MODULES = "bench.recovery_tasks"
SETTINGS_ENV = {name.upper() for name in ServiceSettings.model_fields}
ABORT = threading.Event()  # set on SIGTERM or an error: every wait below gives up at once

Process = subprocess.Popen[bytes]


class Aborted(RuntimeError):
    """The run is being stopped; raised by waits so threads finish promptly."""


def service_env(redis_url: str, **extra: str) -> dict[str, str]:
    """Our environment minus any setting of the service (so defaults apply), plus the run's own."""
    env = {k: v for k, v in bench_env().items() if k.upper() not in SETTINGS_ENV}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(REDIS_URL=redis_url, API_KEYS=API_KEY, TASK_MODULES=TASK_MODULES, **extra)
    return env


def procfile_command(kind: str) -> str:
    """The Procfile's line for `kind`, bound to 127.0.0.1 instead of 0.0.0.0 (local traffic only)."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == kind:
            return command.strip().replace("--host 0.0.0.0", "--host 127.0.0.1")
    raise KeyError(f"no {kind!r} process in the Procfile")


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll `check()` until true; TimeoutError after `timeout` s, `Aborted` when the run stops."""
    deadline = time.monotonic() + timeout
    while True:
        if ABORT.is_set():
            raise Aborted(f"stopped while waiting for {what}")
        if check():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def pause(seconds: float) -> None:
    """Sleep, but wake (and raise `Aborted`) as soon as the run is stopped."""
    if ABORT.wait(max(0.0, seconds)):
        raise Aborted("stopped")


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) pids in process group `pgid`, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def parent_pid(pid: int) -> int | None:
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


class Fleet:
    """Children started by name, each leading its own process group; all stopped on exit."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.stack = ProcessStack(log_dir)
        self._groups: list[int] = []
        self._count = 0
        self.logs: dict[int, Path] = {}  # pid -> its log file

    def __enter__(self) -> Fleet:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.stack.stop_all()
        finally:
            for pgid in self._groups:
                self.reap_group(pgid)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Process:
        """Start `argv` in a new session (so its pid is its process group); log in `<name>-<n>.log`."""
        self._count += 1
        process = self.stack.start(f"{name}-{self._count}", argv, env=env, cwd=ROOT, start_new_session=True)
        self._groups.append(process.pid)
        self.logs[process.pid] = self.log_dir / f"{name}-{self._count}.log"
        return process

    def procfile(self, kind: str, env: dict[str, str]) -> Process:
        """A Procfile process, run the way a Procfile runner does (`bash -c "exec <line>"`)."""
        return self.start(kind, ["bash", "-c", f"exec {procfile_command(kind)}"], env)

    def reap_group(self, pgid: int) -> list[int]:
        """SIGKILL whatever still runs in group `pgid` (by pid); returns those pids."""
        members = group_members(pgid)
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return members

    def log_text(self, process: Process) -> str:
        path = self.logs.get(process.pid)
        return path.read_text(errors="replace") if path is not None and path.exists() else ""

    def terminate_timed(self, process: Process, timeout: float) -> tuple[float, int | None]:
        """SIGTERM, and the seconds until the process exited (SIGKILL after `timeout`: returncode -9)."""
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        return time.monotonic() - started, process.returncode


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

    wait_for(up, timeout, "the web process to answer", interval=0.1)


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
    """A redis-server of its own, the Procfile's `web` on it, and an API client for that web."""

    redis: RedisServer
    web: Process
    http: httpx.Client


@contextlib.contextmanager
def web_on_private_redis(fleet: Fleet, workdir: Path, startup_timeout: float) -> Iterator[WebOnRedis]:
    """Start both and wait until the API answers; the client is closed on the way out."""
    redis = start_redis(fleet.stack, workdir / "redis", startup_timeout)
    port = free_port()
    http = api_client(port)
    try:
        web = fleet.procfile("web", service_env(redis.url, PORT=str(port)))
        wait_for_api(http, web, startup_timeout)
        yield WebOnRedis(redis, web, http)
    finally:
        http.close()
